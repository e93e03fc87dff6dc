/**
 * A connection's `options` behind their own scopes ("Migrate to Management API Connection Options
 * Scopes"): GET /connections and GET /connections/{id} leave `options` out unless the token has
 * read:connections_options; a PATCH whose body holds `options` fails (403) without
 * update:connections_options; the seeded machine-to-machine application is granted both. Tokens come
 * from the emulator's own client-credentials grant, narrowed with `scope` as a real admin would.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, call, managementSdk, managementToken } from './helpers.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

/** A Management API token of the seeded application holding exactly `scopes`. */
async function tokenWith(...scopes: string[]): Promise<string> {
  const { management } = emu.info();
  const res = await call(emu, 'POST', '/oauth/token', {
    form: {
      grant_type: 'client_credentials', client_id: management.client_id, client_secret: management.client_secret,
      audience: `${emu.issuer}api/v2/`, scope: scopes.join(' '),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.access_token as string;
}

const OPTIONS = { disable_signup: true, passwordPolicy: 'good' };
let connectionId: string;

beforeEach(async () => {
  const full = await managementToken(emu);
  const name = `opts-${Math.random().toString(36).slice(2, 10)}`;
  const created = await api(emu, full, 'POST', '/connections', { name, strategy: 'auth0', options: OPTIONS });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  connectionId = created.body.id as string;
});

describe('the seeded machine-to-machine application', () => {
  it('is granted read:connections_options and update:connections_options (its default token carries both)', async () => {
    const { management } = emu.info();
    const res = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: management.client_id, client_secret: management.client_secret, audience: `${emu.issuer}api/v2/` },
    });
    expect(res.status).toBe(200);
    expect((res.body.scope as string).split(' ')).toEqual(expect.arrayContaining(['read:connections_options', 'update:connections_options']));
  });

  it('with its default token, the official SDK reads a connection with its options', async () => {
    const sdk = managementSdk(emu, await managementToken(emu));
    const got = await sdk.connections.get(connectionId);
    expect(got.options).toMatchObject(OPTIONS);
  });
});

describe('reading a connection', () => {
  it('without read:connections_options: GET /connections and GET /connections/{id} leave options out', async () => {
    const token = await tokenWith('read:connections');
    const list = await api(emu, token, 'GET', '/connections');
    expect(list.status).toBe(200);
    const rows = list.body as unknown as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).not.toHaveProperty('options');
    const one = await api(emu, token, 'GET', `/connections/${connectionId}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: connectionId, strategy: 'auth0' });
    expect(one.body).not.toHaveProperty('options');
    // Checkpoint paging (the SDK's take=50) hides them too.
    const page = await api(emu, token, 'GET', '/connections?take=50');
    for (const row of page.body.connections as Record<string, unknown>[]) expect(row).not.toHaveProperty('options');
  });

  it('with read:connections_options: both routes show the options', async () => {
    const token = await tokenWith('read:connections', 'read:connections_options');
    const one = await api(emu, token, 'GET', `/connections/${connectionId}`);
    expect(one.body.options).toEqual(OPTIONS);
    const list = await api(emu, token, 'GET', '/connections');
    const row = (list.body as unknown as Record<string, unknown>[]).find((c) => c.id === connectionId);
    expect(row?.options).toEqual(OPTIONS);
  });

  it('read:connections_options alone does not open the route (read:connections is still its scope)', async () => {
    const token = await tokenWith('read:connections_options');
    const res = await api(emu, token, 'GET', `/connections/${connectionId}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ errorCode: 'insufficient_scope', message: 'Insufficient scope, expected any of: read:connections' });
  });
});

describe('changing a connection', () => {
  it('a PATCH carrying options without update:connections_options → 403, nothing changed', async () => {
    const token = await tokenWith('update:connections', 'read:connections_options');
    const res = await api(emu, token, 'PATCH', `/connections/${connectionId}`, { options: { disable_signup: false }, display_name: 'changed' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expect(res.body.message).toMatch(/^Updating the "options" property requires the "update:connections_options"/);
    const stored = emu.tenant.connections.get(connectionId)!;
    expect(stored.options).toEqual(OPTIONS);
    expect(stored.display_name).toBeUndefined();
  });

  it('a PATCH without options needs only update:connections; its answer hides options without the read scope', async () => {
    const token = await tokenWith('update:connections');
    const res = await api(emu, token, 'PATCH', `/connections/${connectionId}`, { display_name: 'Renamed' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.display_name).toBe('Renamed');
    expect(res.body).not.toHaveProperty('options');
    expect(emu.tenant.connections.get(connectionId)!.options).toEqual(OPTIONS);
  });

  it('with update:connections_options the PATCH replaces the options; shown only with read:connections_options', async () => {
    const blind = await api(emu, await tokenWith('update:connections', 'update:connections_options'), 'PATCH', `/connections/${connectionId}`, { options: { disable_signup: false } });
    expect(blind.status, JSON.stringify(blind.body)).toBe(200);
    expect(blind.body).not.toHaveProperty('options');
    expect(emu.tenant.connections.get(connectionId)!.options).toEqual({ disable_signup: false });
    const seen = await api(emu, await tokenWith('update:connections', 'update:connections_options', 'read:connections_options'),
      'PATCH', `/connections/${connectionId}`, { options: OPTIONS });
    expect(seen.status).toBe(200);
    expect(seen.body.options).toEqual(OPTIONS);
  });

  it('POST with options needs create:connections only (a silent choice); the answer shows options only with the read scope', async () => {
    const token = await tokenWith('create:connections');
    const res = await api(emu, token, 'POST', '/connections', { name: 'opts-created-blind', strategy: 'auth0', options: { disable_signup: true } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).not.toHaveProperty('options');
    expect(emu.tenant.connections.get(res.body.id as string)!.options).toEqual({ disable_signup: true });
  });
});
