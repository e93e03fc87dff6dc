/**
 * The emulated Management API, called directly (no HTTP server): authorization, the Action build
 * and deploy lifecycle, Token Exchange Profile validation, the client / API / connection /
 * attack-protection changes provisioning makes, and provisionTenant.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadActionSource } from '../../src/emulator/action-source.js';
import type { EmulatorReply, EmulatorRequest } from '../../src/emulator/http-types.js';
import { managementHandler } from '../../src/emulator/management.js';
import { createAction, deployAction } from '../../src/emulator/management/actions.js';
import { createProfile } from '../../src/emulator/management/profiles.js';
import { provisionTenant } from '../../src/emulator/provision.js';
import { MANAGEMENT_SCOPES, createTenant, type EmulatorSettings, type Tenant } from '../../src/emulator/state.js';
import { createSigningKey, issueJwt, type SigningKey } from '../../src/emulator/tokens.js';
import { OmniAuthError } from '../../src/util/errors.js';

let key: SigningKey;
beforeAll(async () => {
  key = await createSigningKey();
});
afterEach(() => {
  vi.useRealTimers();
});

const CTE = [{ id: 'custom-token-exchange', version: 'v1' }];
const GOOD_CODE = 'exports.onExecuteCustomTokenExchange = async (event, api) => { api.access.deny("x", "y"); };';

function newTenant(settings: Partial<EmulatorSettings> = {}): Tenant {
  return createTenant('http://127.0.0.1:1', key, { settings: { buildMs: 30, deployMs: 20, ...settings } });
}

interface CallOptions {
  body?: unknown;
  scopes?: readonly string[];
  /** A raw Authorization header (overrides the minted token); null sends none. */
  authorization?: string | null;
}

async function mgmtToken(tenant: Tenant, scopes: readonly string[], o: { audience?: string; signer?: SigningKey; lifetimeSeconds?: number; now?: number } = {}): Promise<string> {
  return issueJwt(o.signer ?? tenant.signingKey, {
    issuer: tenant.issuer,
    subject: `${tenant.seed.managementClientId}@clients`,
    audience: o.audience ?? `${tenant.issuer}api/v2/`,
    lifetimeSeconds: o.lifetimeSeconds ?? 86_400,
    ...(o.now === undefined ? {} : { now: o.now }),
    claims: { scope: scopes.join(' '), gty: 'client-credentials', azp: tenant.seed.managementClientId },
  });
}

/** Calls the handler; `path` may carry a query string. */
async function call(tenant: Tenant, method: string, path: string, o: CallOptions = {}): Promise<EmulatorReply & { body: any }> {
  const url = new URL(path, 'http://127.0.0.1:1');
  const authorization = o.authorization === undefined ? `Bearer ${await mgmtToken(tenant, o.scopes ?? MANAGEMENT_SCOPES)}` : o.authorization;
  const req: EmulatorRequest = {
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: authorization === null ? {} : { authorization },
    body: o.body,
    ip: '127.0.0.1',
  };
  const reply = await managementHandler(tenant)(req);
  if (!reply) throw new Error(`no answer for ${method} ${path}`);
  return reply as EmulatorReply & { body: any };
}

const actionBody = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'cte', supported_triggers: CTE, code: GOOD_CODE, runtime: 'node22', dependencies: [],
  secrets: [{ name: 'ISSUER', value: 'secret-issuer-value' }], ...over,
});

/** An Action that is built and deployed (live), made through the services. */
function deployedAction(tenant: Tenant, name = 'cte'): string {
  const action = createAction(tenant, actionBody({ name }), { instant: true });
  deployAction(tenant, action.id, { instant: true });
  return action.id;
}

const profileBody = (actionId: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'omni profile', subject_token_type: 'urn:omnispindle:local-auth', action_id: actionId, type: 'custom_authentication', ...over,
});

describe('routing and authorization', () => {
  it('answers only paths under /api/v2', async () => {
    const tenant = newTenant();
    const req: EmulatorRequest = { method: 'GET', path: '/oauth/token', query: new URLSearchParams(), headers: {}, body: undefined, ip: '' };
    expect(await managementHandler(tenant)(req)).toBeUndefined();
    expect(await managementHandler(tenant)({ ...req, path: '/api/v2x/clients' })).toBeUndefined();
  });

  it('refuses a request without a token with 401 "Missing authentication"', async () => {
    const res = await call(newTenant(), 'GET', '/api/v2/clients', { authorization: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Missing authentication' });
  });

  it('refuses garbage, a foreign signature and a wrong audience with 401 "Invalid token"', async () => {
    const tenant = newTenant();
    const other = await createSigningKey();
    const bad = [
      'Bearer not-a-jwt',
      `Bearer ${await mgmtToken(tenant, MANAGEMENT_SCOPES, { signer: other })}`,
      `Bearer ${await mgmtToken(tenant, MANAGEMENT_SCOPES, { audience: tenant.seed.audience })}`,
    ];
    for (const authorization of bad) {
      const res = await call(tenant, 'GET', '/api/v2/clients', { authorization });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Invalid token', attributes: { error: 'Invalid token' } });
    }
  });

  it('says when a token has expired', async () => {
    const tenant = newTenant();
    const old = await mgmtToken(tenant, MANAGEMENT_SCOPES, { now: Math.floor(Date.now() / 1000) - 7200, lifetimeSeconds: 60 });
    const res = await call(tenant, 'GET', '/api/v2/clients', { authorization: `Bearer ${old}` });
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Expired token received for JSON Web Token validation');
  });

  it('answers 403 insufficient_scope naming the scope the route needs', async () => {
    const tenant = newTenant();
    const res = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody(), scopes: ['read:actions'] });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      statusCode: 403, error: 'Forbidden', message: 'Insufficient scope, expected any of: create:actions', errorCode: 'insufficient_scope',
    });
    expect(tenant.actions.size).toBe(0);
    const read = await call(tenant, 'GET', '/api/v2/token-exchange-profiles', { scopes: ['read:actions'] });
    expect(read.body.message).toBe('Insufficient scope, expected any of: read:token_exchange_profiles');
  });

  it('answers an unknown path or method with a plain 404, before authentication', async () => {
    const tenant = newTenant();
    for (const [method, path] of [['GET', '/api/v2/nothing-here'], ['DELETE', '/api/v2/clients'], ['PUT', '/api/v2/clients/x'], ['GET', '/api/v2']]) {
      const res = await call(tenant, method!, path!, { authorization: null });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Not Found' });
    }
  });

  it('answers a body that is not an object with 400 invalid_body', async () => {
    const res = await call(newTenant(), 'POST', '/api/v2/token-exchange-profiles', { body: ['x'] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400, error: 'Bad Request', message: "Payload validation error: 'Expected type object but found type array'.", errorCode: 'invalid_body',
    });
  });
});

