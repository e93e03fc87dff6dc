/** verifyAccessToken against a JWKS served by msw (jose fetches it with the global fetch). */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAccessToken } from '../../src/exchange/verify.js';
import { ExitCode, OmniAuthError } from '../../src/util/errors.js';

const DOMAIN = 'https://tenant.eu.auth0.com';
const AUDIENCE = 'https://mcp.example.com';
const NOW = 1_800_000_000;

interface Key { privateKey: CryptoKey; kid: string; jwk: JWK }
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const server = setupServer();
let jwksRequests = 0;
let tenantKey: Key;
let strangerKey: Key;

beforeAll(async () => {
  tenantKey = await newKey('k1');
  strangerKey = await newKey('k2');
  server.listen({ onUnhandledRequest: 'error' });
});
afterEach(() => {
  server.resetHandlers();
  jwksRequests = 0;
});
afterAll(() => server.close());

function serveJwks(domain: string, keys: JWK[]): void {
  server.use(http.get(`${domain}/.well-known/jwks.json`, () => {
    jwksRequests++;
    return HttpResponse.json({ keys });
  }));
}

interface Claims { iss?: string; aud?: string | string[]; exp?: number }
function accessToken(claims: Claims = {}, signer: { privateKey: CryptoKey; kid: string } = tenantKey, domain = DOMAIN): Promise<string> {
  return new SignJWT({ scope: 'openid' })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'at+jwt' })
    .setIssuer(claims.iss ?? `${domain}/`)
    .setAudience(claims.aud ?? [AUDIENCE, `${domain}/userinfo`])
    .setSubject('auth0|abc')
    .setIssuedAt(NOW)
    .setExpirationTime(claims.exp ?? NOW + 3600)
    .sign(signer.privateKey);
}

const options = (atSeconds = NOW) => ({ domain: DOMAIN, audience: AUDIENCE, currentDate: new Date(atSeconds * 1000) });

async function failure(promise: Promise<unknown>): Promise<OmniAuthError> {
  const e = await promise.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(OmniAuthError);
  return e as OmniAuthError;
}

describe('verifyAccessToken', () => {
  it('verifies a JWT from the tenant and returns sub and exp (aud a list that includes the audience)', async () => {
    serveJwks(DOMAIN, [strangerKey.jwk, tenantKey.jwk]);
    expect(await verifyAccessToken(await accessToken(), options(NOW + 10))).toEqual({ sub: 'auth0|abc', exp: NOW + 3600 });
    expect(jwksRequests).toBe(1);
  });

  it.each([
    ['another audience', { aud: 'https://other.example.com' }, /"aud"/],
    ['another issuer', { iss: 'https://evil.example.com/' }, /"iss"/],
    ['the issuer without its trailing slash', { iss: DOMAIN }, /"iss"/],
  ])('refuses %s: token_unverified, exit 3, without the token in the error', async (_name, claims, says) => {
    serveJwks(DOMAIN, [tenantKey.jwk]);
    const jwt = await accessToken(claims);
    const e = await failure(verifyAccessToken(jwt, options()));
    expect(e.code).toBe('token_unverified');
    expect(e.exitCode).toBe(ExitCode.refused);
    expect(e.message).toMatch(says);
    expect(e.hint).toMatch(/not cached/);
    expect(`${e.message}${e.hint}${JSON.stringify(e)}`).not.toContain(jwt);
  });

  it('refuses an expired token (30 s of clock tolerance)', async () => {
    serveJwks(DOMAIN, [tenantKey.jwk]);
    expect(await verifyAccessToken(await accessToken(), options(NOW + 3600 + 29))).toBeDefined();
    const e = await failure(verifyAccessToken(await accessToken(), options(NOW + 3600 + 31)));
    expect(e.code).toBe('token_unverified');
    expect(e.details).toEqual({ reason: 'ERR_JWT_EXPIRED' });
  });

  it('refuses a token signed by a key the tenant does not publish', async () => {
    serveJwks(DOMAIN, [tenantKey.jwk]);
    const e = await failure(verifyAccessToken(await accessToken({}, strangerKey), options()));
    expect(e.code).toBe('token_unverified');
    expect(e.details).toEqual({ reason: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('refuses a forged signature under the tenant\'s kid', async () => {
    serveJwks(DOMAIN, [tenantKey.jwk]);
    const forged = await accessToken({}, { privateKey: strangerKey.privateKey, kid: tenantKey.kid });
    const e = await failure(verifyAccessToken(forged, options()));
    expect(e.code).toBe('token_unverified');
    expect(e.details).toEqual({ reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('returns undefined, without fetching keys, for opaque, JWE, HS256 and non-JWS-shaped tokens', async () => {
    serveJwks(DOMAIN, [tenantKey.jwk]);
    const hs256 = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setAudience(AUDIENCE).sign(randomBytes(32));
    const jwe = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc';
    const arrayHeader = `${Buffer.from('[1]').toString('base64url')}.e30.c2ln`;
    for (const t of ['opaque-token-value', jwe, hs256, 'a.b.c', arrayHeader]) {
      expect(await verifyAccessToken(t, options())).toBeUndefined();
    }
    expect(jwksRequests).toBe(0);
  });

  it('a JWKS that cannot be fetched is jwks_unavailable, exit 4', async () => {
    server.use(http.get(`${DOMAIN}/.well-known/jwks.json`, () => new HttpResponse('oops', { status: 503 })));
    const e = await failure(verifyAccessToken(await accessToken(), options()));
    expect(e.code).toBe('jwks_unavailable');
    expect(e.exitCode).toBe(ExitCode.unreachable);
    expect(e.message).toContain(`${DOMAIN}/.well-known/jwks.json`);
  });

  it('works against the emulator on http:// loopback, and refuses http:// elsewhere', async () => {
    const emulator = 'http://127.0.0.1:4999';
    serveJwks(emulator, [tenantKey.jwk]);
    const jwt = await accessToken({}, tenantKey, emulator);
    expect(await verifyAccessToken(jwt, { domain: emulator, audience: AUDIENCE, currentDate: new Date(NOW * 1000) }))
      .toEqual({ sub: 'auth0|abc', exp: NOW + 3600 });
    const e = await failure(verifyAccessToken(jwt, { domain: 'http://tenant.eu.auth0.com', audience: AUDIENCE }));
    expect(e.code).toBe('insecure_url');
  });
});
