/**
 * What person-bound keys need from the Action runtime: `setUserById` refuses blocked and unknown
 * users, and the Action's global `fetch` reaches the tenant's JWKS over loopback. And what
 * `--provisioned` sets up for browser sign-in.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI_CALLBACKS } from '../../src/emulator/provision.js';
import { exchange } from './helpers.js';
import { createPerson, setBlocked } from './signin-helpers.js';

const ACTION = `
exports.onExecuteCustomTokenExchange = async (event, api) => {
  const b = event.request.body;
  if (b.mode === 'by-id') return api.authentication.setUserById(b.uid);
  if (b.mode === 'jwks') {
    const res = await fetch(event.secrets.ISSUER + '.well-known/jwks.json');
    if (!res.ok) return api.access.deny('server_error', 'jwks ' + res.status);
    const { keys } = await res.json();
    if (!Array.isArray(keys) || keys.length !== 1 || keys[0].kty !== 'RSA') return api.access.deny('server_error', 'no key');
    return api.authentication.setUserById(b.uid);
  }
  // (Secret values are redacted from deny reasons, so the answer only says whether it matched.)
  if (b.mode === 'identity') return api.access.deny('identity_check', String(event.secrets.IDENTITY === b.expect));
};
`;

let emu: Emulator;
let dir: string;
let personId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-auth-action-'));
  await writeFile(join(dir, 'custom_token_exchange.js'), ACTION);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'test-action', dependencies: {} }));
  emu = await startEmulator({ provisioned: true, actionDir: dir, identity: 'person', settings: { exchangeRatePerSecond: 1000 } });
  personId = (await createPerson(emu, { email: 'pat@example.com', password: 'pat-password-1' })).user_id;
});
afterAll(async () => {
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('api.authentication.setUserById', () => {
  it('sets an existing person', async () => {
    const res = await exchange(emu, 'opaque', { mode: 'by-id', uid: personId });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).sub).toBe(personId);
  });

  it('refuses a blocked person: 403 access_denied "user is blocked", until unblocked', async () => {
    await setBlocked(emu, personId, true);
    const res = await exchange(emu, 'opaque', { mode: 'by-id', uid: personId });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'access_denied', error_description: 'user is blocked' });
    await setBlocked(emu, personId, false);
    expect((await exchange(emu, 'opaque', { mode: 'by-id', uid: personId })).status).toBe(200);
  });

  it('refuses an unknown user ("This must be an existing user")', async () => {
    const res = await exchange(emu, 'opaque', { mode: 'by-id', uid: 'auth0|nobody' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'access_denied', error_description: 'The user set by the Action does not exist.' });
  });
});

describe("the Action's fetch", () => {
  it("reaches the tenant's JWKS over loopback (<issuer>.well-known/jwks.json)", async () => {
    const res = await exchange(emu, 'opaque', { mode: 'jwks', uid: personId });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(emu.tenant.stats.requests['GET /.well-known/jwks.json']).toBeGreaterThanOrEqual(1);
  });
});

describe('--provisioned for browser sign-in', () => {
  it('registers the CLI callbacks and grants, enables Username-Password-Authentication for the CLI client, and sets IDENTITY', async () => {
    const cli = emu.tenant.clients.get(emu.info().client_id)!;
    expect(cli.callbacks).toEqual(expect.arrayContaining([...CLI_CALLBACKS]));
    expect(CLI_CALLBACKS).toEqual(['http://127.0.0.1:8765/callback', 'http://localhost:8765/callback']);
    expect(cli.grant_types).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    const upa = [...emu.tenant.connections.values()].find((c) => c.name === 'Username-Password-Authentication')!;
    expect(upa.enabled_clients).toContain(cli.client_id);
    expect(emu.info().identity).toBe('person');
    expect((await exchange(emu, 'opaque', { mode: 'identity', expect: 'person' })).body).toEqual({ error: 'identity_check', error_description: 'true' });
    expect((await exchange(emu, 'opaque', { mode: 'identity', expect: 'both' })).body).toEqual({ error: 'identity_check', error_description: 'false' });
  });

  it('defaults IDENTITY to both', async () => {
    const other = await startEmulator({ provisioned: true });
    try {
      expect(other.info().identity).toBe('both');
      const action = [...other.tenant.actions.values()][0]!;
      expect(action.deployed_version!.secrets.find((s) => s.name === 'IDENTITY')?.value).toBe('both');
    } finally {
      await other.close();
    }
  });
});
