/**
 * Browser sign-in on the emulator (Authorization Code Flow with PKCE), driven by a client nobody
 * here wrote — panva's oauth4webapi — with the sign-in page filled in over plain HTTP.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { call, control, managementToken } from './helpers.js';
import { createPerson, openAuthorize, postForm, registerCallback, setBlocked, signInOnPage, transactionOf } from './signin-helpers.js';

const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };
const CALLBACK = 'http://127.0.0.1:41234/callback';

let emu: Emulator;
let as: oauth.AuthorizationServer;
let client: oauth.Client;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, users: [ALICE] });
  await registerCallback(emu, CALLBACK);
  const issuer = new URL(emu.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }));
  client = { client_id: emu.info().client_id };
});
afterAll(async () => {
  await emu?.close();
});

interface Started {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function authorizeUrl(o: { redirectUri?: string; scope?: string; extra?: Record<string, string> } = {}): Promise<Started> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint!);
  const params: Record<string, string> = {
    client_id: client.client_id, redirect_uri: o.redirectUri ?? CALLBACK, response_type: 'code',
    scope: o.scope ?? 'openid profile email offline_access', audience: emu.info().audience, state, nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...o.extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { url, verifier, state, nonce };
}

async function redeem(started: Started, location: string, verifier = started.verifier): Promise<Response> {
  const params = oauth.validateAuthResponse(as, client, new URL(location), started.state);
  return oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, CALLBACK, verifier, { [oauth.allowInsecureRequests]: true });
}

const query = (location: string | undefined): URLSearchParams => new URL(location!).searchParams;

describe('discovery', () => {
  it('announces the authorization endpoint, the code grant and S256 only', () => {
    expect(as.authorization_endpoint).toBe(`${emu.issuer}authorize`);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.grant_types_supported).toContain('authorization_code');
  });
});

describe('the whole flow with oauth4webapi', () => {
  it('signs in on the page and gets an ID token with nonce, auth_time, sub and aud, an access token for the API, and a refresh token', async () => {
    const started = await authorizeUrl();
    const done = await signInOnPage(started.url, ALICE);
    expect(done.status).toBe(302);
    expect(done.location!.startsWith(`${CALLBACK}?`)).toBe(true);
    expect(query(done.location).get('state')).toBe(started.state);

    const res = await redeem(started, done.location!);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: started.nonce, requireIdToken: true });
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    const alice = [...emu.tenant.users.values()].find((u) => u.email === ALICE.email)!;
    expect(claims).toMatchObject({ iss: emu.issuer, aud: client.client_id, sub: alice.user_id, nonce: started.nonce, email: ALICE.email });
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.auth_time).toBeLessThanOrEqual(claims.iat);
    // The signature, against the tenant's JWKS.
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
    await expect(jwtVerify(tokens.id_token!, jwks, { issuer: emu.issuer, audience: client.client_id })).resolves.toBeTruthy();
    const access = decodeJwt(tokens.access_token);
    expect(access.sub).toBe(alice.user_id);
    expect(access.aud).toContain(emu.info().audience);
    expect(access.azp).toBe(client.client_id);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.scope).toContain('offline_access');

    const refreshed = await oauth.processRefreshTokenResponse(as, client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { [oauth.allowInsecureRequests]: true }));
    expect(decodeJwt(refreshed.access_token).sub).toBe(alice.user_id);
  });

  it('issues no refresh token without offline_access', async () => {
    const started = await authorizeUrl({ scope: 'openid profile' });
    const done = await signInOnPage(started.url, ALICE);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, await redeem(started, done.location!), { expectedNonce: started.nonce });
    expect(tokens.refresh_token).toBeUndefined();
  });
});

describe('the authorization_code grant', () => {
  it('redeems a code once: the second time is 403 invalid_grant', async () => {
    const started = await authorizeUrl();
    const done = await signInOnPage(started.url, ALICE);
    expect((await redeem(started, done.location!)).status).toBe(200);
    const again = await redeem(started, done.location!);
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid authorization code' });
  });

  it('verifies PKCE S256: another verifier is 403 invalid_grant, and the code is spent', async () => {
    const started = await authorizeUrl();
    const done = await signInOnPage(started.url, ALICE);
    const wrong = await redeem(started, done.location!, oauth.generateRandomCodeVerifier());
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ error: 'invalid_grant', error_description: 'Failed to verify code verifier' });
    expect((await redeem(started, done.location!)).status).toBe(403);
  });

  it('needs the redirect_uri of the authorization request', async () => {
    const started = await authorizeUrl();
    const done = await signInOnPage(started.url, ALICE);
    const code = query(done.location).get('code')!;
    const res = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'authorization_code', client_id: client.client_id, code, code_verifier: started.verifier, redirect_uri: 'http://127.0.0.1:41234/other' },
    });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('invalid_grant');
  });
});

describe('the sign-in page', () => {
  it('is an HTML form with only a transaction id hidden in it, served with a strict CSP', async () => {
    const started = await authorizeUrl();
    const opened = await openAuthorize(started.url);
    expect(opened.status).toBe(200);
    expect(opened.html).toContain('<form method="post" action="/authorize" id="signin">');
    expect(opened.html).toMatch(/<input type="email" id="email" name="email"/);
    expect(opened.html).toMatch(/<input type="password" id="password" name="password"/);
    expect(transactionOf(opened.html)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Nothing of the request is in the page: not the state, the nonce, the challenge.
    for (const secret of [started.state, started.nonce, started.url.searchParams.get('code_challenge')!]) expect(opened.html).not.toContain(secret);
    const res = await fetch(started.url, { redirect: 'manual' });
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:41234");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('shows the page again with "Wrong email or password." on a wrong password, counts it, and then accepts the right one', async () => {
    const before = (await control(emu, 'GET', 'stats')).body.logins.failed as number;
    const started = await authorizeUrl();
    const tx = transactionOf((await openAuthorize(started.url)).html);
    const wrong = await postForm(started.url, { tx, email: ALICE.email, password: 'not it' });
    expect(wrong.status).toBe(400);
    expect(wrong.location).toBeUndefined();
    expect(wrong.html).toContain('Wrong email or password.');
    expect(wrong.html).not.toContain('not it');
    const unknown = await postForm(started.url, { tx, email: 'nobody@example.com', password: 'x' });
    expect(unknown.html).toContain('Wrong email or password.');
    expect((await control(emu, 'GET', 'stats')).body.logins.failed).toBe(before + 2);
    const right = await postForm(started.url, { tx, email: ALICE.email.toUpperCase(), password: ALICE.password });
    expect(right.status).toBe(302);
    expect(query(right.location).get('code')).toEqual(expect.any(String));
  });

  it('refuses a form posted from another site and an unknown or spent transaction', async () => {
    const started = await authorizeUrl();
    const tx = transactionOf((await openAuthorize(started.url)).html);
    const foreign = await fetch(new URL('/authorize', started.url), {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ tx, ...ALICE }).toString(),
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('location')).toBeNull();
    expect((await postForm(started.url, { tx: 'made-up', ...ALICE })).status).toBe(400);
    expect((await postForm(started.url, { tx, ...ALICE })).status).toBe(302);
    expect((await postForm(started.url, { tx, ...ALICE })).status).toBe(400);
  });
});

describe('errors before the redirect_uri is trusted: a page, never a redirect', () => {
  it('answers an unknown client with an error page', async () => {
    const started = await authorizeUrl({ extra: { client_id: 'no-such-client' } });
    const res = await openAuthorize(started.url);
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.html).toContain('Unknown client: no-such-client');
  });

  it('answers a redirect_uri that is not a callback with "Callback URL mismatch", also for another loopback port (exact match)', async () => {
    for (const uri of ['https://evil.example/callback', 'http://127.0.0.1:41235/callback', 'http://127.0.0.1:41234/callback/']) {
      const res = await openAuthorize((await authorizeUrl({ redirectUri: uri })).url);
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
      expect(res.html).toContain(`Callback URL mismatch. ${uri} is not in the list of allowed callback URLs.`);
    }
  });
});

describe('errors after: a redirect with error and state', () => {
  it.each([
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
    ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['an unknown audience', { audience: 'https://nowhere.example' }, 'access_denied'],
    ['prompt=none (no session)', { prompt: 'none' }, 'login_required'],
  ])('%s → %s', async (_name, extra, error) => {
    const started = await authorizeUrl({ extra: extra as Record<string, string> });
    const res = await openAuthorize(started.url);
    expect(res.status).toBe(302);
    expect(query(res.location).get('error')).toBe(error);
    expect(query(res.location).get('state')).toBe(started.state);
  });

  it('needs PKCE from a public client', async () => {
    const started = await authorizeUrl();
    started.url.searchParams.delete('code_challenge');
    started.url.searchParams.delete('code_challenge_method');
    const res = await openAuthorize(started.url);
    expect(query(res.location).get('error')).toBe('invalid_request');
  });

  it('sends a blocked person back with error=unauthorized "user is blocked"', async () => {
    const bob = await createPerson(emu, { email: 'bob@example.com', password: 'bob-password-1' });
    await setBlocked(emu, bob.user_id, true);
    const started = await authorizeUrl();
    const res = await signInOnPage(started.url, { email: 'bob@example.com', password: 'bob-password-1' });
    expect(res.status).toBe(302);
    expect(Object.fromEntries(query(res.location))).toEqual({ error: 'unauthorized', error_description: 'user is blocked', state: started.state });
    await setBlocked(emu, bob.user_id, false);
    expect(query((await signInOnPage((await authorizeUrl()).url, { email: 'bob@example.com', password: 'bob-password-1' })).location).get('code')).toBeTruthy();
  });

  it('refuses the code and the refresh token of a person blocked after signing in', async () => {
    const carol = await createPerson(emu, { email: 'carol@example.com', password: 'carol-password-1' });
    const started = await authorizeUrl();
    const done = await signInOnPage(started.url, { email: 'carol@example.com', password: 'carol-password-1' });
    const first = await authorizeUrl();
    const tokens = await oauth.processAuthorizationCodeResponse(as, client,
      await redeem(first, (await signInOnPage(first.url, { email: 'carol@example.com', password: 'carol-password-1' })).location!), { expectedNonce: first.nonce });
    await setBlocked(emu, carol.user_id, true);
    const code = await redeem(started, done.location!);
    expect(code.status).toBe(403);
    expect(await code.json()).toEqual({ error: 'access_denied', error_description: 'user is blocked' });
    const refresh = await call(emu, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', client_id: client.client_id, refresh_token: tokens.refresh_token! } });
    expect(refresh.status).toBe(403);
    expect(refresh.body.error_description).toBe('user is blocked');
  });
});

describe('consent', () => {
  it('asks on localhost (never a verifiable first party), remembers an accepted grant, and answers a decline with access_denied', async () => {
    const local = 'http://localhost:41234/callback';
    await registerCallback(emu, local);
    const dave = { email: 'dave@example.com', password: 'dave-password-1' };
    await createPerson(emu, dave);
    const declined = await signInOnPage((await authorizeUrl({ redirectUri: local })).url, dave, 'decline');
    expect(query(declined.location).get('error')).toBe('access_denied');
    const started = await authorizeUrl({ redirectUri: local });
    const tx = transactionOf((await openAuthorize(started.url)).html);
    const consent = await postForm(started.url, { tx, ...dave });
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('id="consent"');
    const accepted = await postForm(started.url, { tx, consent: 'accept' });
    expect(query(accepted.location).get('code')).toBeTruthy();
    // Remembered: no consent page the next time.
    const again = await signInOnPage((await authorizeUrl({ redirectUri: local })).url, dave, 'decline');
    expect(query(again.location).get('code')).toBeTruthy();
  });

  it('asks for an API that does not allow skipping consent, even for a first-party client on 127.0.0.1', async () => {
    const token = await managementToken(emu);
    const apis = await call(emu, 'GET', '/api/v2/resource-servers', { headers: { authorization: `Bearer ${token}` } });
    const id = (apis.body as { id: string; identifier: string }[]).find((a) => a.identifier === emu.info().audience)!.id;
    await call(emu, 'PATCH', `/api/v2/resource-servers/${id}`, { headers: { authorization: `Bearer ${token}` }, json: { skip_consent_for_verifiable_first_party_clients: false } });
    try {
      const erin = { email: 'erin@example.com', password: 'erin-password-1' };
      await createPerson(emu, erin);
      const started = await authorizeUrl();
      const tx = transactionOf((await openAuthorize(started.url)).html);
      expect((await postForm(started.url, { tx, ...erin })).html).toContain('id="consent"');
    } finally {
      await call(emu, 'PATCH', `/api/v2/resource-servers/${id}`, { headers: { authorization: `Bearer ${token}` }, json: { skip_consent_for_verifiable_first_party_clients: true } });
    }
  });
});
