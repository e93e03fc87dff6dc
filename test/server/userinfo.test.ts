/**
 * The verifier's `userInfo` option (issue 12 §1) against an msw-mocked https tenant: /userinfo asked
 * with the accepted token as the Bearer, once per token (kept until it expires), its answer in
 * `extra.userinfo`; a refusal there refuses the token; without the option nothing is asked.
 */
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/server/index.js';

const ORIGIN = 'https://tenant.example.com';
const AUDIENCE = 'https://mcp.example.com';
let privateKey: CryptoKey;
let jwk: Record<string, unknown>;
const asked: string[] = [];
let answer: () => Response = () => HttpResponse.json({ sub: 'auth0|alice', email: 'alice@example.com' });

const server = setupServer(
  http.get(`${ORIGIN}/.well-known/jwks.json`, () => HttpResponse.json({ keys: [jwk] })),
  http.get(`${ORIGIN}/userinfo`, ({ request }) => {
    asked.push(request.headers.get('authorization') ?? '');
    return answer();
  }),
);

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server.listen({ onUnhandledRequest: 'error' });
});
afterEach(() => {
  asked.length = 0;
  answer = () => HttpResponse.json({ sub: 'auth0|alice', email: 'alice@example.com' });
});
afterAll(() => server.close());

const token = (sub = 'auth0|alice'): Promise<string> => new SignJWT({ scope: 'openid email', azp: 'client-1' })
  .setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(`${ORIGIN}/`).setSubject(sub)
  .setAudience([AUDIENCE, `${ORIGIN}/userinfo`]).setIssuedAt().setExpirationTime('10m').sign(privateKey);

describe('createTokenVerifier({ userInfo: true })', () => {
  it('puts /userinfo in extra.userinfo, asked once per token with that token as the Bearer', async () => {
    const v = createTokenVerifier({ domain: 'tenant.example.com', audience: AUDIENCE, userInfo: true });
    const t = await token();
    const info = await v.verifyAccessToken(t);
    expect(info.extra.userinfo).toEqual({ sub: 'auth0|alice', email: 'alice@example.com' });
    expect(asked).toEqual([`Bearer ${t}`]);
    await v.verifyAccessToken(t);
    expect(asked).toHaveLength(1);
    const other = await token('auth0|bob');
    await v.verifyAccessToken(other);
    expect(asked).toEqual([`Bearer ${t}`, `Bearer ${other}`]);
  });

  it('without the option, /userinfo is never asked', async () => {
    const info = await createTokenVerifier({ domain: 'tenant.example.com', audience: AUDIENCE }).verifyAccessToken(await token());
    expect(info.extra.userinfo).toBeUndefined();
    expect(asked).toEqual([]);
  });

  it('a 401 from /userinfo refuses the token (userinfo_refused, 401), and is not cached', async () => {
    answer = () => HttpResponse.json({ error: 'invalid_token' }, { status: 401 });
    const v = createTokenVerifier({ domain: 'tenant.example.com', audience: AUDIENCE, userInfo: true });
    const t = await token();
    const e = await v.verifyAccessToken(t).catch((x: unknown) => x) as Error & { code?: string };
    expect(e).toBeInstanceOf(InvalidTokenError);
    expect(e.code).toBe('userinfo_refused');
    answer = () => HttpResponse.json({ sub: 'auth0|alice' });
    expect((await v.verifyAccessToken(t)).extra.userinfo).toEqual({ sub: 'auth0|alice' });
    expect(asked).toHaveLength(2);
  });

  it('a failing /userinfo is a server error (userinfo_unavailable, 500), never an accept', async () => {
    answer = () => new HttpResponse('oops', { status: 502 });
    const v = createTokenVerifier({ domain: 'tenant.example.com', audience: AUDIENCE, userInfo: true });
    const e = await v.verifyAccessToken(await token()).catch((x: unknown) => x) as Error & { code?: string };
    expect(e).toBeInstanceOf(ServerError);
    expect(e.code).toBe('userinfo_unavailable');
  });

  it('an http:// tenant other than loopback is refused when the verifier is made', () => {
    expect(() => createTokenVerifier({ domain: 'http://tenant.example.com', audience: AUDIENCE, userInfo: true })).toThrow(/https/);
  });
});
