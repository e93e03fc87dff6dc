/**
 * The Management API client against msw: the token request, 401 / 403 insufficient_scope / 409 /
 * 429 / 5xx answers as typed errors with fixes, bounded waits on 429, no retried POST, and the token
 * and client secret never in an error.
 */
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/exchange/transport.js';
import { ManagementClient, type ManagementCredentials } from '../../src/tenant/management-client.js';
import { ManagementApiError } from '../../src/tenant/management-errors.js';
import { OmniAuthError } from '../../src/util/errors.js';
import { Secret } from '../../src/util/secret.js';
import { fakeTime } from '../exchange/helpers.js';

/** A transport on the global fetch (msw intercepts it), honouring the method. */
const fetchTransport: Transport = async ({ method = 'POST', url, headers, body, signal }) => {
  const r = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal });
  return { status: r.status, headers: Object.fromEntries(r.headers), bodyText: await r.text() };
};

const DOMAIN = 'https://tenant.example.com';
const TOKEN = 'mgmt-token-Zx81kq0pW2';
const SECRET = 'client-secret-9Yq77Lm';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const api = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => () => HttpResponse.json(body, { status, headers });

function client(credentials: ManagementCredentials = { kind: 'token', token: new Secret(TOKEN) }) {
  const time = fakeTime();
  const connect = () => ManagementClient.connect({ domain: DOMAIN, credentials, transport: fetchTransport, retry: { now: time.now, sleep: time.sleep, random: () => 0 } });
  return { time, connect };
}

const noSecretsIn = (e: unknown): void => {
  const text = JSON.stringify({ m: (e as Error).message, h: (e as OmniAuthError).hint, d: (e as OmniAuthError).details });
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(SECRET);
};

describe('the Management token', () => {
  it('client credentials for https://{domain}/api/v2/, then Bearer on every call', async () => {
    let form: URLSearchParams | undefined;
    let auth: string | null = null;
    server.use(
      http.post(`${DOMAIN}/oauth/token`, async ({ request }) => {
        form = new URLSearchParams(await request.text());
        return HttpResponse.json({ access_token: TOKEN, scope: 'read:clients update:clients', token_type: 'Bearer', expires_in: 86400 });
      }),
      http.get(`${DOMAIN}/api/v2/clients/abc`, ({ request }) => {
        auth = request.headers.get('authorization');
        return HttpResponse.json({ client_id: 'abc' });
      }),
    );
    const mc = await client({ kind: 'client', clientId: 'm2m', clientSecret: new Secret(SECRET) }).connect();
    expect(Object.fromEntries(form!)).toEqual({ grant_type: 'client_credentials', client_id: 'm2m', client_secret: SECRET, audience: `${DOMAIN}/api/v2/` });
    expect(mc.grantedScopes).toEqual(['read:clients', 'update:clients']);
    expect(await mc.get('/clients/abc')).toEqual({ client_id: 'abc' });
    expect(auth).toBe(`Bearer ${TOKEN}`);
    expect(mc.writes).toBe(0);
  });

  it.each([
    [401, 'invalid_client', 'mgmt_bad_credentials', /--mgmt-client-secret/],
    [403, 'access_denied', 'mgmt_not_authorized', /Machine to Machine Applications/],
    [403, 'unauthorized_client', 'mgmt_no_client_credentials', /Client Credentials grant/],
  ])('a refused token request (%i %s) → %s with a fix, exit 3', async (status, error, code, hint) => {
    server.use(http.post(`${DOMAIN}/oauth/token`, api(status, { error, error_description: `nope ${SECRET}` })));
    const e = await client({ kind: 'client', clientId: 'm2m', clientSecret: new Secret(SECRET) }).connect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OmniAuthError);
    expect((e as OmniAuthError).code).toBe(code);
    expect((e as OmniAuthError).hint).toMatch(hint);
    expect((e as OmniAuthError).exitCode).toBe(3);
    noSecretsIn(e);
  });

  it('a 200 without an access_token → mgmt_bad_response (exit 4), with a hint about the domain', async () => {
    server.use(http.post(`${DOMAIN}/oauth/token`, api(200, { hello: 'a proxy page' })));
    const e = (await client({ kind: 'client', clientId: 'm2m', clientSecret: new Secret(SECRET) }).connect().catch((x: unknown) => x)) as OmniAuthError;
    expect([e.code, e.exitCode]).toEqual(['mgmt_bad_response', 4]);
    expect(e.hint).toMatch(/--domain .*tenant's own domain/);
    noSecretsIn(e);
  });
});

