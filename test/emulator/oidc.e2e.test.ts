/**
 * The emulator's OIDC surface and HTTP behaviour: discovery, JWKS, /userinfo, request validation
 * of /oauth/token, body parsing, statistics, control endpoints and shutdown.
 */
import { request } from 'undici';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { SUBJECT_TOKEN_TYPE } from '../../src/identity/local-token.js';
import { TOKEN_EXCHANGE, call, exchange, managementToken, mint, newKey } from './helpers.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

describe('discovery', () => {
  it('serves the OpenID configuration of the loopback issuer', async () => {
    const res = await call(emu, 'GET', '/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(emu.domain).toBe(`http://127.0.0.1:${emu.port}`);
    expect(res.body).toMatchObject({
      issuer: `http://127.0.0.1:${emu.port}/`,
      token_endpoint: `${emu.issuer}oauth/token`,
      jwks_uri: `${emu.issuer}.well-known/jwks.json`,
      userinfo_endpoint: `${emu.issuer}userinfo`,
      revocation_endpoint: `${emu.issuer}oauth/revoke`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(res.body.grant_types_supported).toContain(TOKEN_EXCHANGE);
  });

  it('serves the signing key as a JWKS with public members only', async () => {
    const res = await call(emu, 'GET', '/.well-known/jwks.json');
    expect(res.body.keys).toHaveLength(1);
    expect(res.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: emu.tenant.signingKey.kid });
    expect(res.body.keys[0].d).toBeUndefined();
  });
});

describe('/userinfo', () => {
  it('returns the profile of the access token\'s user', async () => {
    const key = await newKey();
    const tokens = await exchange(emu, await mint(emu, key), { scope: 'openid profile' });
    expect(tokens.status).toBe(200);
    const res = await call(emu, 'GET', '/userinfo', { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: `auth0|omni-${key.thumbprint}`, name: 'alice@devbox', nickname: 'alice' });
  });

  it('answers 401 without a token, with a token lacking the userinfo audience, and with garbage', async () => {
    const noOpenid = await exchange(emu, await mint(emu, await newKey()));
    for (const authorization of [undefined, `Bearer ${noOpenid.body.access_token}`, `Bearer ${await managementToken(emu)}`, 'Bearer abc.def.ghi']) {
      const res = await call(emu, 'GET', '/userinfo', authorization ? { headers: { authorization } } : {});
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_token');
    }
  });
});

describe('/oauth/token request validation', () => {
  const base = () => ({ grant_type: TOKEN_EXCHANGE, client_id: emu.info().client_id, subject_token_type: SUBJECT_TOKEN_TYPE, subject_token: 'x' });
  const post = (form: Record<string, string>) => call(emu, 'POST', '/oauth/token', { form });

  it.each([
    ['no subject_token', { subject_token: '' }, 400, 'invalid_request', 'Missing required parameter: subject_token'],
    ['no subject_token_type', { subject_token_type: '' }, 400, 'invalid_request', 'Missing required parameter: subject_token_type'],
    ['a requested_token_type', { requested_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, 400, 'invalid_request',
      'Invalid subject_token_type and requested_token_type combination.'],
    ['a reserved namespace', { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, 400, 'invalid_request',
      'Invalid subject_token_type: it uses a reserved namespace.'],
    ['a non-URI type', { subject_token_type: 'http://example.com/token' }, 400, 'invalid_request',
      'Invalid subject_token_type: it must start with https:// or urn:.'],
    ['an unknown profile', { subject_token_type: 'urn:example:other' }, 400, 'invalid_request',
      'No Token Exchange Profile matches the subject_token_type.'],
    ['an unknown client', { client_id: 'nobody' }, 401, 'invalid_client', 'Unknown client.'],
    ['an unknown audience', { audience: 'https://nowhere.example/' }, 403, 'access_denied', 'Service not found: https://nowhere.example/'],
    ['an actor_token without its type', { actor_token: 'a' }, 400, 'invalid_request', 'actor_token and actor_token_type must be sent together.'],
  ] as const)('refuses %s', async (_name, change, status, error, description) => {
    const res = await post({ ...base(), ...change });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error, error_description: description });
  });

  it('refuses a missing or unsupported grant type', async () => {
    expect((await post({})).body).toEqual({ error: 'invalid_request', error_description: 'Missing required parameter: grant_type' });
    const res = await post({ grant_type: 'password' });
    expect([res.status, res.body.error]).toEqual([400, 'unsupported_grant_type']);
  });

  it('makes a confidential client authenticate for the exchange', async () => {
    const { management } = emu.info();
    const res = await post({ ...base(), client_id: management.client_id });
    expect([res.status, res.body.error]).toEqual([401, 'invalid_client']);
  });

  it('accepts a JSON body as well as a form', async () => {
    const res = await call(emu, 'POST', '/oauth/token', {
      json: { ...base(), subject_token: await mint(emu, await newKey()), audience: emu.info().audience },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('uses the default audience when none is given', async () => {
    const res = await post({ ...base(), subject_token: await mint(emu, await newKey()) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims.aud).toBe(emu.info().audience);
  });
});

describe('HTTP plumbing', () => {
  it('answers malformed and oversized bodies in the style of the API called', async () => {
    const badOauth = await call(emu, 'POST', '/oauth/token', { raw: '{"grant_type":', contentType: 'application/json' });
    expect(badOauth.status).toBe(400);
    expect(badOauth.body.error).toBe('invalid_request');
    const badMgmt = await call(emu, 'POST', '/api/v2/actions/actions', { raw: '{nope', contentType: 'application/json' });
    expect(badMgmt.status).toBe(400);
    expect(badMgmt.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const dup = await call(emu, 'POST', '/oauth/token', { raw: 'grant_type=a&grant_type=b', contentType: 'application/x-www-form-urlencoded' });
    expect([dup.status, dup.body.error]).toEqual([400, 'invalid_request']);
    const huge = await call(emu, 'POST', '/oauth/token', { form: { grant_type: 'x', padding: 'a'.repeat(1_100_000) } });
    expect(huge.status).toBe(413);
  });

  it('answers unknown paths with a JSON 404', async () => {
    const res = await call(emu, 'GET', '/no-such-endpoint');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Not Found' });
  });

  it('counts requests per method and path (ids kept, query dropped), but not the stats request', async () => {
    const before = (await call(emu, 'GET', '/__emulator/stats')).body.requests as Record<string, number>;
    await call(emu, 'GET', '/.well-known/jwks.json?x=1');
    await call(emu, 'GET', '/.well-known/jwks.json');
    await call(emu, 'GET', '/api/v2/clients/some-id');
    const after = (await call(emu, 'GET', '/__emulator/stats')).body.requests as Record<string, number>;
    expect(after['GET /.well-known/jwks.json']).toBe((before['GET /.well-known/jwks.json'] ?? 0) + 2);
    expect(after['GET /api/v2/clients/some-id']).toBe((before['GET /api/v2/clients/some-id'] ?? 0) + 1);
    expect(after['GET /__emulator/stats']).toBeUndefined();
  });

  it('patches settings through the control endpoint and refuses unknown ones', async () => {
    const ok = await call(emu, 'POST', '/__emulator/settings', { json: { actionTimeoutMs: 15_000 } });
    expect(ok.status).toBe(200);
    expect(ok.body.actionTimeoutMs).toBe(15_000);
    expect(emu.tenant.settings.actionTimeoutMs).toBe(15_000);
    const bad = await call(emu, 'POST', '/__emulator/settings', { json: { warpSpeed: 9 } });
    expect([bad.status, bad.body.error]).toEqual([400, 'invalid_request']);
    const negative = await call(emu, 'POST', '/__emulator/settings', { json: { exchangeRatePerSecond: -1 } });
    expect(negative.status).toBe(400);
  });

  it('closes promptly even with a keep-alive connection open, and one in the middle of a request', async () => {
    const other = await startEmulator();
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    const res = await request(`${other.domain}/.well-known/jwks.json`, { dispatcher: agent });
    await res.body.text();
    // A request whose body never completes: close() must not wait for it (Node's requestTimeout is 300 s).
    const { connect } = await import('node:net');
    const { port } = new URL(other.domain);
    const stuck = connect(Number(port), '127.0.0.1');
    await new Promise((r) => stuck.once('connect', r));
    const cut = new Promise((r) => stuck.once('close', r));
    stuck.on('error', () => {});
    stuck.write('POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    await other.close(); // resolves (within the test's timeout) only if the server cuts both connections
    await cut;
    await expect(request(`${other.domain}/.well-known/jwks.json`)).rejects.toThrow();
    await agent.close();
  });
});