describe('Actions', () => {
  it('builds over time: pending, then building, then built', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const tenant = newTenant({ buildMs: 3000 });
    const created = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody() });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'cte', status: 'pending', all_changes_deployed: false, runtime: 'node22', supported_triggers: CTE });
    const get = async (): Promise<any> => (await call(tenant, 'GET', `/api/v2/actions/actions/${created.body.id}`)).body;
    vi.advanceTimersByTime(999);
    expect((await get()).status).toBe('pending');
    vi.advanceTimersByTime(2);
    expect((await get()).status).toBe('building');
    vi.advanceTimersByTime(1998);
    expect((await get()).status).toBe('building');
    vi.advanceTimersByTime(1);
    const built = await get();
    expect(built.status).toBe('built');
    expect(built.built_at).toEqual(expect.any(String));
    expect(built).not.toHaveProperty('deployed_version');
  });

  it('never returns secret values, only names and updated_at', async () => {
    const tenant = newTenant();
    const created = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody() });
    expect(created.body.secrets).toEqual([{ name: 'ISSUER', updated_at: expect.any(String) }]);
    const got = await call(tenant, 'GET', `/api/v2/actions/actions/${created.body.id}`);
    const listed = await call(tenant, 'GET', '/api/v2/actions/actions');
    for (const body of [created.body, got.body, listed.body]) expect(JSON.stringify(body)).not.toContain('secret-issuer-value');
  });

  it('fails the build on demand (failNextBuild, consumed once) and shows the error', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const tenant = newTenant({ failNextBuild: 'boom on demand' });
    const doomed = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody({ name: 'doomed' }) });
    expect(tenant.settings.failNextBuild).toBeUndefined();
    const fine = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody({ name: 'fine' }) });
    expect(doomed.body.status).toBe('pending');
    vi.advanceTimersByTime(30);
    const failed = await call(tenant, 'GET', `/api/v2/actions/actions/${doomed.body.id}`);
    expect(failed.body.status).toBe('failed');
    expect(failed.body.errors).toEqual([{ id: 'build_failed', msg: 'boom on demand' }]);
    expect((await call(tenant, 'GET', `/api/v2/actions/actions/${fine.body.id}`)).body.status).toBe('built');
    const deploy = await call(tenant, 'POST', `/api/v2/actions/actions/${doomed.body.id}/deploy`);
    expect(deploy.status).toBe(400);
    expect(deploy.body.message).toBe("A draft must be in the 'built' state before it can be deployed.");
  });

  it('fails the build of code that does not compile, with the runner\'s reason', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const tenant = newTenant();
    const created = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody({ code: 'exports.x = (' }) });
    vi.advanceTimersByTime(30);
    const res = await call(tenant, 'GET', `/api/v2/actions/actions/${created.body.id}`);
    expect(res.body.status).toBe('failed');
    expect(res.body.errors[0].msg).toMatch(/does not compile/);
  });

  it('refuses to deploy before the build is done, then deploys; the version is deployed_version once live, after deployMs', async () => {
    const tenant = newTenant();
    const created = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody() });
    const id = created.body.id as string;
    const early = await call(tenant, 'POST', `/api/v2/actions/actions/${id}/deploy`);
    expect(early.status).toBe(400);
    await vi.waitUntil(async () => (await call(tenant, 'GET', `/api/v2/actions/actions/${id}`)).body.status === 'built', { timeout: 20_000, interval: 5 });

    const deploy = await call(tenant, 'POST', `/api/v2/actions/actions/${id}/deploy`);
    expect(deploy.status).toBe(200);
    expect(deploy.body).toMatchObject({
      number: 1, deployed: false, status: 'built', action_id: id, code: GOOD_CODE, runtime: 'node22',
      secrets: [{ name: 'ISSUER', updated_at: expect.any(String) }],
      action: { id, name: 'cte', supported_triggers: CTE, all_changes_deployed: false },
    });
    // Not live yet: the new version is the current one, and nothing is deployed.
    const deploying = (await call(tenant, 'GET', `/api/v2/actions/actions/${id}`)).body;
    expect(deploying).toMatchObject({ current_version: { number: 1 }, all_changes_deployed: false });
    expect(deploying).not.toHaveProperty('deployed_version');

    const live = await vi.waitUntil(async () => {
      const a = (await call(tenant, 'GET', `/api/v2/actions/actions/${id}`)).body;
      return a.deployed_version?.deployed === true ? a : undefined;
    }, { timeout: 20_000, interval: 5 });
    expect(live).toMatchObject({ all_changes_deployed: true, current_version: { number: 1, status: 'BUILT' } });
    expect(JSON.stringify(live)).not.toContain('secret-issuer-value');
    // The runner gets the values from the deployed snapshot.
    expect(tenant.actions.get(id)!.deployed_version!.secrets[0]!.value).toBe('secret-issuer-value');

    const patched = await call(tenant, 'PATCH', `/api/v2/actions/actions/${id}`, { body: { code: `${GOOD_CODE}\n// v2` } });
    expect(patched.body).toMatchObject({ status: 'pending', all_changes_deployed: false, deployed_version: { number: 1, deployed: true } });
  });

  it('replaces the whole secrets list on PATCH', async () => {
    const tenant = newTenant();
    const created = await call(tenant, 'POST', '/api/v2/actions/actions', {
      body: actionBody({ secrets: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }),
    });
    const patched = await call(tenant, 'PATCH', `/api/v2/actions/actions/${created.body.id}`, { body: { secrets: [{ name: 'C', value: '3' }] } });
    expect(patched.status).toBe(200);
    expect(patched.body.secrets.map((s: { name: string }) => s.name)).toEqual(['C']);
    expect(tenant.actions.get(created.body.id)!.secrets.map((s) => [s.name, s.value])).toEqual([['C', '3']]);
  });

  it('validates the body', async () => {
    const tenant = newTenant();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: undefined }, /Missing required property: name/],
      [{ supported_triggers: [{ id: 'post-login', version: 'v2' }] }, /Unsupported trigger post-login@v2/],
      [{ supported_triggers: [{ id: 'pre-user-registration', version: 'v2' }] }, /Unsupported trigger pre-user-registration@v2/],
      [{ runtime: 'node12' }, /No enum match for: "node12".*runtime/],
      [{ secrets: [{ name: 'N'.repeat(129), value: 'x' }] }, /String is too long \(129 chars\), maximum 128' on property secrets\[0\]\.name/],
      [{ secrets: [{ name: 'N', value: 'v'.repeat(4097) }] }, /maximum 4096' on property secrets\[0\]\.value/],
      [{ secrets: [{ name: 'N' }] }, /Missing required property: value' on property secrets\[0\]/],
      [{ dependencies: [{ name: 'jose' }] }, /Missing required property: version/],
      [{ deploy: true }, /Additional properties not allowed: deploy/],
    ];
    for (const [over, message] of cases) {
      const res = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody(over) });
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(res.body.errorCode).toBe('invalid_body');
      expect(res.body.message).toMatch(message);
    }
    expect(tenant.actions.size).toBe(0);
    const okSecret = await call(tenant, 'POST', '/api/v2/actions/actions', {
      body: actionBody({ secrets: [{ name: 'N'.repeat(128), value: 'v'.repeat(4096) }] }),
    });
    expect(okSecret.status).toBe(201);
    const dup = await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody() });
    expect(dup.status).toBe(409);
  });

  it('lists with triggerId, actionName and pagination', async () => {
    const tenant = newTenant();
    for (const name of ['a1', 'a2', 'a3']) await call(tenant, 'POST', '/api/v2/actions/actions', { body: actionBody({ name }) });
    const byName = await call(tenant, 'GET', '/api/v2/actions/actions?triggerId=custom-token-exchange&actionName=a2');
    expect(byName.body).toMatchObject({ total: 1, page: 0, per_page: 50 });
    expect(byName.body.actions.map((a: { name: string }) => a.name)).toEqual(['a2']);
    const page = await call(tenant, 'GET', '/api/v2/actions/actions?page=1&per_page=2');
    expect(page.body).toMatchObject({ total: 3, page: 1, per_page: 2 });
    expect(page.body.actions.map((a: { name: string }) => a.name)).toEqual(['a3']);
    expect((await call(tenant, 'GET', '/api/v2/actions/actions?triggerId=post-login')).body.total).toBe(0);
    const bad = await call(tenant, 'GET', '/api/v2/actions/actions?per_page=0');
    expect([bad.status, bad.body.errorCode]).toEqual([400, 'invalid_query_string']);
  });

  it('refuses to delete an Action a profile uses, and deletes it once the profile is gone', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const profile = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId) });
    const refused = await call(tenant, 'DELETE', `/api/v2/actions/actions/${actionId}`);
    expect(refused.status).toBe(409);
    expect(tenant.actions.has(actionId)).toBe(true);
    expect((await call(tenant, 'DELETE', `/api/v2/token-exchange-profiles/${profile.body.id}`)).status).toBe(204);
    const deleted = await call(tenant, 'DELETE', `/api/v2/actions/actions/${actionId}`);
    expect([deleted.status, deleted.body]).toEqual([204, undefined]);
    expect((await call(tenant, 'GET', `/api/v2/actions/actions/${actionId}`)).status).toBe(404);
  });

  it('a redeploy keeps the previous version deployed (and run) until the new one is live', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const tenant = newTenant({ deployMs: 1000 });
    const id = deployedAction(tenant);
    await call(tenant, 'PATCH', `/api/v2/actions/actions/${id}`, { body: { code: `${GOOD_CODE} // 2` } });
    vi.advanceTimersByTime(30);
    const deploy = await call(tenant, 'POST', `/api/v2/actions/actions/${id}/deploy`);
    expect(deploy.body).toMatchObject({ number: 2, deployed: false });
    const get = async (): Promise<any> => (await call(tenant, 'GET', `/api/v2/actions/actions/${id}`)).body;
    const versions = async (): Promise<[number, boolean][]> =>
      (await call(tenant, 'GET', `/api/v2/actions/actions/${id}/versions`)).body.versions.map((v: { number: number; deployed: boolean }) => [v.number, v.deployed]);

    vi.advanceTimersByTime(999);
    expect(await get()).toMatchObject({
      current_version: { number: 2 }, deployed_version: { number: 1, deployed: true, code: GOOD_CODE }, all_changes_deployed: false,
    });
    expect(await versions()).toEqual([[2, false], [1, true]]);
    expect((await call(tenant, 'GET', '/api/v2/actions/actions?deployed=true')).body.total).toBe(1);

    vi.advanceTimersByTime(1);
    expect(await get()).toMatchObject({
      current_version: { number: 2 }, deployed_version: { number: 2, deployed: true, code: `${GOOD_CODE} // 2` }, all_changes_deployed: true,
    });
    expect(await versions()).toEqual([[2, true], [1, false]]);
  });

  it('two quick redeploys go live in turn; the last one stays live', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const tenant = newTenant({ deployMs: 1000 });
    const id = deployedAction(tenant);
    for (const n of [2, 3]) {
      await call(tenant, 'PATCH', `/api/v2/actions/actions/${id}`, { body: { code: `${GOOD_CODE} // ${n}` } });
      vi.advanceTimersByTime(30);
      expect((await call(tenant, 'POST', `/api/v2/actions/actions/${id}/deploy`)).body.number).toBe(n);
    }
    const liveNumber = () => tenant.actions.get(id)!.deployed_version!.number;
    expect(liveNumber()).toBe(1);
    vi.advanceTimersByTime(970); // version 2 live, version 3 still deploying
    expect(liveNumber()).toBe(2);
    vi.advanceTimersByTime(30);
    expect(liveNumber()).toBe(3);
    expect(tenant.actions.get(id)!.versions.map((v) => v.deployed)).toEqual([false, false, true]);
  });

  it('lists the deployed versions, newest first', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const tenant = newTenant();
    const id = deployedAction(tenant);
    await call(tenant, 'PATCH', `/api/v2/actions/actions/${id}`, { body: { code: `${GOOD_CODE} // 2` } });
    vi.advanceTimersByTime(30);
    await call(tenant, 'POST', `/api/v2/actions/actions/${id}/deploy`);
    vi.advanceTimersByTime(20);
    const versions = await call(tenant, 'GET', `/api/v2/actions/actions/${id}/versions`);
    expect(versions.body.total).toBe(2);
    expect(versions.body.versions.map((v: { number: number; deployed: boolean }) => [v.number, v.deployed])).toEqual([[2, true], [1, false]]);
  });
});