describe('Management API answers', () => {
  it('401 → mgmt_unauthorized: the given token is invalid or expired', async () => {
    server.use(http.get(`${DOMAIN}/api/v2/clients`, api(401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' })));
    const e = await (await client().connect()).get('/clients').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ManagementApiError);
    expect((e as ManagementApiError).code).toBe('mgmt_unauthorized');
    expect((e as ManagementApiError).hint).toMatch(/invalid or expired/);
    expect((e as ManagementApiError).exitCode).toBe(3);
  });

  it('403 insufficient_scope → names the scope and where to grant it', async () => {
    server.use(http.post(`${DOMAIN}/api/v2/actions/actions`, api(403, {
      statusCode: 403, error: 'Forbidden', message: 'Insufficient scope, expected any of: create:actions', errorCode: 'insufficient_scope',
    })));
    const mc = await client({ kind: 'token', token: new Secret(TOKEN) }).connect();
    const e = (await mc.post('/actions/actions', { name: 'x' }).catch((x: unknown) => x)) as ManagementApiError;
    expect(e.code).toBe('mgmt_insufficient_scope');
    expect(e.message).toContain('POST /api/v2/actions/actions');
    expect(e.message).toContain('create:actions');
    expect(e.hint).toContain('create:actions');
    expect(e.details).toMatchObject({ missing_scopes: ['create:actions'] });
    expect(e.exitCode).toBe(3);
  });

  it('409 keeps its status for the caller, with the tenant\'s words', async () => {
    server.use(http.post(`${DOMAIN}/api/v2/token-exchange-profiles`, api(409, { statusCode: 409, error: 'Conflict', message: 'already exists' })));
    const e = (await (await client().connect()).post('/token-exchange-profiles', {}).catch((x: unknown) => x)) as ManagementApiError;
    expect([e.code, e.status]).toEqual(['mgmt_conflict', 409]);
    expect(e.message).toContain('already exists');
  });

  it('429 waits as X-RateLimit-Reset says, then succeeds', async () => {
    const { time, connect } = client();
    let calls = 0;
    server.use(http.get(`${DOMAIN}/api/v2/clients`, () => {
      calls++;
      return calls === 1
        ? HttpResponse.json({ statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' }, {
          status: 429, headers: { 'x-ratelimit-reset': String(Math.floor(time.now() / 1000) + 3) },
        })
        : HttpResponse.json([]);
    }));
    expect(await (await connect()).get('/clients')).toEqual([]);
    expect(calls).toBe(2);
    expect(time.sleeps).toHaveLength(1);
    expect(time.sleeps[0]).toBeGreaterThanOrEqual(2_000);
    expect(time.sleeps[0]).toBeLessThanOrEqual(3_000);
  });

  it('a 429 that does not end within the budget → mgmt_rate_limited, exit 5, when the time budget is spent', async () => {
    const { time, connect } = client();
    let calls = 0;
    server.use(http.get(`${DOMAIN}/api/v2/clients`, () => {
      calls++;
      return HttpResponse.json({ statusCode: 429, error: 'Too Many Requests', message: 'slow down' }, { status: 429, headers: { 'retry-after': '5' } });
    }));
    const e = (await (await connect()).get('/clients').catch((x: unknown) => x)) as ManagementApiError;
    expect(e.code).toBe('mgmt_rate_limited');
    expect(e.exitCode).toBe(5);
    // Waits of 5 s from 0 s: attempts at 0, 5, …, 25 s; at 25 s only 4 s of the 30 s are left to wait.
    expect(calls).toBe(6);
    expect(time.sleeps.every((ms) => ms >= 5_000)).toBe(true);
  });

  it('a 5xx is retried for a GET or PATCH, never for a POST', async () => {
    let gets = 0;
    let posts = 0;
    server.use(
      http.get(`${DOMAIN}/api/v2/clients`, () => (++gets < 3 ? HttpResponse.json({ statusCode: 503 }, { status: 503 }) : HttpResponse.json([]))),
      http.post(`${DOMAIN}/api/v2/clients`, () => {
        posts++;
        return HttpResponse.json({ statusCode: 500, error: 'Internal Server Error', message: 'boom' }, { status: 500 });
      }),
    );
    const mc = await client().connect();
    expect(await mc.get('/clients')).toEqual([]);
    expect(gets).toBe(3);
    const e = (await mc.post('/clients', { name: 'x' }).catch((x: unknown) => x)) as ManagementApiError;
    expect([e.code, e.exitCode, posts]).toEqual(['mgmt_unavailable', 4, 1]);
    expect(mc.writes).toBe(1);
  });

  it('the token and client secret are removed from the tenant\'s text', async () => {
    server.use(
      http.post(`${DOMAIN}/oauth/token`, () => HttpResponse.json({ access_token: TOKEN })),
      http.get(`${DOMAIN}/api/v2/clients`, api(400, { statusCode: 400, error: 'Bad Request', message: `bad ${TOKEN} and ${SECRET}` })),
    );
    const mc = await client({ kind: 'client', clientId: 'm2m', clientSecret: new Secret(SECRET) }).connect();
    const e = await mc.get('/clients').catch((x: unknown) => x);
    expect((e as OmniAuthError).code).toBe('mgmt_refused');
    expect((e as OmniAuthError).message).toContain('[redacted]');
    noSecretsIn(e);
  });

  it('a 404 is "none" for find()', async () => {
    server.use(http.get(`${DOMAIN}/api/v2/resource-servers/x`, api(404, { statusCode: 404, error: 'Not Found', message: 'nope', errorCode: 'inexistent_resource_server' })));
    expect(await (await client().connect()).find('/resource-servers/x')).toBeUndefined();
  });
});

describe('the Token Exchange Profiles API refusing (plans, limits)', () => {
  const PROFILES = `${DOMAIN}/api/v2/token-exchange-profiles`;
  const refusal = async (run: (mc: ManagementClient) => Promise<unknown>): Promise<ManagementApiError> =>
    (await run(await client().connect()).catch((x: unknown) => x)) as ManagementApiError;

  it('a 403 that is neither a missing scope nor the limit → cte_unavailable (exit 3): the tenant may lack Custom Token Exchange, and which plans have it', async () => {
    server.use(http.get(PROFILES, api(403, { statusCode: 403, error: 'Forbidden', message: 'This feature is not enabled for this tenant.', errorCode: 'operation_not_supported' })));
    const e = await refusal((mc) => mc.get('/token-exchange-profiles', { take: 100 }));
    expect([e.code, e.exitCode]).toEqual(['cte_unavailable', 3]);
    expect(e.hint).toMatch(/may lack Custom Token Exchange/);
    expect(e.hint).toMatch(/Early Access.*B2C Professional, B2B Professional and Enterprise/);
    expect(e.hint).toMatch(/ask(s)? Auth0/);
  });

  it('a 404 for the collection itself → cte_unavailable; a 404 for one profile stays "none"', async () => {
    server.use(
      http.get(PROFILES, api(404, { statusCode: 404, error: 'Not Found', message: 'Not Found' })),
      http.get(`${PROFILES}/tep_1`, api(404, { statusCode: 404, error: 'Not Found', message: 'not found' })),
    );
    const e = await refusal((mc) => mc.get('/token-exchange-profiles', { take: 100 }));
    expect(e.code).toBe('cte_unavailable');
    expect(await (await client().connect()).find('/token-exchange-profiles/tep_1')).toBeUndefined();
  });

  it('403 insufficient_scope on the profiles API is still the missing scope', async () => {
    server.use(http.get(PROFILES, api(403, { statusCode: 403, message: 'Insufficient scope, expected any of: read:token_exchange_profiles', errorCode: 'insufficient_scope' })));
    const e = await refusal((mc) => mc.get('/token-exchange-profiles'));
    expect(e.code).toBe('mgmt_insufficient_scope');
  });

  it('the profile limit (403 on POST) → profile_limit with what to delete', async () => {
    server.use(http.post(PROFILES, api(403, { statusCode: 403, error: 'Forbidden', message: 'The tenant already has the maximum of 100 token exchange profiles.' })));
    const e = await refusal((mc) => mc.post('/token-exchange-profiles', { name: 'x' }));
    expect([e.code, e.exitCode]).toEqual(['profile_limit', 3]);
    expect(e.hint).toMatch(/limit of Token Exchange Profiles \(100\).*DELETE \/api\/v2\/token-exchange-profiles/);
  });

  it('other APIs\' 403/404 are unchanged', async () => {
    server.use(http.get(`${DOMAIN}/api/v2/clients/x`, api(403, { statusCode: 403, message: 'nope' })));
    const e = await refusal((mc) => mc.get('/clients/x'));
    expect(e.code).toBe('mgmt_refused');
  });
});
