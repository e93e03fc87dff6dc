/** exchangeToken / refreshToken / revokeRefreshToken against an msw-mocked Auth0 token endpoint. */
import { randomBytes } from 'node:crypto';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exchangeToken, refreshToken, revokeRefreshToken, TOKEN_EXCHANGE_GRANT, type ExchangeOptions } from '../../src/exchange/exchange.js';
import { ExitCode, OmniAuthError } from '../../src/util/errors.js';
import { Secret } from '../../src/util/secret.js';
import { fakeTime, fetchTransport, oauthError, ok, sequence, subjectTokenMinter } from './helpers.js';

const DOMAIN = 'https://tenant.eu.auth0.com';
const TOKEN_URL = `${DOMAIN}/oauth/token`;
const REVOKE_URL = `${DOMAIN}/oauth/revoke`;
const CLIENT_SECRET = `cs_${randomBytes(30).toString('base64url')}`;

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function setup(overrides: Partial<ExchangeOptions> = {}) {
  const time = fakeTime();
  const minter = subjectTokenMinter();
  const options: ExchangeOptions = {
    domain: DOMAIN,
    clientId: 'client-123',
    audience: 'https://mcp.example.com',
    scope: 'openid offline_access',
    subjectTokenType: 'urn:omnispindle:local-auth',
    mintSubjectToken: minter.mint,
    transport: fetchTransport,
    retry: { sleep: time.sleep, now: time.now, random: () => 0.5 },
    ...overrides,
  };
  return { options, time, minter };
}

async function failure(promise: Promise<unknown>): Promise<OmniAuthError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OmniAuthError);
  return error as OmniAuthError;
}

/** Everything a user or a log could see of an error. */
const visible = (e: OmniAuthError): string => `${e.message}\n${e.hint ?? ''}\n${JSON.stringify(e)}\n${String(e)}`;

describe('the exchange request', () => {
  it('sends the token-exchange form, never requested_token_type, no client_secret for a public client', async () => {
    const { handler, calls } = sequence(TOKEN_URL, ok({ scope: 'openid', refresh_token: 'rt-1' }));
    server.use(handler);
    const { options, minter } = setup();
    const response = await exchangeToken(options);

    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(calls[0]!.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: minter.minted[0],
      subject_token_type: 'urn:omnispindle:local-auth',
      client_id: 'client-123',
      audience: 'https://mcp.example.com',
      scope: 'openid offline_access',
    });
    expect(form.has('requested_token_type')).toBe(false);
    expect(form.has('client_secret')).toBe(false);
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 86_400, scope: 'openid', refresh_token: 'rt-1' });
    expect(response.access_token).toMatch(/^at-/);
  });

  it('sends client_secret only when one is given', async () => {
    const { handler, calls } = sequence(TOKEN_URL, ok());
    server.use(handler);
    await exchangeToken(setup({ clientSecret: new Secret(CLIENT_SECRET) }).options);
    const form = new URLSearchParams(calls[0]!.body);
    expect(form.get('client_secret')).toBe(CLIENT_SECRET);
    expect(form.has('requested_token_type')).toBe(false);
  });

  it('reaches the emulator over http:// on loopback', async () => {
    const { handler, calls } = sequence('http://127.0.0.1:4321/oauth/token', ok());
    server.use(handler);
    await exchangeToken(setup({ domain: 'http://127.0.0.1:4321' }).options);
    expect(calls).toHaveLength(1);
  });

  it('refuses http:// to a host that is not loopback, before anything is sent', async () => {
    const { handler, calls } = sequence('http://tenant.eu.auth0.com/oauth/token', ok());
    server.use(handler);
    const e = await failure(exchangeToken(setup({ domain: 'http://tenant.eu.auth0.com' }).options));
    expect(e.code).toBe('insecure_url');
    expect(e.exitCode).toBe(ExitCode.usage);
    expect(calls).toHaveLength(0);
  });
});

