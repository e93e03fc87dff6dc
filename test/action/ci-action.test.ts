/**
 * The CI Action (auth0-actions/ci_oidc_exchange.js) on the fake api: every refusal, the policy match,
 * the JWKS cache (one fetch, a refetch on an unknown kid), closed by default, and the loopback rule.
 * The issuer is a real loopback HTTP server publishing discovery and a JWKS; tokens are signed with jose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACTIONS_DIR } from './action-module.js';
import { createEvent, createFakeApi, FakeCache, type CteHandler, type Outcome } from './fake-api.js';
import { expectNoLeak } from './run.js';

const handler = (createRequire(import.meta.url)(resolve(ACTIONS_DIR, 'ci_oidc_exchange.js')) as { onExecuteCustomTokenExchange: CteHandler }).onExecuteCustomTokenExchange;

const TENANT = 'http://127.0.0.1/';
interface Key { kid: string; privateKey: CryptoKey; jwk: JWK }
let server: Server;
let issuer: string;
let published: Key[] = [];
let fetches: string[] = [];
let key: Key;
let rotated: Key;
let stranger: Key;
let discoveryOverride: Record<string, unknown> | undefined;

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    fetches.push(req.url ?? '');
    const body = req.url === '/ci/.well-known/openid-configuration'
      ? (discoveryOverride ?? { issuer, jwks_uri: `${issuer}/.well-known/jwks` })
      : req.url === '/ci/.well-known/jwks' ? { keys: published.map((k) => k.jwk) } : undefined;
    res.statusCode = body ? 200 : 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ci`;
  key = await newKey('k1');
  rotated = await newKey('k2');
  stranger = await newKey('k1');
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  published = [key];
  fetches = [];
  discoveryOverride = undefined;
});

const GOOD_CLAIMS = { sub: 'repo:acme/api:ref:refs/heads/main', repository: 'acme/api', ref: 'refs/heads/main', repository_owner: 'acme' };
const policy = (): string => JSON.stringify([
  { issuer, claims: { repository: 'acme/other' }, user: 'auth0|other' },
  { issuer, claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: 'auth0|svc-api' },
]);
const secrets = (extra: Record<string, string> = {}): Record<string, string> => ({
  ISSUER: TENANT, CI_TRUST_POLICY: policy(), CI_ALLOW_LOOPBACK_HTTP: '1', ...extra,
});

interface SignOptions { claims?: Record<string, unknown>; signer?: Key; iss?: string; aud?: string; iat?: number; exp?: number; nbf?: number; alg?: string }
async function sign(o: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const signer = o.signer ?? key;
  const jwt = new SignJWT({ ...GOOD_CLAIMS, ...o.claims })
    .setProtectedHeader({ alg: o.alg ?? 'RS256', typ: 'JWT', kid: signer.kid })
    .setIssuer(o.iss ?? issuer).setAudience(o.aud ?? TENANT)
    .setIssuedAt(o.iat ?? now).setExpirationTime(o.exp ?? now + 300);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(signer.privateKey);
}

async function run(token: string, s: Record<string, string> = secrets(), cache?: FakeCache, hostname = '127.0.0.1'): Promise<Outcome> {
  const fake = createFakeApi(cache ? { cache } : {});
  await handler({ ...createEvent({ subjectToken: token, secrets: s, hostname }), transaction: { ...createEvent({ subjectToken: token }).transaction, subject_token_type: 'urn:omni-auth:ci-oidc' } }, fake.api);
  const outcome = fake.outcome();
  if (outcome.kind === 'reject' || outcome.kind === 'deny') expectNoLeak(outcome.reason, token, { CI_TRUST_POLICY: s.CI_TRUST_POLICY ?? '' });
  return outcome;
}

const rejected = (reason: RegExp) => ({ kind: 'reject', reason: expect.stringMatching(reason) });

describe('a CI token a rule matches', () => {
  it('sets the user of the first matching rule', async () => {
    expect(await run(await sign())).toEqual({ kind: 'setUserById', userId: 'auth0|svc-api' });
  });
  it('accepts the github shorthand for GitHub\'s issuer (no fetch needed to judge it untrusted otherwise)', async () => {
    const s = secrets({ CI_TRUST_POLICY: JSON.stringify([{ issuer: 'github', claims: { repository: 'acme/api' }, user: 'auth0|gh' }]) });
    // The token's issuer is the loopback one, which this policy does not name: refused before any fetch.
    expect(await run(await sign(), s)).toMatchObject(rejected(/issuer .* is not trusted/));
    expect(fetches).toEqual([]);
  });
});

describe('closed by default', () => {
  it('no CI_TRUST_POLICY is access_denied', async () => {
    expect(await run(await sign(), { ISSUER: TENANT, CI_ALLOW_LOOPBACK_HTTP: '1' })).toMatchObject({ kind: 'deny', code: 'access_denied', reason: expect.stringMatching(/no CI trust policy/) });
  });
  it('an empty policy is access_denied', async () => {
    expect(await run(await sign(), secrets({ CI_TRUST_POLICY: '[]' }))).toMatchObject({ kind: 'deny', code: 'access_denied' });
  });
  it('an unreadable policy is server_error (fails closed)', async () => {
    expect(await run(await sign(), secrets({ CI_TRUST_POLICY: '{not json' }))).toMatchObject({ kind: 'deny', code: 'server_error' });
    expect(await run(await sign(), secrets({ CI_TRUST_POLICY: JSON.stringify([{ issuer, claims: {}, user: 'u' }]) }))).toMatchObject({ kind: 'deny', code: 'server_error', reason: expect.stringMatching(/rule 0/) });
  });
});

describe('no rule matches', () => {
  it('a claim with another value is access_denied naming iss and sub', async () => {
    const out = await run(await sign({ claims: { ref: 'refs/heads/dev', sub: 'repo:acme/api:ref:refs/heads/dev' } }));
    expect(out).toMatchObject({ kind: 'deny', code: 'access_denied', reason: expect.stringContaining('repo:acme/api:ref:refs/heads/dev') });
  });
  it('a claim that is missing, or not a string, does not match', async () => {
    expect(await run(await sign({ claims: { ref: undefined } }))).toMatchObject({ kind: 'deny', code: 'access_denied' });
    expect(await run(await sign({ claims: { ref: ['refs/heads/main'] } }))).toMatchObject({ kind: 'deny', code: 'access_denied' });
  });
});

describe('every refusal of a bad token', () => {
  it('missing, too long, not a JWS, not a JWT', async () => {
    expect(await run('')).toMatchObject(rejected(/missing/));
    expect(await run('a'.repeat(9000))).toMatchObject(rejected(/too long/));
    expect(await run('a.b')).toMatchObject(rejected(/compact JWS/));
    expect(await run('YQ.YQ.YQ')).toMatchObject(rejected(/not a JWT/));
  });
  it('alg none and HS256', async () => {
    const [, p] = (await sign()).split('.');
    const header = (alg: string) => Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: 'k1' })).toString('base64url');
    expect(await run(`${header('none')}.${p}.c2ln`)).toMatchObject(rejected(/alg must be/));
    expect(await run(`${header('HS256')}.${p}.c2ln`)).toMatchObject(rejected(/alg must be/));
  });
  it('an untrusted issuer\'s name is quoted bounded and without invisible characters', async () => {
    const out = await run(await sign({ iss: `https://evil.example/\u202e${'a'.repeat(5000)}` }));
    expect(out).toMatchObject(rejected(/is not trusted/));
    if (out.kind === 'reject') {
      expect(out.reason.length).toBeLessThan(400);
      expect(out.reason).not.toContain('\u202e');
    }
  });
  it('an untrusted issuer, before anything is fetched', async () => {
    expect(await run(await sign({ iss: 'https://evil.example' }))).toMatchObject(rejected(/is not trusted/));
    expect(await run(await sign({ claims: { iss: undefined } }).then(async () => {
      const [h, , s] = (await sign()).split('.');
      return `${h}.${Buffer.from(JSON.stringify(GOOD_CLAIMS)).toString('base64url')}.${s}`;
    }))).toMatchObject(rejected(/no iss/));
    expect(fetches).toEqual([]);
  });
  it('a signature by a key the issuer does not publish (same kid)', async () => {
    expect(await run(await sign({ signer: stranger }))).toMatchObject(rejected(/signature is invalid/));
  });
  it('a tampered payload', async () => {
    const [h, , s] = (await sign()).split('.');
    const p = Buffer.from(JSON.stringify({ ...GOOD_CLAIMS, iss: issuer, aud: TENANT, exp: 9e9, iat: 1, repository: 'acme/api' })).toString('base64url');
    expect(await run(`${h}.${p}.${s}`)).toMatchObject(rejected(/signature is invalid/));
  });
  it('a kid the issuer does not publish, even after a refetch', async () => {
    expect(await run(await sign({ signer: rotated }))).toMatchObject(rejected(/does not publish/));
  });
  it('another audience', async () => {
    expect(await run(await sign({ aud: 'https://github.com/acme' }))).toMatchObject(rejected(/audience/));
  });
  it('expired (past the 30 s leeway), not yet valid, issued in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await run(await sign({ iat: now - 400, exp: now - 60 }))).toMatchObject(rejected(/expired/));
    expect(await run(await sign({ nbf: now + 120 }))).toMatchObject(rejected(/nbf/));
    expect(await run(await sign({ iat: now + 600, exp: now + 900 }))).toMatchObject(rejected(/future/));
  });
});

describe('the issuer\'s keys', () => {
  it('are fetched once (discovery, JWKS) and then read from api.cache', async () => {
    const cache = new FakeCache();
    await run(await sign(), secrets(), cache);
    await run(await sign(), secrets(), cache);
    expect(fetches).toEqual(['/ci/.well-known/openid-configuration', '/ci/.well-known/jwks']);
  });
  it('are fetched again when a token names a kid the cached set lacks (rotation), once the set is 30 s old', async () => {
    const realNow = Date.now.bind(Date);
    let offset = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    try {
      const cache = new FakeCache();
      expect(await run(await sign(), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
      published = [key, rotated];
      offset = 31_000;
      expect(await run(await sign({ signer: rotated }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
      expect(fetches.length).toBe(4);
    } finally {
      clock.mockRestore();
    }
  });
  it('a discovery document naming another issuer, or a jwks_uri on another origin, is server_error', async () => {
    discoveryOverride = { issuer: 'https://elsewhere.example', jwks_uri: `${issuer}/.well-known/jwks` };
    expect(await run(await sign())).toMatchObject({ kind: 'deny', code: 'server_error', reason: expect.stringMatching(/another issuer/) });
    discoveryOverride = { issuer, jwks_uri: 'https://elsewhere.example/jwks' };
    expect(await run(await sign())).toMatchObject({ kind: 'deny', code: 'server_error', reason: expect.stringMatching(/own origin/) });
  });
});

describe('http issuers', () => {
  it('are refused without CI_ALLOW_LOOPBACK_HTTP, before any fetch', async () => {
    const s = secrets();
    delete s.CI_ALLOW_LOOPBACK_HTTP;
    expect(await run(await sign(), s)).toMatchObject(rejected(/not https/));
    expect(fetches).toEqual([]);
  });
  it('are refused with the flag on a tenant that is not itself on loopback (a real tenant)', async () => {
    expect(await run(await sign(), secrets({ ISSUER: TENANT }), undefined, 'tenant.example.auth0.com')).toMatchObject(rejected(/not https/));
    expect(fetches).toEqual([]);
  });
});