describe('Token Exchange Profiles', () => {
  it('creates a profile in Auth0\'s shape', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId) });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^tep_/), name: 'omni profile', type: 'custom_authentication',
      subject_token_type: 'urn:omnispindle:local-auth', action_id: actionId, created_at: expect.any(String), updated_at: expect.any(String),
    });
    expect((await call(tenant, 'GET', `/api/v2/token-exchange-profiles/${res.body.id}`)).body).toEqual(res.body);
  });

  it('checks the name length (3–50)', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    for (const [name, status] of [['ab', 400], ['a'.repeat(51), 400], ['abc', 201], ['b'.repeat(50), 201]] as const) {
      const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', {
        body: profileBody(actionId, { name, subject_token_type: `urn:acme:${name}` }),
      });
      expect(res.status, name).toBe(status);
      if (status === 400) expect(res.body.message).toMatch(/on property name/);
    }
  });

  it('refuses each reserved namespace', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const reserved = ['http://auth0.com/x', 'https://auth0.com/x', 'http://okta.com/x', 'https://okta.com/x', 'urn:ietf:params:x', 'urn:auth0:x', 'urn:okta:x', 'URN:IETF:upper'];
    for (const subject_token_type of reserved) {
      const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { subject_token_type }) });
      expect(res.status, subject_token_type).toBe(400);
      expect(res.body.message).toContain('reserved namespace');
    }
    expect(tenant.profiles.size).toBe(0);
  });

  it('requires https:// or urn:, a valid URL, and 8–100 characters', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const refused: [string, RegExp][] = [
      ['http://example.com/token', /must be a URI starting with https:\/\/ or urn:/],
      ['ftp://example.com/token', /must be a URI starting with https:\/\/ or urn:/],
      ['acme:token-type', /must be a URI starting with https:\/\/ or urn:/],
      ['urn:a:b', /too short \(7 chars\), minimum 8/],
      [`urn:acme:${'x'.repeat(92)}`, /too long \(101 chars\), maximum 100/],
      ['https://exa mple.com', /not a valid URL/],
    ];
    for (const [subject_token_type, message] of refused) {
      const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { subject_token_type }) });
      expect(res.status, subject_token_type).toBe(400);
      expect(res.body.message).toMatch(message);
    }
    for (const subject_token_type of ['urn:a:bc', `urn:acme:${'x'.repeat(91)}`, 'https://acme.example/token']) {
      const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { subject_token_type }) });
      expect(res.status, subject_token_type).toBe(201);
    }
  });

  it('refuses a duplicate subject_token_type with 409 naming it', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    expect((await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId) })).status).toBe(201);
    const dup = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { name: 'other' }) });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(dup.body.message).toContain('urn:omnispindle:local-auth');
  });

  it('requires an existing, deployed custom-token-exchange Action', async () => {
    const tenant = newTenant({ deployMs: 60_000 }); // still deploying while the test runs, however slow the machine
    const builtOnly = createAction(tenant, actionBody({ name: 'built-only' }), { instant: true });
    const deploying = createAction(tenant, actionBody({ name: 'deploying' }), { instant: true });
    deployAction(tenant, deploying.id); // live only after deployMs
    const cases: [string, RegExp][] = [
      ['00000000-0000-0000-0000-000000000000', /does not exist/],
      [builtOnly.id, /must be deployed/],
      [deploying.id, /must be deployed/],
    ];
    for (const [actionId, message] of cases) {
      const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId) });
      expect(res.status, actionId).toBe(400);
      expect(res.body.message).toMatch(message);
    }
    const tooLong = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody('x'.repeat(37)) });
    expect(tooLong.body.message).toMatch(/maximum 36' on property action_id/);
  });

  it('validates type and refuses unknown properties', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const wrongType = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { type: 'other' }) });
    expect(wrongType.body.message).toMatch(/No enum match for: "other"' on property type/);
    const extra = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { extra: 1 }) });
    expect(extra.body.message).toMatch(/Additional properties not allowed: extra/);
  });

  it('allows at most 100 profiles: the 101st is 403 (documented entity limit)', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    for (let i = 0; i < 100; i++) createProfile(tenant, profileBody(actionId, { subject_token_type: `urn:acme:type-${i}` }));
    const res = await call(tenant, 'POST', '/api/v2/token-exchange-profiles', { body: profileBody(actionId, { subject_token_type: 'urn:acme:type-100' }) });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/maximum of 100/);
    expect(tenant.profiles.size).toBe(100);
  });

  it('pages with from/take and next', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(createProfile(tenant, profileBody(actionId, { subject_token_type: `urn:acme:type-${i}` })).id);
    const all = await call(tenant, 'GET', '/api/v2/token-exchange-profiles');
    expect(all.body.token_exchange_profiles.map((p: { id: string }) => p.id)).toEqual(ids);
    expect(all.body).not.toHaveProperty('next');
    const seen: string[] = [];
    let from: string | undefined;
    let pages = 0;
    do {
      const res = await call(tenant, 'GET', `/api/v2/token-exchange-profiles?take=2${from ? `&from=${from}` : ''}`);
      expect(res.body.token_exchange_profiles.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.token_exchange_profiles.map((p: { id: string }) => p.id));
      from = res.body.next;
      pages++;
    } while (from !== undefined);
    expect([seen, pages]).toEqual([ids, 3]);
    const bad = await call(tenant, 'GET', '/api/v2/token-exchange-profiles?from=nope');
    expect([bad.status, bad.body.errorCode]).toEqual([400, 'invalid_query_string']);
    expect((await call(tenant, 'GET', '/api/v2/token-exchange-profiles?take=0')).status).toBe(400);
  });

  it('updates only name and subject_token_type, with the same checks; a used subject_token_type is 400 on PATCH', async () => {
    const tenant = newTenant();
    const actionId = deployedAction(tenant);
    const first = createProfile(tenant, profileBody(actionId));
    createProfile(tenant, profileBody(actionId, { subject_token_type: 'urn:acme:taken' }));
    const path = `/api/v2/token-exchange-profiles/${first.id}`;
    const ok = await call(tenant, 'PATCH', path, { body: { name: 'renamed', subject_token_type: 'https://acme.example/t' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: first.id, name: 'renamed', subject_token_type: 'https://acme.example/t', action_id: actionId });
    expect((await call(tenant, 'PATCH', path, { body: { action_id: actionId } })).status).toBe(400);
    expect((await call(tenant, 'PATCH', path, { body: { type: 'custom_authentication' } })).status).toBe(400);
    expect((await call(tenant, 'PATCH', path, { body: { subject_token_type: 'urn:ietf:x:y:z' } })).status).toBe(400);
    expect((await call(tenant, 'PATCH', path, { body: { name: 'no' } })).status).toBe(400);
    const dup = await call(tenant, 'PATCH', path, { body: { subject_token_type: 'urn:acme:taken' } });
    expect(dup.status).toBe(400);
    expect(dup.body.message).toContain('urn:acme:taken');
    expect(tenant.profiles.get(first.id)!.subject_token_type).toBe('https://acme.example/t');
    expect((await call(tenant, 'DELETE', path)).status).toBe(204);
    expect((await call(tenant, 'GET', path)).status).toBe(404);
    expect((await call(tenant, 'DELETE', path)).status).toBe(404);
  });
});

