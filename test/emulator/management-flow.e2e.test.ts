/**
 * Provisioning a fresh (not provisioned) emulator through the Management API, step by step, as
 * `omni-auth setup` would; the exchange fails with the documented error until each step is done.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { MACHINES_CONNECTION } from '../../src/emulator/provision.js';
import { SUBJECT_TOKEN_TYPE } from '../../src/identity/local-token.js';
import { packageRoot } from '../../src/util/package-root.js';
import { api, call, control, exchange, managementToken, mint, newKey, pollUntil, type Answer } from './helpers.js';

let emu: Emulator;
let mgmt: string;

beforeAll(async () => {
  emu = await startEmulator({ settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

async function actionSource(): Promise<{ code: string; dependencies: { name: string; version: string }[] }> {
  const dir = join(packageRoot(), 'auth0-actions');
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  return {
    code: await readFile(join(dir, 'custom_token_exchange.js'), 'utf8'),
    dependencies: Object.entries(manifest.dependencies).map(([name, version]) => ({ name, version })),
  };
}

const freshExchange = async (): Promise<Answer> => exchange(emu, await mint(emu, await newKey()));

const listOf = <T>(body: unknown, key: string): T[] => (Array.isArray(body) ? body : (body as Record<string, T[]>)[key]) as T[];

describe('client credentials for the Management API', () => {
  it('issues a Management API token the JWKS verifies, with the granted scopes', async () => {
    mgmt = await managementToken(emu);
    const jwks = createRemoteJWKSet(new URL(`${emu.issuer}.well-known/jwks.json`));
    const { payload } = await jwtVerify(mgmt, jwks, { issuer: emu.issuer, audience: `${emu.issuer}api/v2/` });
    expect(payload).toMatchObject({ sub: `${emu.info().management.client_id}@clients`, gty: 'client-credentials' });
    expect(String(payload.scope).split(' ')).toEqual(expect.arrayContaining(['create:actions', 'update:clients', 'create:token_exchange_profiles']));
  });

  it('accepts HTTP Basic client authentication', async () => {
    const { client_id, client_secret } = emu.info().management;
    const res = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', audience: `${emu.issuer}api/v2/` },
      headers: { authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}` },
    });
    expect(res.status).toBe(200);
  });

  it('refuses a wrong secret, an unknown API, an API without a grant and a public client', async () => {
    const { client_id } = emu.info().management;
    const cc = (form: Record<string, string>) => call(emu, 'POST', '/oauth/token', { form: { grant_type: 'client_credentials', ...form } });
    const wrong = await cc({ client_id, client_secret: 'wrong', audience: `${emu.issuer}api/v2/` });
    expect([wrong.status, wrong.body.error]).toEqual([401, 'invalid_client']);
    const { client_secret } = emu.info().management;
    const unknown = await cc({ client_id, client_secret, audience: 'https://nowhere.example/' });
    expect(unknown.status).toBe(403);
    expect(unknown.body).toEqual({ error: 'access_denied', error_description: 'Service not found: https://nowhere.example/' });
    const noGrant = await cc({ client_id, client_secret, audience: emu.info().audience });
    expect([noGrant.status, noGrant.body.error]).toEqual([403, 'access_denied']);
    const publicClient = await cc({ client_id: emu.info().client_id, audience: `${emu.issuer}api/v2/` });
    expect(publicClient.status).toBe(401);
  });
});

describe('provisioning step by step', () => {
  it('makes the exchange work, failing with the documented error before each step', async () => {
    mgmt ??= await managementToken(emu);
    const { client_id, audience } = emu.info();
    const connection = MACHINES_CONNECTION.name;

    // 0. Nothing set up: no profile for the subject_token_type.
    let res = await freshExchange();
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'No Token Exchange Profile matches the subject_token_type.' });

    // 1. The Action: create, wait for the build, deploy, wait for the deployment.
    const { code, dependencies } = await actionSource();
    const created = await api(emu, mgmt, 'POST', '/actions/actions', {
      name: 'omni-auth-custom-token-exchange',
      supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
      code, runtime: 'node22', dependencies,
      // The emulator is served over http, so the Action cannot derive its issuer from the hostname.
      // IDENTITY machine: this walk is about provisioning, not people (the default is person).
      secrets: [{ name: 'ISSUER', value: emu.issuer }, { name: 'CONNECTION', value: connection }, { name: 'IDENTITY', value: 'machine' }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const actionId = created.body.id as string;
    await pollUntil('the Action build', async () => {
      const a = await api(emu, mgmt, 'GET', `/actions/actions/${actionId}`);
      expect(a.body.status).not.toBe('failed');
      return a.body.status === 'built' ? a : undefined;
    });
    expect((await api(emu, mgmt, 'POST', `/actions/actions/${actionId}/deploy`)).status).toBe(200);
    await pollUntil('the deployment', async () => {
      const a = await api(emu, mgmt, 'GET', `/actions/actions/${actionId}`);
      return a.body.deployed_version?.deployed === true ? a : undefined;
    });

    // 2. The profile: now the client is not allowed to use Custom Token Exchange.
    const profile = await api(emu, mgmt, 'POST', '/token-exchange-profiles', {
      name: 'omni-auth local token', subject_token_type: SUBJECT_TOKEN_TYPE, action_id: actionId, type: 'custom_authentication',
    });
    expect(profile.status, JSON.stringify(profile.body)).toBe(201);
    res = await freshExchange();
    expect([res.status, res.body.error]).toEqual([403, 'unauthorized_client']);

    // 3. Allow the client: now the API's consent is in the way.
    const patched = await api(emu, mgmt, 'PATCH', `/clients/${client_id}`, { token_exchange: { allow_any_profile_of_type: ['custom_authentication'] } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    res = await freshExchange();
    expect([res.status, res.body.error, res.body.error_description]).toEqual([403, 'invalid_request', expect.stringMatching(/^consent_required/)]);

    // 4. Skip consent on the API: now the Action runs, but the connection it names does not exist yet.
    const servers = await api(emu, mgmt, 'GET', '/resource-servers');
    const server = listOf<{ id: string; identifier: string }>(servers.body, 'resource_servers').find((s) => s.identifier === audience)!;
    expect((await api(emu, mgmt, 'PATCH', `/resource-servers/${server.id}`, { skip_consent_for_verifiable_first_party_clients: true })).status).toBe(200);
    res = await freshExchange();
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'access_denied', error_description: 'The connection set by the Action does not exist.' });

    // 5. Create the machines' connection (Flexible Identifiers, username only): not enabled for the client yet.
    const made = await api(emu, mgmt, 'POST', '/connections', MACHINES_CONNECTION);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    res = await freshExchange();
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'access_denied', error_description: 'The connection set by the Action is not enabled for this client.' });

    // 6. Enable the connection for the client: the exchange works.
    const connections = await api(emu, mgmt, 'GET', `/connections?name=${encodeURIComponent(connection)}`);
    const conn = listOf<{ id: string; name: string }>(connections.body, 'connections').find((c) => c.name === connection)!;
    const enabled = await api(emu, mgmt, 'PATCH', `/connections/${conn.id}/clients`, [{ client_id, status: true }]);
    expect(enabled.status, JSON.stringify(enabled.body)).toBeLessThan(300);
    res = await freshExchange();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const jwks = createRemoteJWKSet(new URL(`${emu.issuer}.well-known/jwks.json`));
    const { payload } = await jwtVerify(res.body.access_token, jwks, { issuer: emu.issuer, audience });
    // The user has what the connection requires: a lowercase username, no email.
    const user = (await api(emu, mgmt, 'GET', `/users/${encodeURIComponent(String(payload.sub))}`)).body;
    expect(user).toMatchObject({ connection, username: expect.stringMatching(/^omni-[a-z2-7]{52}$/) });
    expect(user.email).toBeUndefined();
  });

  it('shows an Action build failure requested through the control endpoint', async () => {
    mgmt ??= await managementToken(emu);
    expect((await control(emu, 'POST', 'fail-next-build', { message: 'boom on demand' })).status).toBe(204);
    const created = await api(emu, mgmt, 'POST', '/actions/actions', {
      name: 'doomed', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
      code: 'exports.onExecuteCustomTokenExchange = async () => {};', runtime: 'node22', dependencies: [], secrets: [],
    });
    expect(created.status).toBe(201);
    const failed = await pollUntil('the failed build', async () => {
      const a = await api(emu, mgmt, 'GET', `/actions/actions/${created.body.id}`);
      return a.body.status === 'failed' ? a : undefined;
    });
    expect(JSON.stringify(failed.body)).toContain('boom on demand');
  });
});

describe('a redeploy', () => {
  let live: Emulator;
  beforeAll(async () => {
    live = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000, deployMs: 3_000 } });
  });
  afterAll(async () => {
    await live?.close();
  });

  it('keeps exchanges running on the deployed version until the new one is live, then runs the new one', async () => {
    const token = await managementToken(live);
    const attempt = async (): Promise<Answer> => exchange(live, await mint(live, await newKey()));
    const id = [...live.tenant.actions.keys()][0]!;
    expect((await attempt()).status).toBe(200);

    const refusing = "exports.onExecuteCustomTokenExchange = async (event, api) => api.access.deny('version_two', 'the new version runs');";
    expect((await api(live, token, 'PATCH', `/actions/actions/${id}`, { code: refusing })).status).toBe(200);
    await pollUntil('the build', async () => ((await api(live, token, 'GET', `/actions/actions/${id}`)).body.status === 'built' ? true : undefined));
    expect((await api(live, token, 'POST', `/actions/actions/${id}/deploy`)).body).toMatchObject({ number: 2, deployed: false });

    // Deploying: version 1 is still the deployed one, and it is what runs.
    const during = await attempt();
    expect(during.status, JSON.stringify(during.body)).toBe(200);
    expect((await api(live, token, 'GET', `/actions/actions/${id}`)).body).toMatchObject({
      current_version: { number: 2 }, deployed_version: { number: 1, deployed: true }, all_changes_deployed: false,
    });

    await pollUntil('the new version', async () => ((await api(live, token, 'GET', `/actions/actions/${id}`)).body.deployed_version?.number === 2 ? true : undefined));
    const after = await attempt();
    expect([after.status, after.body]).toEqual([400, { error: 'version_two', error_description: 'the new version runs' }]);
  });
});
