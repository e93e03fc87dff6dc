/**
 * How the emulator answers each outcome of an Action, and how it resolves the user the Action set.
 * The emulator is provisioned with a test Action (via `actionDir`) whose behaviour the request picks
 * through an extra body parameter — Auth0 passes unknown parameters to the Action in
 * `event.request.body`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { exchange } from './helpers.js';

const ACTION = `
exports.onExecuteCustomTokenExchange = async (event, api) => {
  const b = event.request.body;
  const conn = event.secrets.CONNECTION;
  // A username too: the provisioned connection may be a username-only (Flexible Identifiers) one.
  const opts = (creationBehavior, updateBehavior) => ({ creationBehavior, updateBehavior });
  switch (b.mode) {
    case 'throw': throw new Error('kaput');
    case 'deny': return api.access.deny('custom_code', 'not today');
    case 'deny-server': return api.access.deny('server_error', 'key fetch failed');
    case 'deny-invalid': return api.access.deny('invalid_request', 'bad input');
    case 'reject': return api.access.rejectInvalidSubjectToken('bad signature');
    case 'nothing': return;
    case 'by-id': return api.authentication.setUserById(b.uid);
    case 'upsert':
      api.authentication.setUserByConnection(conn, { user_id: b.uid, username: b.uid, email: b.email, name: b.name }, opts('create_if_not_exists', 'replace'));
      if (b.plan) api.user.setAppMetadata('plan', b.plan === 'null' ? null : b.plan);
      return;
    case 'no-create': return api.authentication.setUserByConnection(conn, { user_id: b.uid, username: b.uid }, opts('none', 'none'));
    case 'keep': return api.authentication.setUserByConnection(conn, { user_id: b.uid, username: b.uid, email: b.email, name: b.name }, opts('create_if_not_exists', 'none'));
    case 'other-connection': return api.authentication.setUserByConnection('No-Such-Connection', { user_id: b.uid }, opts('create_if_not_exists', 'none'));
    case 'actor':
      api.authentication.setUserByConnection(conn, { user_id: b.uid, username: b.uid }, opts('create_if_not_exists', 'none'));
      api.authentication.setActor({ sub: 'agent-7' });
      return;
  }
};
`;

let emu: Emulator;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-auth-action-'));
  await writeFile(join(dir, 'custom_token_exchange.js'), ACTION);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'test-action', dependencies: {} }));
  emu = await startEmulator({ provisioned: true, actionDir: dir, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (fields: Record<string, string>) => exchange(emu, 'opaque', fields);

describe('the Action\'s outcome', () => {
  it('deny(code, reason) with a custom code → 400 with that code', async () => {
    expect(await run({ mode: 'deny' }).then((r) => [r.status, r.body])).toEqual([400, { error: 'custom_code', error_description: 'not today' }]);
  });

  it("deny('server_error', reason) → 500 server_error (Auth0's status for it)", async () => {
    expect(await run({ mode: 'deny-server' }).then((r) => [r.status, r.body])).toEqual([500, { error: 'server_error', error_description: 'key fetch failed' }]);
  });

  it("deny('invalid_request', reason) → 400 invalid_request", async () => {
    expect(await run({ mode: 'deny-invalid' }).then((r) => [r.status, r.body])).toEqual([400, { error: 'invalid_request', error_description: 'bad input' }]);
  });

  it('rejectInvalidSubjectToken(reason) → 400 invalid_request', async () => {
    expect(await run({ mode: 'reject' }).then((r) => [r.status, r.body])).toEqual([400, { error: 'invalid_request', error_description: 'bad signature' }]);
  });

  it('a thrown error → 403 access_denied with its message', async () => {
    expect(await run({ mode: 'throw' }).then((r) => [r.status, r.body])).toEqual([403, { error: 'access_denied', error_description: 'kaput' }]);
  });

  it('no user set → 403 access_denied', async () => {
    const res = await run({ mode: 'nothing' });
    expect([res.status, res.body.error]).toEqual([403, 'access_denied']);
  });
});

describe('consent', () => {
  it('an API that does not skip consent → invalid_request whose description starts with consent_required', async () => {
    const rs = [...emu.tenant.resourceServers.values()].find((r) => r.identifier === emu.info().audience)!;
    rs.skip_consent_for_verifiable_first_party_clients = false;
    try {
      const res = await run({ mode: 'deny' });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.error_description).toMatch(/^consent_required: .*Allow Skipping User Consent/);
    } finally {
      rs.skip_consent_for_verifiable_first_party_clients = true;
    }
  });
});

describe('the user the Action set', () => {
  it('is created, then found again; app metadata is applied and deleted with null', async () => {
    const first = await run({ mode: 'upsert', uid: 'u1', email: 'u1@example.com', name: 'One', plan: 'pro' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(decodeJwt(first.body.access_token).sub).toBe('auth0|u1');
    const user = emu.tenant.users.get('auth0|u1')!;
    expect(user).toMatchObject({ email: 'u1@example.com', name: 'One', connection: emu.info().connection, logins_count: 1 });
    expect(user.app_metadata).toEqual({ plan: 'pro' });

    const second = await run({ mode: 'upsert', uid: 'u1', email: 'u1@example.com', name: 'Renamed', plan: 'null' });
    expect(second.status).toBe(200);
    expect(emu.tenant.users.get('auth0|u1')).toMatchObject({ name: 'Renamed', logins_count: 2, app_metadata: {} });
  });

  it('may not change an existing user\'s email with updateBehavior replace', async () => {
    expect((await run({ mode: 'upsert', uid: 'u2', email: 'a@example.com' })).status).toBe(200);
    const res = await run({ mode: 'upsert', uid: 'u2', email: 'b@example.com' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'access_denied', error_description: 'The Action may not change these attributes of an existing user: email' });
    expect(emu.tenant.users.get('auth0|u2')!.email).toBe('a@example.com');
  });

  it('is left untouched with updateBehavior none', async () => {
    expect((await run({ mode: 'keep', uid: 'u3', email: 'x@example.com', name: 'Kept' })).status).toBe(200);
    expect((await run({ mode: 'keep', uid: 'u3', email: 'y@example.com', name: 'Other' })).status).toBe(200);
    expect(emu.tenant.users.get('auth0|u3')).toMatchObject({ email: 'x@example.com', name: 'Kept' });
  });

  it('must exist for setUserById and for creationBehavior none', async () => {
    const byId = await run({ mode: 'by-id', uid: 'auth0|ghost' });
    expect([byId.status, byId.body.error_description]).toEqual([403, 'The user set by the Action does not exist.']);
    const noCreate = await run({ mode: 'no-create', uid: 'ghost' });
    expect([noCreate.status, noCreate.body.error_description]).toEqual([403, 'The user does not exist and the Action did not allow creating it.']);
    expect(emu.tenant.users.has('auth0|ghost')).toBe(false);

    expect((await run({ mode: 'keep', uid: 'u4' })).status).toBe(200);
    const found = await run({ mode: 'by-id', uid: 'auth0|u4' });
    expect(found.status).toBe(200);
    expect(decodeJwt(found.body.access_token).sub).toBe('auth0|u4');
  });

  it('must be in an existing connection', async () => {
    const res = await run({ mode: 'other-connection', uid: 'u5' });
    expect([res.status, res.body.error_description]).toEqual([403, 'The connection set by the Action does not exist.']);
  });

  it('carries the actor the Action set as the act claim', async () => {
    const res = await run({ mode: 'actor', uid: 'u6' });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).act).toEqual({ sub: 'agent-7' });
  });
});