describe('clients', () => {
  it('enables Custom Token Exchange on the first-party CLI client, replacing token_exchange as a whole', async () => {
    const tenant = newTenant();
    const path = `/api/v2/clients/${tenant.seed.cliClientId}`;
    const res = await call(tenant, 'PATCH', path, { body: { token_exchange: { allow_any_profile_of_type: ['custom_authentication'] } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ client_id: tenant.seed.cliClientId, token_exchange: { allow_any_profile_of_type: ['custom_authentication'] }, app_type: 'native' });
    expect(tenant.clients.get(tenant.seed.cliClientId)!.token_exchange).toEqual({ allow_any_profile_of_type: ['custom_authentication'] });
    const cleared = await call(tenant, 'PATCH', path, { body: { token_exchange: { allow_any_profile_of_type: [] } } });
    expect(cleared.body.token_exchange).toEqual({ allow_any_profile_of_type: [] });
  });

  it('accepts on_behalf_of_token_exchange next to custom_authentication', async () => {
    const tenant = newTenant();
    const both = ['custom_authentication', 'on_behalf_of_token_exchange'];
    const res = await call(tenant, 'PATCH', `/api/v2/clients/${tenant.seed.cliClientId}`, { body: { token_exchange: { allow_any_profile_of_type: both } } });
    expect([res.status, res.body.token_exchange]).toEqual([200, { allow_any_profile_of_type: both }]);
  });

  it('refuses other profile types and clients that are third-party or not OIDC-conformant', async () => {
    const tenant = newTenant();
    const enable = { token_exchange: { allow_any_profile_of_type: ['custom_authentication'] } };
    const other = await call(tenant, 'PATCH', `/api/v2/clients/${tenant.seed.cliClientId}`, { body: { token_exchange: { allow_any_profile_of_type: ['on_behalf_of'] } } });
    expect(other.status).toBe(400);
    expect(other.body.message).toContain('on_behalf_of');

    const thirdParty = await call(tenant, 'POST', '/api/v2/clients', { body: { name: 'tp', app_type: 'native', is_first_party: false, oidc_conformant: true } });
    expect(thirdParty.status).toBe(201);
    const refused = await call(tenant, 'PATCH', `/api/v2/clients/${thirdParty.body.client_id}`, { body: enable });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/first-party.*OIDC-conformant/);

    const legacy = await call(tenant, 'POST', '/api/v2/clients', { body: { name: 'legacy', app_type: 'native' } });
    expect(legacy.body.oidc_conformant).toBe(false);
    expect((await call(tenant, 'PATCH', `/api/v2/clients/${legacy.body.client_id}`, { body: enable })).status).toBe(400);
    const both = await call(tenant, 'PATCH', `/api/v2/clients/${legacy.body.client_id}`, { body: { oidc_conformant: true, ...enable } });
    expect(both.status).toBe(200);
    expect(tenant.clients.get(legacy.body.client_id)!.token_exchange).toEqual(enable.token_exchange);
  });

  it('never shows a client secret, except to the creator of a confidential client', async () => {
    const tenant = newTenant();
    const list = await call(tenant, 'GET', '/api/v2/clients');
    expect(list.body).toHaveLength(2);
    expect(JSON.stringify(list.body)).not.toContain(tenant.seed.managementClientSecret);
    const m2m = await call(tenant, 'GET', `/api/v2/clients/${tenant.seed.managementClientId}`);
    expect(m2m.body).not.toHaveProperty('client_secret');
    const created = await call(tenant, 'POST', '/api/v2/clients', { body: { name: 'svc', app_type: 'non_interactive' } });
    expect(created.body).toMatchObject({ token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], client_secret: expect.any(String) });
    expect((await call(tenant, 'GET', `/api/v2/clients/${created.body.client_id}`)).body).not.toHaveProperty('client_secret');
  });

  it('supports fields/include_fields, include_totals and 404 for an unknown client', async () => {
    const tenant = newTenant();
    const picked = await call(tenant, 'GET', `/api/v2/clients/${tenant.seed.cliClientId}?fields=client_id,name&include_fields=true`);
    expect(picked.body).toEqual({ client_id: tenant.seed.cliClientId, name: 'omni-auth CLI' });
    const omitted = await call(tenant, 'GET', `/api/v2/clients/${tenant.seed.cliClientId}?fields=callbacks&include_fields=false`);
    expect(omitted.body).not.toHaveProperty('callbacks');
    expect(omitted.body).toHaveProperty('name');
    const totals = await call(tenant, 'GET', '/api/v2/clients?include_totals=true&per_page=1');
    expect(totals.body).toMatchObject({ start: 0, limit: 1, length: 1, total: 2 });
    const missing = await call(tenant, 'GET', '/api/v2/clients/nope');
    expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'The client does not exist', errorCode: 'inexistent_client' });
  });
});

