/**
 * The users a Custom Token Exchange Action creates must satisfy the connection (issue 8 §1): Actions
 * deployed with the official Auth0 Management SDK, exchanges over HTTP, users read back with the SDK.
 * A plain database connection needs an email (the older reading of "Creation behavior"); a
 * Flexible-Identifiers connection needs its required identifiers; usernames follow Auth0's rules and
 * are stored lowercased; email and username are unique in the connection.
 */
import type { ManagementClient } from 'auth0';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { MACHINES_CONNECTION } from '../../src/emulator/provision.js';
import { SUBJECT_TOKEN_TYPE } from '../../src/identity/local-token.js';
import { control, exchange, managementSdk, managementToken, pollUntil, type Answer } from './helpers.js';

let emu: Emulator;
let sdk: ManagementClient;
let actionId: string;

/** An Action that sets the user its subject token describes: `{connection, user, update?}` as URI-encoded JSON. */
const PROGRAMMABLE = `exports.onExecuteCustomTokenExchange = async (event, api) => {
  const spec = JSON.parse(decodeURIComponent(event.transaction.subject_token));
  api.authentication.setUserByConnection(spec.connection, spec.user, { creationBehavior: 'create_if_not_exists', updateBehavior: spec.update || 'none' });
};`;

/** The mistake issue 8 §1 describes: a user with only user_id, name and nickname. */
const WRONG = `exports.onExecuteCustomTokenExchange = async (event, api) => {
  api.authentication.setUserByConnection(event.secrets.CONNECTION, { user_id: 'wrong-' + event.transaction.subject_token, name: 'n', nickname: 'n' },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' });
};`;

const RIGHT = `exports.onExecuteCustomTokenExchange = async (event, api) => {
  api.authentication.setUserByConnection(event.secrets.CONNECTION,
    { user_id: 'right-' + event.transaction.subject_token, username: 'Omni-' + event.transaction.subject_token, name: 'n', nickname: 'n' },
    { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' });
};`;

async function deploy(code: string): Promise<void> {
  await sdk.actions.update(actionId, { code, secrets: [{ name: 'CONNECTION', value: MACHINES_CONNECTION.name }] });
  await pollUntil('the build', async () => ((await sdk.actions.get(actionId)).status === 'built' ? true : undefined));
  const version = await sdk.actions.deploy(actionId);
  await pollUntil('the deployment', async () => ((await sdk.actions.get(actionId)).deployed_version?.id === version.id
    && (await sdk.actions.get(actionId)).deployed_version?.deployed ? true : undefined));
}

async function createConnection(name: string, options: Record<string, unknown>): Promise<void> {
  const created = await sdk.connections.create({ name, strategy: 'auth0', options } as never);
  await sdk.connections.clients.update(created.id!, [{ client_id: emu.info().client_id, status: true }]);
}

beforeAll(async () => {
  emu = await startEmulator({ settings: { exchangeRatePerSecond: 1000, buildMs: 0, deployMs: 0 } });
  sdk = managementSdk(emu, await managementToken(emu));
  const { client_id, audience } = emu.info();
  const action = await sdk.actions.create({
    name: 'rules', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }], code: PROGRAMMABLE, runtime: 'node22', dependencies: [],
  });
  actionId = action.id!;
  await deploy(PROGRAMMABLE);
  await sdk.tokenExchangeProfiles.create({ name: 'rules', subject_token_type: SUBJECT_TOKEN_TYPE, action_id: actionId, type: 'custom_authentication' });
  await sdk.clients.update(client_id, { token_exchange: { allow_any_profile_of_type: ['custom_authentication'] } });
  const apis = await sdk.resourceServers.list();
  const api = apis.data.find((r) => r.identifier === audience)!;
  await sdk.resourceServers.update(api.id!, { skip_consent_for_verifiable_first_party_clients: true });
  await createConnection(MACHINES_CONNECTION.name, structuredClone(MACHINES_CONNECTION.options) as never);
  await createConnection('plain-db', {});
  await createConnection('username-db', { requires_username: true, validation: { username: { min: 3, max: 10 } } });
  const defaultConnection = (await sdk.connections.list({ name: 'Username-Password-Authentication' })).data[0]!;
  await sdk.connections.clients.update(defaultConnection.id!, [{ client_id, status: true }]);
});
afterAll(async () => {
  await emu?.close();
});