describe('retries', () => {
  it('429 with Retry-After: waits that long plus full jitter (below the first backoff ceiling), then retries with a NEW subject token', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(429, 'too_many_requests', 'Rate limit', { 'Retry-After': '3' }), ok());
    server.use(handler);
    const { options, time, minter } = setup();
    await exchangeToken(options);

    expect(calls).toHaveLength(2);
    expect(time.sleeps).toHaveLength(1);
    expect(time.sleeps[0]).toBeGreaterThanOrEqual(3_000);
    expect(time.sleeps[0]).toBeLessThanOrEqual(3_000 + 500);
    const sent = calls.map((c) => new URLSearchParams(c.body).get('subject_token'));
    expect(minter.minted).toHaveLength(2);
    expect(sent).toEqual(minter.minted);
    expect(sent[0]).not.toBe(sent[1]);
  });

  it('429 with only X-RateLimit-Reset: waits until the reset (relative to now) plus jitter', async () => {
    const { options, time } = setup();
    const reset = Math.floor(time.now() / 1000) + 7;
    const { handler, calls } = sequence(TOKEN_URL, oauthError(429, 'too_many_requests', 'Rate limit', {
      'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(reset),
    }), ok());
    server.use(handler);
    await exchangeToken(options);
    expect(calls).toHaveLength(2);
    expect(time.sleeps).toHaveLength(1);
    expect(time.sleeps[0]).toBeGreaterThanOrEqual(7_000);
    expect(time.sleeps[0]).toBeLessThanOrEqual(7_500);
  });

  it('429 asking for a wait beyond the budget: rate_limited (exit 5) at once, no sleep', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(429, 'too_many_requests', 'Global limit has been reached', { 'Retry-After': '120' }));
    server.use(handler);
    const { options, time } = setup();
    const e = await failure(exchangeToken(options));
    expect(e.code).toBe('rate_limited');
    expect(e.exitCode).toBe(ExitCode.rateLimited);
    expect(e.hint).toMatch(/about 120 s/);
    expect(e.hint).toMatch(/retry budget \(30 s\) ran out/);
    expect(e.hint).toMatch(/OMNI_AUTH_RETRY_BUDGET/);
    expect(e.details).toMatchObject({ status: 429, error: 'too_many_requests', retry_after_seconds: 120 });
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('a 429 that keeps coming stops within the time budget', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(429, 'too_many_requests', 'Rate limit', { 'Retry-After': '12' }));
    server.use(handler);
    const { options, time } = setup();
    const e = await failure(exchangeToken(options));
    expect(e.code).toBe('rate_limited');
    // 12.25 s + 12.5 s fit in the 29 s the 30 s budget leaves for waiting; a third 12 s would not.
    expect(time.sleeps).toEqual([12_250, 12_500]);
    expect(calls).toHaveLength(3);
    expect(e.exitCode).toBe(ExitCode.rateLimited);
    expect(e.hint).toMatch(/OMNI_AUTH_RETRY_BUDGET/);
  });

  it('503 temporarily_unavailable, then success: one short backoff', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(503, 'temporarily_unavailable', 'try later'), ok());
    server.use(handler);
    const { options, time, minter } = setup();
    await exchangeToken(options);
    expect(calls).toHaveLength(2);
    expect(time.sleeps).toEqual([250]); // random 0.5 × base 500 ms
    expect(minter.minted).toHaveLength(2);
  });

  it('500 every time: tenant_error (exit 4) after the bounded number of attempts', async () => {
    const { handler, calls } = sequence(TOKEN_URL, () => HttpResponse.text('<html>oops</html>', { status: 500 }));
    server.use(handler);
    const { options, time } = setup();
    const e = await failure(exchangeToken(options));
    expect(e.code).toBe('tenant_error');
    expect(e.exitCode).toBe(ExitCode.unreachable);
    expect(e.message).toMatch(/HTTP 500.*after 4 attempts/);
    expect(calls).toHaveLength(4);
    expect(time.sleeps).toEqual([250, 500, 1_000]);
  });

  it('500 server_error every time (the Action denied): action_failed (exit 3) after ONE retry, with the description, no token', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(500, 'server_error', 'replay cache could not be written'));
    server.use(handler);
    const { options, time, minter } = setup();
    const e = await failure(exchangeToken(options));
    expect(e.code).toBe('action_failed');
    expect(e.exitCode).toBe(ExitCode.refused);
    expect(e.message).toBe('the Action failed: tenant.eu.auth0.com answered the token exchange with HTTP 500 server_error: replay cache could not be written (after 2 attempts)');
    expect(calls).toHaveLength(2);
    expect(time.sleeps).toEqual([250]);
    // each attempt had its own local token, and none shows
    expect(new Set(minter.minted).size).toBe(2);
    for (const token of minter.minted) expect(visible(e)).not.toContain(token);
  });

  it('500 server_error, then success: the retry gets the token', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(500, 'server_error', 'jwks fetch failed'), ok());
    server.use(handler);
    const response = await exchangeToken(setup().options);
    expect(response.token_type).toBe('Bearer');
    expect(calls).toHaveLength(2);
  });

  it('a reset connection, then success', async () => {
    const { handler, calls } = sequence(TOKEN_URL, () => HttpResponse.error(), ok());
    server.use(handler);
    const { options, minter } = setup();
    const response = await exchangeToken(options);
    expect(response.token_type).toBe('Bearer');
    expect(calls).toHaveLength(2);
    expect(new Set(minter.minted).size).toBe(2);
  });

  it('a network failure every time: tenant_unreachable (exit 4) naming the host', async () => {
    const { handler, calls } = sequence(TOKEN_URL, () => HttpResponse.error());
    server.use(handler);
    const e = await failure(exchangeToken(setup().options));
    expect(e.code).toBe('tenant_unreachable');
    expect(e.exitCode).toBe(ExitCode.unreachable);
    expect(e.message).toContain('tenant.eu.auth0.com');
    expect(calls).toHaveLength(4);
  });

  it('a truncated JSON body is a server fault: retried', async () => {
    const { handler, calls } = sequence(TOKEN_URL, () => new HttpResponse('{"access_token":"eyJhbGciOiJSUzI1', {
      status: 200, headers: { 'content-type': 'application/json' },
    }), ok());
    server.use(handler);
    const response = await exchangeToken(setup().options);
    expect(response.expires_in).toBe(86_400);
    expect(calls).toHaveLength(2);
  });

  it('a truncated JSON body every time: tenant_bad_response (exit 4), without the body in the message', async () => {
    const { handler, calls } = sequence(TOKEN_URL, () => new HttpResponse('{"access_token":"eyJhbGciOiJSUzI1', { status: 200 }));
    server.use(handler);
    const e = await failure(exchangeToken(setup().options));
    expect(e.code).toBe('tenant_bad_response');
    expect(e.exitCode).toBe(ExitCode.unreachable);
    expect(visible(e)).not.toContain('eyJhbGciOiJSUzI1');
    expect(calls).toHaveLength(4);
  });
});