describe('resource servers', () => {
  it('patches an API addressed by its URL-encoded identifier', async () => {
    const tenant = newTenant();
    const path = `/api/v2/resource-servers/${encodeURIComponent(tenant.seed.audience)}`;
    const res = await call(tenant, 'PATCH', path, { body: { skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ identifier: tenant.seed.audience, skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true });
    const byId = await call(tenant, 'GET', `/api/v2/resource-servers/${res.body.id}`);
    expect(byId.body).toEqual(res.body);
    const bad = await call(tenant, 'PATCH', path, { body: { identifier: 'https://other.example' } });
    expect([bad.status, bad.body.message]).toEqual([400, "Payload validation error: 'Additional properties not allowed: identifier'."]);
    const notBool = await call(tenant, 'PATCH', path, { body: { allow_offline_access: 'yes' } });
    expect(notBool.body.message).toBe("Payload validation error: 'Expected type boolean but found type string' on property allow_offline_access.");
  });

  it('creates an API, refusing a duplicate identifier with 409', async () => {
    const tenant = newTenant();
    const created = await call(tenant, 'POST', '/api/v2/resource-servers', { body: { identifier: 'https://new.example/api', name: 'New' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ identifier: 'https://new.example/api', name: 'New', signing_alg: 'RS256', allow_offline_access: false });
    const dup = await call(tenant, 'POST', '/api/v2/resource-servers', { body: { identifier: tenant.seed.audience } });
    expect(dup.status).toBe(409);
    const list = await call(tenant, 'GET', '/api/v2/resource-servers');
    expect(list.body.map((rs: { identifier: string }) => rs.identifier)).toContain('https://new.example/api');
  });
});

describe('connections', () => {
  it('finds the connection by name and enables and disables clients for it', async () => {
    const tenant = newTenant();
    const found = await call(tenant, 'GET', `/api/v2/connections?name=${encodeURIComponent(tenant.seed.connection)}&strategy=auth0`);
    expect(found.body).toHaveLength(1);
    const conn = found.body[0];
    expect(conn).toMatchObject({ name: tenant.seed.connection, strategy: 'auth0' });
    expect((await call(tenant, 'GET', '/api/v2/connections?strategy=google-oauth2')).body).toEqual([]);

    const clients = `/api/v2/connections/${conn.id}/clients`;
    expect((await call(tenant, 'GET', clients)).body).toEqual({ clients: [{ client_id: tenant.seed.managementClientId }] });
    const enable = await call(tenant, 'PATCH', clients, { body: [{ client_id: tenant.seed.cliClientId, status: true }] });
    expect([enable.status, enable.body]).toEqual([204, undefined]);
    const paged = await call(tenant, 'GET', `${clients}?take=1`);
    expect(paged.body.clients).toEqual([{ client_id: tenant.seed.managementClientId }]);
    const rest = await call(tenant, 'GET', `${clients}?take=1&from=${paged.body.next}`);
    expect(rest.body).toEqual({ clients: [{ client_id: tenant.seed.cliClientId }] });
    await call(tenant, 'PATCH', clients, { body: [{ client_id: tenant.seed.managementClientId, status: false }] });
    expect(tenant.connections.get(conn.id)!.enabled_clients).toEqual([tenant.seed.cliClientId]);
  });

  it('validates the body: at most 50 items, known clients, a status', async () => {
    const tenant = newTenant();
    const conn = [...tenant.connections.values()][0]!;
    const clients = `/api/v2/connections/${conn.id}/clients`;
    const many = Array.from({ length: 51 }, () => ({ client_id: tenant.seed.cliClientId, status: true }));
    expect((await call(tenant, 'PATCH', clients, { body: many })).status).toBe(400);
    expect((await call(tenant, 'PATCH', clients, { body: many.slice(0, 50) })).status).toBe(204);
    expect((await call(tenant, 'PATCH', clients, { body: [{ client_id: tenant.seed.cliClientId }] })).body.message).toMatch(/Missing required property: status/);
    expect((await call(tenant, 'PATCH', clients, { body: { client_id: 'x' } })).status).toBe(400);
    const unknown = await call(tenant, 'PATCH', clients, { body: [{ client_id: tenant.seed.managementClientId, status: false }, { client_id: 'nope', status: true }] });
    expect([unknown.status, unknown.body.errorCode]).toEqual([404, 'inexistent_client']);
    expect(tenant.connections.get(conn.id)!.enabled_clients).toContain(tenant.seed.managementClientId);
    expect((await call(tenant, 'GET', '/api/v2/connections/con_nope/clients')).status).toBe(404);
  });
});

describe('users', () => {
  it('finds a user by URL-encoded id and lists with a minimal q', async () => {
    const tenant = newTenant();
    const now = new Date().toISOString();
    const user = {
      user_id: 'auth0|omni-abc', connection: tenant.seed.connection, email: 'a@example.com', app_metadata: {}, user_metadata: {},
      created_at: now, updated_at: now, logins_count: 1,
    };
    tenant.users.set(user.user_id, user);
    const one = await call(tenant, 'GET', `/api/v2/users/${encodeURIComponent(user.user_id)}`);
    expect(one.body).toMatchObject({ user_id: 'auth0|omni-abc', identities: [{ provider: 'auth0', user_id: 'omni-abc', connection: tenant.seed.connection }] });
    expect((await call(tenant, 'GET', '/api/v2/users?q=email:"a@example.com"')).body).toHaveLength(1);
    expect((await call(tenant, 'GET', '/api/v2/users?q=email:"b@example.com"')).body).toHaveLength(0);
    expect((await call(tenant, 'GET', '/api/v2/users/auth0%7Cnobody')).body.errorCode).toBe('inexistent_user');
    expect((await call(tenant, 'GET', '/api/v2/users', { scopes: ['read:clients'] })).status).toBe(403);
  });
});

describe('attack protection', () => {
  it('deep-merges stage settings and validates them', async () => {
    const tenant = newTenant();
    const path = '/api/v2/attack-protection/suspicious-ip-throttling';
    const before = structuredClone((await call(tenant, 'GET', path)).body);
    const res = await call(tenant, 'PATCH', path, { body: { stage: { 'pre-custom-token-exchange': { rate: 1000 } } } });
    expect(res.status).toBe(200);
    expect(res.body.stage['pre-custom-token-exchange']).toEqual({ max_attempts: 10, rate: 1000 });
    expect(res.body.stage['pre-login']).toEqual(before.stage['pre-login']);
    expect(res.body).toMatchObject({ enabled: before.enabled, shields: before.shields });
    expect(tenant.attackProtection.suspiciousIpThrottling.stage['pre-custom-token-exchange']).toEqual({ max_attempts: 10, rate: 1000 });

    const refused: [unknown, RegExp][] = [
      [{ stage: { 'pre-custom-token-exchange': { max_attempts: 0 } } }, /less than minimum 1/],
      [{ stage: { 'pre-custom-token-exchange': { max_attempts: 1.5 } } }, /Expected type integer but found type number/],
      [{ stage: { 'pre-custom-token-exchange': { rate: '600' } } }, /Expected type integer but found type string/],
      [{ stage: { 'post-login': { rate: 1 } } }, /Additional properties not allowed: post-login/],
      [{ shields: ['explode'] }, /No enum match/],
      [{ allowlist: ['300.1.1.1'] }, /Not an IP address/],
      [{ enabled: 'yes' }, /Expected type boolean/],
    ];
    for (const [body, message] of refused) {
      const bad = await call(tenant, 'PATCH', path, { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.message).toMatch(message);
    }
    expect(tenant.attackProtection.suspiciousIpThrottling.stage['pre-custom-token-exchange']).toEqual({ max_attempts: 10, rate: 1000 });
    const ok = await call(tenant, 'PATCH', path, { body: { enabled: false, allowlist: ['10.0.0.0/8', '::1'], shields: ['block'] } });
    expect(ok.body).toMatchObject({ enabled: false, allowlist: ['10.0.0.0/8', '::1'], shields: ['block'] });
  });
});

describe('trigger bindings: scopes', () => {
  it('reads with read:actions and binds with update:actions', async () => {
    const tenant = newTenant();
    const path = '/api/v2/actions/triggers/post-login/bindings';
    const noRead = await call(tenant, 'GET', path, { scopes: ['update:actions'] });
    expect([noRead.status, noRead.body.message]).toEqual([403, 'Insufficient scope, expected any of: read:actions']);
    const noUpdate = await call(tenant, 'PATCH', path, { body: { bindings: [] }, scopes: ['read:actions'] });
    expect([noUpdate.status, noUpdate.body.message]).toEqual([403, 'Insufficient scope, expected any of: update:actions']);
    expect((await call(tenant, 'GET', path, { scopes: ['read:actions'] })).body).toEqual({ bindings: [], total: 0, page: 0, per_page: 50 });
    expect((await call(tenant, 'GET', '/api/v2/actions/triggers', { scopes: ['read:actions'] })).status).toBe(200);
  });
});

describe('connections: create and update', () => {
  const FI = {
    username: {
      identifier: { active: true }, profile_required: true, signup: { status: 'required' },
      validation: { min_length: 1, max_length: 64, allowed_types: { email: false, phone_number: false } },
    },
  };

  it('creates a database connection with Flexible Identifiers, shown with its options by GET', async () => {
    const tenant = newTenant();
    const res = await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'omni-auth-machines', strategy: 'auth0', options: { attributes: FI, disable_signup: true } } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^con_/), name: 'omni-auth-machines', strategy: 'auth0', enabled_clients: [], options: { attributes: FI, disable_signup: true } });
    const got = await call(tenant, 'GET', `/api/v2/connections/${res.body.id}`);
    expect(got.body.options).toEqual({ attributes: FI, disable_signup: true });
    const dup = await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'omni-auth-machines', strategy: 'auth0' } });
    expect(dup.status).toBe(409);
  });

  it('needs create:connections to create and update:connections to change', async () => {
    const tenant = newTenant();
    const body = { name: 'db', strategy: 'auth0' };
    const noScope = await call(tenant, 'POST', '/api/v2/connections', { body, scopes: ['read:connections', 'update:connections'] });
    expect([noScope.status, noScope.body.message]).toEqual([403, 'Insufficient scope, expected any of: create:connections']);
    const created = await call(tenant, 'POST', '/api/v2/connections', { body });
    const patch = await call(tenant, 'PATCH', `/api/v2/connections/${created.body.id}`, { body: { options: {} }, scopes: ['read:connections', 'create:connections'] });
    expect([patch.status, patch.body.message]).toEqual([403, 'Insufficient scope, expected any of: update:connections']);
  });

  it('checks the name and the strategy', async () => {
    const tenant = newTenant();
    for (const name of ['-lead', 'trail-', 'two--dashes', 'under_score', 'sp ace', 'x'.repeat(129), '']) {
      const res = await call(tenant, 'POST', '/api/v2/connections', { body: { name, strategy: 'auth0' } });
      expect([res.status, res.body.errorCode], name).toEqual([400, 'invalid_body']);
    }
    expect((await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'A1-b2', strategy: 'auth0' } })).status).toBe(201);
    expect((await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'x'.repeat(128), strategy: 'auth0' } })).status).toBe(201);
    expect((await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'g', strategy: 'google-oauth2' } })).status).toBe(400);
    expect((await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'nostrategy' } })).status).toBe(400);
  });

  it('refuses attributes with requires_username or validation, no active identifier, and bad username lengths', async () => {
    const tenant = newTenant();
    const post = (options: unknown) => call(tenant, 'POST', '/api/v2/connections', { body: { name: 'db', strategy: 'auth0', options } });
    const refusals: [unknown, RegExp][] = [
      [{ attributes: FI, requires_username: true }, /cannot be used together with requires_username or validation/],
      [{ attributes: FI, validation: { username: { min: 1, max: 20 } } }, /cannot be used together/],
      [{ attributes: { username: { ...FI.username, identifier: { active: false } } } }, /At least one attribute must be an active identifier/],
      [{ attributes: {} }, /At least one attribute/],
      [{ attributes: { username: { ...FI.username, validation: { max_length: 129 } } } }, /greater than maximum 128/],
      [{ attributes: { username: { ...FI.username, validation: { min_length: 0 } } } }, /less than minimum 1/],
      [{ attributes: { username: { ...FI.username, validation: { min_length: 10, max_length: 5 } } } }, /minimum length \(10\) is greater than the maximum \(5\)/],
      [{ attributes: { nickname: {} } }, /Additional properties not allowed: nickname/],
      [{ attributes: { username: { ...FI.username, signup: { status: 'sometimes' } } } }, /No enum match/],
      [{ validation: { username: { min: 1, max: 200 } } }, /greater than maximum 128/],
    ];
    for (const [options, message] of refusals) {
      const res = await post(options);
      expect(res.status, JSON.stringify(options)).toBe(400);
      expect(res.body.message, JSON.stringify(options)).toMatch(message);
    }
    expect(tenant.connections.size).toBe(1);
    expect((await post({ attributes: { username: { ...FI.username, validation: { max_length: 128 } } } })).status).toBe(201);
  });

  it('PATCH replaces options as a whole (no merge), keeps name and strategy fixed', async () => {
    const tenant = newTenant();
    const created = await call(tenant, 'POST', '/api/v2/connections', { body: { name: 'db', strategy: 'auth0', options: { requires_username: true, disable_signup: true } } });
    const path = `/api/v2/connections/${created.body.id}`;
    const patched = await call(tenant, 'PATCH', path, { body: { options: { attributes: FI } } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.options).toEqual({ attributes: FI });
    expect((await call(tenant, 'GET', path)).body.options).toEqual({ attributes: FI });
    expect((await call(tenant, 'PATCH', path, { body: { name: 'renamed' } })).status).toBe(400);
    expect((await call(tenant, 'PATCH', path, { body: { strategy: 'sms' } })).status).toBe(400);
    expect((await call(tenant, 'PATCH', path, { body: {} })).status).toBe(400);
    expect((await call(tenant, 'PATCH', '/api/v2/connections/con_nope', { body: { options: {} } })).status).toBe(404);
  });
});