const setUser = (connection: string, user: Record<string, unknown>, update?: 'replace'): Promise<Answer> =>
  exchange(emu, encodeURIComponent(JSON.stringify({ connection, user, ...(update ? { update } : {}) })));

const mails = async (): Promise<number> => (await control(emu, 'GET', 'stats')).body.mails as number;

function expectRefused(res: Answer, rule: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  expect(res.body.error).toBe('access_denied');
  expect(res.body.error_description).toMatch(/^The connection refused the user set by the Action: /);
  expect(res.body.error_description).toMatch(rule);
}

describe('a deliberately wrong Action, deployed with the official SDK', () => {
  it('fails the exchange when it omits the username the machines connection requires; the corrected Action works', async () => {
    await deploy(WRONG);
    try {
      const wrong = await exchange(emu, 'abc123');
      expectRefused(wrong, /username is required/);
      await expect(sdk.users.get('auth0|wrong-abc123')).rejects.toMatchObject({ statusCode: 404 });

      await deploy(RIGHT);
      const right = await exchange(emu, 'abc123');
      expect(right.status, JSON.stringify(right.body)).toBe(200);
      // Auth0 stores usernames lowercased; sign-ups being disabled does not stop the Action (a silent choice).
      const user = await sdk.users.get('auth0|right-abc123');
      expect(user).toMatchObject({ username: 'omni-abc123', user_id: 'auth0|right-abc123' });
      expect(user.email).toBeUndefined();
    } finally {
      await deploy(PROGRAMMABLE);
    }
  });

  it('fails the exchange when an Action omits the email on a plain database connection', async () => {
    expectRefused(await setUser('Username-Password-Authentication', { user_id: 'no-mail', name: 'x' }), /email is required/);
    expect((await setUser('Username-Password-Authentication', { user_id: 'with-mail', email: 'A@Example.com', email_verified: true })).status).toBe(200);
    expect((await sdk.users.get('auth0|with-mail')).email).toBe('a@example.com');
  });
});

describe('plain database connections', () => {
  it('refuses a username unless Require Username is on, a phone number, and a malformed email', async () => {
    expectRefused(await setUser('plain-db', { user_id: 'u1', email: 'u1@example.com', username: 'u1' }), /requires_username is off/);
    expectRefused(await setUser('plain-db', { user_id: 'u1', email: 'u1@example.com', phone_number: '+15551234567' }), /no phone_number attribute/);
    expectRefused(await setUser('plain-db', { user_id: 'u1', email: 'not-an-email' }), /not a valid email/);
  });

  it('with Require Username needs email and username, within the connection\'s validation lengths', async () => {
    expectRefused(await setUser('username-db', { user_id: 'r1', email: 'r1@example.com' }), /username is required/);
    expectRefused(await setUser('username-db', { user_id: 'r1', username: 'rone' }), /email is required/);
    expectRefused(await setUser('username-db', { user_id: 'r1', email: 'r1@example.com', username: 'ab' }), /3 to 10 characters/);
    expectRefused(await setUser('username-db', { user_id: 'r1', email: 'r1@example.com', username: 'abcdefghijk' }), /3 to 10 characters/);
    expect((await setUser('username-db', { user_id: 'r1', email: 'r1@example.com', email_verified: true, username: 'RoNe' })).status).toBe(200);
    expect((await sdk.users.get('auth0|r1')).username).toBe('rone');
  });

  it('keeps email unique in the connection, case-insensitively', async () => {
    expect((await setUser('plain-db', { user_id: 'e1', email: 'same@example.com', email_verified: true })).status).toBe(200);
    expectRefused(await setUser('plain-db', { user_id: 'e2', email: 'SAME@example.com', email_verified: true }), /email is already used/);
    // Another connection is another namespace.
    expect((await setUser('username-db', { user_id: 'e2', email: 'same@example.com', email_verified: true, username: 'etwo' })).status).toBe(200);
  });

  it('records the verification mail Auth0 would send, unless email_verified or verify_email: false', async () => {
    const before = await mails();
    expect((await setUser('plain-db', { user_id: 'm1', email: 'm1@example.com' })).status).toBe(200);
    expect(await mails()).toBe(before + 1);
    expect((await setUser('plain-db', { user_id: 'm2', email: 'm2@example.com', email_verified: false, verify_email: false })).status).toBe(200);
    expect((await setUser('plain-db', { user_id: 'm3', email: 'm3@example.com', email_verified: true })).status).toBe(200);
    expect((await setUser(MACHINES_CONNECTION.name, { user_id: 'm4', username: 'm4' })).status).toBe(200);
    expect(await mails()).toBe(before + 1);
  });
});