describe('refusals are classified and never retried', () => {
  const cases: Array<{ name: string; reply: () => Response; code: string; exit: ExitCode; hint: RegExp; message?: RegExp }> = [
    { name: 'consent_required', reply: oauthError(403, 'consent_required', 'Consent required'), code: 'consent_required', exit: 3, hint: /Allow Skipping User Consent.*https:\/\/mcp\.example\.com/ },
    { name: 'consent as Auth0 documents it (invalid_request, consent_required description)', reply: oauthError(400, 'invalid_request', 'consent_required: Consent required'), code: 'consent_required', exit: 3, hint: /Allow Skipping User Consent.*https:\/\/mcp\.example\.com/ },
    { name: 'mfa_required (a post-login Action or MFA policy)', reply: () => HttpResponse.json({ error: 'mfa_required', error_description: 'Multifactor authentication required', mfa_token: 'mfa-tok-SECRET-123' }, { status: 403 }), code: 'mfa_required', exit: 3, hint: /oauth2-token-exchange/, message: /^MFA was required for this exchange: .*403 mfa_required/ },
    { name: 'unauthorized_client', reply: oauthError(403, 'unauthorized_client', 'Custom Token Exchange is not enabled for this client.'), code: 'unauthorized_client', exit: 3, hint: /token exchange is not enabled.*omni-auth setup/i },
    { name: 'no profile (emulator text)', reply: oauthError(400, 'invalid_request', 'No Token Exchange Profile matches the subject_token_type.'), code: 'no_profile', exit: 3, hint: /urn:omnispindle:local-auth.*omni-auth setup/ },
    { name: 'no profile (other wording)', reply: oauthError(400, 'invalid_request', 'Unsupported subject_token_type: urn:omnispindle:local-auth'), code: 'no_profile', exit: 3, hint: /omni-auth setup/ },
    { name: 'the Action refused the local token', reply: oauthError(400, 'invalid_request', 'jti already used'), code: 'local_token_refused', exit: 3, hint: /refused this machine's local token/, message: /invalid_request: jti already used/ },
    { name: 'the Action refused a signature that mentions the type', reply: oauthError(400, 'invalid_request', 'subject_token signature invalid for subject_token_type urn:x'), code: 'local_token_refused', exit: 3, hint: /local token/ },
    { name: 'access_denied', reply: oauthError(400, 'access_denied', 'key is not on the allow-list'), code: 'access_denied', exit: 3, hint: /allow-list/, message: /access_denied: key is not on the allow-list/ },
    { name: 'invalid_client', reply: oauthError(401, 'invalid_client', 'Unknown client.'), code: 'invalid_client', exit: 3, hint: /client id or client secret/ },
    { name: 'too_many_attempts', reply: oauthError(429, 'too_many_attempts', 'We have detected suspicious login behavior'), code: 'throttled', exit: 5, hint: /Suspicious IP Throttling/ },
    { name: 'an unknown error code', reply: oauthError(400, 'weird_error', 'what'), code: 'tenant_refused', exit: 3, hint: /tenant\.eu\.auth0\.com/ },
    { name: 'a 404 HTML page', reply: () => HttpResponse.text('<h1>Not found</h1>', { status: 404 }), code: 'tenant_refused', exit: 3, hint: /Auth0 tenant's domain/, message: /HTTP 404$/ },
  ];

  it.each(cases)('$name → $code (exit $exit), one call, no sleep', async ({ reply, code, exit, hint, message }) => {
    const { handler, calls } = sequence(TOKEN_URL, reply, ok());
    server.use(handler);
    const { options, time } = setup();
    const e = await failure(exchangeToken(options));
    expect(e.code).toBe(code);
    expect(e.exitCode).toBe(exit);
    expect(e.hint).toMatch(hint);
    expect(e.message).toContain('tenant.eu.auth0.com');
    if (message) expect(e.message).toMatch(message);
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
    expect(visible(e)).not.toContain('mfa-tok-SECRET-123');
  });

  it('a 200 without an access token is tenant_bad_response (exit 4), not retried', async () => {
    const { handler, calls } = sequence(TOKEN_URL, () => HttpResponse.json({ token_type: 'Bearer', expires_in: 60 }));
    server.use(handler);
    const e = await failure(exchangeToken(setup().options));
    expect(e.code).toBe('tenant_bad_response');
    expect(e.message).toMatch(/"access_token"/);
    expect(calls).toHaveLength(1);
  });

  it('a DPoP token is refused: this CLI hands out Bearer tokens', async () => {
    server.use(sequence(TOKEN_URL, ok({ token_type: 'DPoP' })).handler);
    const e = await failure(exchangeToken(setup().options));
    expect(e.code).toBe('tenant_bad_response');
    expect(e.message).toMatch(/token_type/);
  });
});

describe('no secret ever reaches an error', () => {
  it('a tenant that echoes the subject token and the client secret', async () => {
    let echoed = '';
    server.use(http.post(TOKEN_URL, async ({ request }) => {
      const form = new URLSearchParams(await request.text());
      echoed = `bad token ${form.get('subject_token')} for secret ${form.get('client_secret')} \u001b[31m`;
      return HttpResponse.json({ error: 'invalid_request', error_description: echoed }, { status: 400 });
    }));
    const { options, minter } = setup({ clientSecret: new Secret(CLIENT_SECRET) });
    const e = await failure(exchangeToken(options));
    expect(echoed).toContain(minter.minted[0]);
    const seen = visible(e);
    expect(seen).not.toContain(minter.minted[0]);
    expect(seen).not.toContain(CLIENT_SECRET);
    expect(seen).not.toContain('\u001b');
    expect(e.message).toContain('[redacted]');
  });

  it('after retries, every minted subject token is redacted, and so are token-shaped strings', async () => {
    const leaked: string[] = [];
    server.use(http.post(TOKEN_URL, async ({ request }) => {
      leaked.push(new URLSearchParams(await request.text()).get('subject_token')!);
      return HttpResponse.json({ error: 'temporarily_unavailable', error_description: `busy; earlier: ${leaked.join(' ')}` }, { status: 503 });
    }));
    const { options } = setup({ clientSecret: new Secret(CLIENT_SECRET) });
    const e = await failure(exchangeToken(options));
    expect(leaked).toHaveLength(4);
    const seen = visible(e);
    for (const token of leaked) expect(seen).not.toContain(token);
    expect(seen).not.toContain(CLIENT_SECRET);
  });

  it('a refused refresh never shows the refresh token; an access token in a description is redacted', async () => {
    const refresh = `v1.${randomBytes(40).toString('base64url')}`;
    const access = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(30).toString('base64url')}.${randomBytes(30).toString('base64url')}`;
    server.use(sequence(TOKEN_URL, oauthError(403, 'invalid_grant', `Unknown or invalid refresh token ${refresh} (was ${access})`)).handler);
    const e = await failure(refreshToken({
      domain: DOMAIN, clientId: 'client-123', clientSecret: new Secret(CLIENT_SECRET), refreshToken: new Secret(refresh),
      transport: fetchTransport, retry: fakeTime(),
    }));
    expect(e.code).toBe('refresh_token_invalid');
    expect(e.exitCode).toBe(ExitCode.refused);
    const seen = visible(e);
    expect(seen).not.toContain(refresh);
    expect(seen).not.toContain(access);
  });

  it('a network failure\'s error holds no subject token or client secret', async () => {
    const { handler } = sequence(TOKEN_URL, () => HttpResponse.error());
    server.use(handler);
    const { options, minter } = setup({ clientSecret: new Secret(CLIENT_SECRET) });
    const e = await failure(exchangeToken(options));
    const seen = visible(e);
    for (const token of minter.minted) expect(seen).not.toContain(token);
    expect(seen).not.toContain(CLIENT_SECRET);
  });
});

describe('refreshToken', () => {
  it('sends the refresh_token grant, with scope, and client_secret only when given', async () => {
    const { handler, calls } = sequence(TOKEN_URL, ok());
    server.use(handler);
    await refreshToken({ domain: DOMAIN, clientId: 'client-123', refreshToken: new Secret('rt-xyz'), scope: 'openid', transport: fetchTransport });
    await refreshToken({ domain: DOMAIN, clientId: 'client-123', clientSecret: new Secret(CLIENT_SECRET), refreshToken: new Secret('rt-xyz'), transport: fetchTransport });
    expect(Object.fromEntries(new URLSearchParams(calls[0]!.body))).toEqual({
      grant_type: 'refresh_token', client_id: 'client-123', refresh_token: 'rt-xyz', scope: 'openid',
    });
    expect(Object.fromEntries(new URLSearchParams(calls[1]!.body))).toEqual({
      grant_type: 'refresh_token', client_id: 'client-123', refresh_token: 'rt-xyz', client_secret: CLIENT_SECRET,
    });
  });

  it('retries a 503 like the exchange does', async () => {
    const { handler, calls } = sequence(TOKEN_URL, oauthError(503, 'temporarily_unavailable'), ok());
    server.use(handler);
    const time = fakeTime();
    await refreshToken({ domain: DOMAIN, clientId: 'c', refreshToken: new Secret('rt'), transport: fetchTransport, retry: time });
    expect(calls).toHaveLength(2);
    expect(time.sleeps).toHaveLength(1);
  });
});

describe('revokeRefreshToken', () => {
  it('POSTs JSON to /oauth/revoke and reports success', async () => {
    const calls: Array<{ type: string | null; body: unknown }> = [];
    server.use(http.post(REVOKE_URL, async ({ request }) => {
      calls.push({ type: request.headers.get('content-type'), body: await request.json() });
      return new HttpResponse(null, { status: 200 });
    }));
    const outcome = await revokeRefreshToken({ domain: DOMAIN, clientId: 'client-123', token: new Secret('rt-1'), transport: fetchTransport });
    expect(outcome).toEqual({ revoked: true });
    expect(calls).toEqual([{ type: 'application/json', body: { client_id: 'client-123', token: 'rt-1' } }]);
  });

  it('returns (does not throw) a refusal or a network failure, without the token', async () => {
    server.use(sequence(REVOKE_URL, oauthError(401, 'invalid_client', 'bad secret'), () => HttpResponse.error()).handler);
    const opts = { domain: DOMAIN, clientId: 'c', clientSecret: new Secret(CLIENT_SECRET), token: new Secret('rt-secret-1'), transport: fetchTransport };
    const refused = await revokeRefreshToken(opts);
    const unreachable = await revokeRefreshToken(opts);
    expect(refused.revoked).toBe(false);
    expect(unreachable.revoked).toBe(false);
    if (refused.revoked || unreachable.revoked) return;
    expect(refused.error.code).toBe('invalid_client');
    expect(unreachable.error.code).toBe('tenant_unreachable');
    for (const e of [refused.error, unreachable.error]) {
      expect(visible(e)).not.toContain('rt-secret-1');
      expect(visible(e)).not.toContain(CLIENT_SECRET);
    }
  });
});