describe('provisionTenant', () => {
  it('sets up the tenant as omni-auth setup would, with the Action live at once', async () => {
    const tenant = newTenant({ buildMs: 60_000, deployMs: 60_000 });
    await provisionTenant(tenant, await loadActionSource());

    const [action] = [...tenant.actions.values()];
    expect(action).toBeDefined();
    expect(action!.deployed_version?.deployed).toBe(true);
    expect(Object.fromEntries(action!.deployed_version!.secrets.map((s) => [s.name, s.value]))).toEqual({
      ISSUER: tenant.issuer, CONNECTION: tenant.seed.connection, IDENTITY: 'both',
    });
    const view = await call(tenant, 'GET', `/api/v2/actions/actions/${action!.id}`);
    expect(view.body).toMatchObject({ status: 'built', all_changes_deployed: true, runtime: 'node22', supported_triggers: CTE, dependencies: [{ name: 'jose' }] });

    expect([...tenant.profiles.values()]).toEqual([expect.objectContaining({
      name: 'omnispindle-local-auth', subject_token_type: 'urn:omnispindle:local-auth', action_id: action!.id, type: 'custom_authentication',
    })]);
    expect(tenant.clients.get(tenant.seed.cliClientId)!.token_exchange).toEqual({ allow_any_profile_of_type: ['custom_authentication'] });
    const api = [...tenant.resourceServers.values()].find((rs) => rs.identifier === tenant.seed.audience)!;
    expect(api).toMatchObject({ skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true });
    const connection = [...tenant.connections.values()].find((c) => c.name === tenant.seed.connection)!;
    expect(connection.enabled_clients).toContain(tenant.seed.cliClientId);
  });

  it('creates the omni-auth-machines connection (Flexible Identifiers, username only) for the CLI client only, and keeps the default one for people', async () => {
    const tenant = newTenant();
    await provisionTenant(tenant, { code: GOOD_CODE, dependencies: [] });
    expect(tenant.seed.connection).toBe('omni-auth-machines');
    const machines = [...tenant.connections.values()].find((c) => c.name === 'omni-auth-machines')!;
    expect(machines).toMatchObject({ strategy: 'auth0', enabled_clients: [tenant.seed.cliClientId] });
    expect(machines.options).toEqual({
      attributes: {
        username: {
          identifier: { active: true }, profile_required: true, signup: { status: 'required' },
          validation: { min_length: 1, max_length: 64, allowed_types: { email: false, phone_number: false } },
        },
      },
      disable_signup: true,
    });
    const secrets = [...tenant.actions.values()][0]!.secrets;
    expect(secrets.find((x) => x.name === 'CONNECTION')!.value).toBe('omni-auth-machines');
    // The default database connection is the people's (browser sign-in), enabled for the CLI client too;
    // the machines' users never go there: CONNECTION names omni-auth-machines.
    const people = [...tenant.connections.values()].find((c) => c.name === 'Username-Password-Authentication')!;
    expect(people.enabled_clients).toContain(tenant.seed.cliClientId);
    const listed = await call(tenant, 'GET', '/api/v2/connections?name=omni-auth-machines');
    expect(listed.body).toEqual([expect.objectContaining({ name: 'omni-auth-machines', options: machines.options })]);
  });

  it('takes the names from the options and reports a failed build or a second run as an OmniAuthError', async () => {
    const tenant = newTenant();
    const source = { code: GOOD_CODE, dependencies: [] };
    await provisionTenant(tenant, source, { subjectTokenType: 'urn:acme:custom', profileName: 'acme', actionName: 'acme-action' });
    expect([...tenant.profiles.values()][0]).toMatchObject({ name: 'acme', subject_token_type: 'urn:acme:custom' });
    expect([...tenant.actions.values()][0]!.name).toBe('acme-action');
    await expect(provisionTenant(tenant, source, { subjectTokenType: 'urn:acme:custom', profileName: 'acme', actionName: 'acme-action' }))
      .rejects.toMatchObject({ code: 'emulator.provisionFailed', message: expect.stringContaining('already exists') });

    const failing = newTenant({ failNextBuild: 'no luck' });
    const error = await provisionTenant(failing, source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OmniAuthError);
    expect(error).toMatchObject({ code: 'emulator.provisionBuildFailed', message: expect.stringContaining('no luck') });
    expect(failing.profiles.size).toBe(0);
  });
});