describe('a Flexible-Identifiers connection (username only)', () => {
  const machines = MACHINES_CONNECTION.name;

  it('applies Auth0\'s username rules: length 1–64, allowed characters, not an email or a phone number', async () => {
    expectRefused(await setUser(machines, { user_id: 'f1', username: 'x'.repeat(65) }), /1 to 64 characters/);
    expectRefused(await setUser(machines, { user_id: 'f1', username: 'someone@example.com' }), /may not be an email/);
    expectRefused(await setUser(machines, { user_id: 'f1', username: '+15551234567' }), /may not be a phone number/);
    for (const bad of ['with space', 'accént', 'semi;colon', 'slash/', 'quote"']) {
      expectRefused(await setUser(machines, { user_id: 'f1', username: bad }), /only letters, digits/);
    }
    const every = "a.^$!`-#+'~_@Z9";
    expect((await setUser(machines, { user_id: 'f1', username: every })).status).toBe(200);
    expect((await sdk.users.get('auth0|f1')).username).toBe(every.toLowerCase());
    expect((await setUser(machines, { user_id: 'f64', username: 'y'.repeat(64) })).status).toBe(200);
  });

  it('keeps usernames unique in the connection, after lowercasing', async () => {
    expect((await setUser(machines, { user_id: 'g1', username: 'taken' })).status).toBe(200);
    expectRefused(await setUser(machines, { user_id: 'g2', username: 'TAKEN' }), /username is already used/);
    // The same user again is no conflict.
    expect((await setUser(machines, { user_id: 'g1', username: 'taken' })).status).toBe(200);
  });

  it('refuses a phone number it has no attribute for, but takes an email as a plain attribute', async () => {
    expectRefused(await setUser(machines, { user_id: 'h1', username: 'hone', phone_number: '+15551234567' }), /no phone_number attribute/);
    expect((await setUser(machines, { user_id: 'h2', username: 'htwo', email: 'h2@example.com', email_verified: true })).status).toBe(200);
  });
});

describe('updateBehavior replace', () => {
  it('removes the profile attributes not given, and refuses changing an identifier', async () => {
    const machines = MACHINES_CONNECTION.name;
    expect((await setUser(machines, { user_id: 'p1', username: 'pone', name: 'Name', nickname: 'Nick', picture: 'https://p.example/1.png' })).status).toBe(200);
    expect((await setUser(machines, { user_id: 'p1', username: 'pone', name: 'New name' }, 'replace')).status).toBe(200);
    const user = await sdk.users.get('auth0|p1');
    expect(user).toMatchObject({ name: 'New name', username: 'pone' });
    expect(user.nickname).toBeUndefined();
    expect(user.picture).toBeUndefined();
    const changed = await setUser(machines, { user_id: 'p1', username: 'ptwo' }, 'replace');
    expect([changed.status, changed.body.error]).toEqual([403, 'access_denied']);
    expect(changed.body.error_description).toContain('username');
  });
});
