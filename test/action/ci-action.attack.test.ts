/**
 * Hostile review of the CI Action (auth0-actions/ci_oidc_exchange.js, issue 14 §1): JWT tricks, a
 * misbehaving issuer (redirects, huge or endless bodies), the unknown-kid refetch as an amplifier,
 * multi-audience tokens, and trust rules that would let any repository in. Each test names the attack;
 * a refusal must never become a user.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { createHmac, createPublicKey, createSign, KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACTIONS_DIR } from './action-module.js';
import { createEvent, createFakeApi, FakeCache, type CteHandler, type Outcome } from './fake-api.js';
import { expectNoLeak } from './run.js';

const handler = (createRequire(import.meta.url)(resolve(ACTIONS_DIR, 'ci_oidc_exchange.js')) as { onExecuteCustomTokenExchange: CteHandler }).onExecuteCustomTokenExchange;

const TENANT = 'http://127.0.0.1/';
type Route = (req: IncomingMessage, res: ServerResponse) => void;
interface Key { kid: string; alg: string; privateKey: CryptoKey; jwk: JWK }
let server: Server;
let issuer: string;
let fetches: string[] = [];
let routes: Record<string, Route> = {};
let published: JWK[] = [];
let key: Key;
let ecKey: Key;
let stranger: Key;

async function newKey(kid: string, alg = 'RS256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
const json = (body: unknown): Route => (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};
const defaultRoutes = (): Record<string, Route> => ({
  '/ci/.well-known/openid-configuration': (req, res) => json({ issuer, jwks_uri: `${issuer}/.well-known/jwks` })(req, res),
  '/ci/.well-known/jwks': (req, res) => json({ keys: published })(req, res),
});

beforeAll(async () => {
  server = createServer((req, res) => {
    fetches.push(req.url ?? '');
    const route = routes[req.url ?? ''];
    if (route) return route(req, res);
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ci`;
  key = await newKey('k1');
  ecKey = await newKey('e1', 'ES256');
  stranger = await newKey('k1');
});
afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
beforeEach(() => {
  fetches = [];
  routes = defaultRoutes();
  published = [key.jwk];
});
afterEach(() => {
  vi.restoreAllMocks();
});

const GOOD_CLAIMS = { sub: 'repo:acme/api:ref:refs/heads/main', repository: 'acme/api', repository_owner: 'acme', ref: 'refs/heads/main' };
const rules = (): unknown[] => [{ issuer, claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: 'auth0|svc-api' }];
const secrets = (policy: unknown[] = rules()): Record<string, string> => ({ ISSUER: TENANT, CI_TRUST_POLICY: JSON.stringify(policy), CI_ALLOW_LOOPBACK_HTTP: '1' });

interface SignOptions { claims?: Record<string, unknown>; signer?: Key; kid?: string; aud?: string | string[]; header?: Record<string, unknown>; iss?: string }
async function sign(o: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const signer = o.signer ?? key;
  return new SignJWT({ ...GOOD_CLAIMS, ...o.claims })
    .setProtectedHeader({ alg: signer.alg, typ: 'JWT', kid: o.kid ?? signer.kid, ...o.header })
    .setIssuer(o.iss ?? issuer).setAudience(o.aud ?? TENANT)
    .setIssuedAt(now).setNotBefore(now - 300).setExpirationTime(now + 300)
    .sign(signer.privateKey);
}
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const payloadOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

async function run(token: string, s: Record<string, string> = secrets(), cache?: FakeCache): Promise<Outcome> {
  const fake = createFakeApi(cache ? { cache } : {});
  const event = createEvent({ subjectToken: token, secrets: s, hostname: '127.0.0.1' });
  await handler({ ...event, transaction: { ...event.transaction, subject_token_type: 'urn:omni-auth:ci-oidc' } }, fake.api);
  const outcome = fake.outcome();
  if (outcome.kind === 'reject' || outcome.kind === 'deny') expectNoLeak(outcome.reason, token, { CI_TRUST_POLICY: s.CI_TRUST_POLICY ?? '' });
  return outcome;
}
const rejected = (reason: RegExp) => ({ kind: 'reject', reason: expect.stringMatching(reason) });
const serverError = (reason: RegExp) => ({ kind: 'deny', code: 'server_error', reason: expect.stringMatching(reason) });

describe('JWT tricks', () => {
  it('alg confusion: HS256 signed with the issuer\'s RSA public key as the HMAC secret', async () => {
    const good = await sign();
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    const pem = createPublicKey({ key: key.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const input = `${header}.${good.split('.')[1]}`;
    const forged = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    expect(await run(forged)).toMatchObject(rejected(/alg must be/));
    expect(fetches).toEqual([]);
  });

  it('alg none with an empty signature', async () => {
    const forged = `${b64({ alg: 'none', typ: 'JWT' })}.${(await sign()).split('.')[1]}.`;
    expect((await run(forged)).kind).toBe('reject');
  });

  it('ES256 token against an RSA JWK with alg RS256 (kid pointing at the RSA key)', async () => {
    const forged = await sign({ signer: ecKey, kid: 'k1' });
    expect(await run(forged)).toMatchObject(rejected(/does not publish/));
  });

  it('RS256 token whose kid points at the issuer\'s EC key', async () => {
    published = [key.jwk, ecKey.jwk];
    expect(await run(await sign({ signer: stranger, kid: 'e1' }))).toMatchObject(rejected(/does not publish/));
  });

  it('a JWKS whose only key is use: enc is no signing key (server_error), and key_ops without verify is not used', async () => {
    published = [{ ...key.jwk, use: 'enc' }];
    expect(await run(await sign())).toMatchObject(serverError(/no signing key/));
    const { use: _use, ...noUse } = key.jwk;
    published = [{ ...noUse, key_ops: ['encrypt'] }];
    expect(await run(await sign())).toMatchObject(serverError(/no signing key/));
  });

  it('a key embedded in the header (jwk, jku, x5u) is never used: only the issuer\'s published keys verify', async () => {
    const { d: _d, ...attackerPublic } = (await exportJWK(stranger.privateKey)) as JWK & { d?: string };
    for (const header of [{ jwk: { ...attackerPublic, kid: 'k1' } }, { jku: 'https://attacker.example/jwks' }, { x5u: 'https://attacker.example/cert.pem' }]) {
      expect(await run(await sign({ signer: stranger, header }))).toMatchObject(rejected(/signature is invalid/));
    }
    expect(fetches.some((f) => f.includes('attacker'))).toBe(false);
  });

  it('a crit header the Action does not understand', async () => {
    // jose refuses to sign with an unknown crit: sign by hand.
    const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1', crit: ['exp-omni'], 'exp-omni': 1 })}.${(await sign()).split('.')[1]}`;
    const forged = `${input}.${createSign('RSA-SHA256').update(input).sign(KeyObject.from(key.privateKey)).toString('base64url')}`;
    expect(await run(forged)).toMatchObject(rejected(/invalid/));
  });

  it('typ is not checked: GitHub and GitLab send JWT; a typ like at+jwt from a trusted issuer still needs our audience', async () => {
    expect(await run(await sign({ header: { typ: 'at+jwt' } }))).toMatchObject({ kind: 'setUserById' });
    expect(await run(await sign({ header: { typ: 'at+jwt' }, aud: 'https://api.example' }))).toMatchObject(rejected(/audience/));
  });
});

describe('a misbehaving issuer', () => {
  it('a redirect on discovery or on the JWKS is not followed (server_error)', async () => {
    routes['/ci/.well-known/openid-configuration'] = (_req, res) => { res.statusCode = 302; res.setHeader('location', `${issuer}/.well-known/elsewhere`); res.end(); };
    expect(await run(await sign())).toMatchObject(serverError(/discovery document could not be fetched/));
    routes = defaultRoutes();
    routes['/ci/.well-known/jwks'] = (_req, res) => { res.statusCode = 307; res.setHeader('location', 'https://attacker.example/jwks'); res.end(); };
    expect(await run(await sign())).toMatchObject(serverError(/JWKS could not be fetched/));
    expect(fetches.some((f) => f.includes('elsewhere'))).toBe(false);
  });

  it('an endless JWKS body is cut off at the size limit, not read into memory first', async () => {
    let written = 0;
    let closed = false;
    routes['/ci/.well-known/jwks'] = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.on('close', () => { closed = true; });
      const pump = (): void => {
        while (!closed && written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        if (!closed) res.end();
      };
      res.write('{"keys":[');
      pump();
    };
    expect(await run(await sign())).toMatchObject(serverError(/too large|could not be fetched/));
    // Socket buffers on loopback may hold a few MB; reading it all would be 256 MB.
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('a declared content-length over the limit is refused without waiting for the body', async () => {
    routes['/ci/.well-known/jwks'] = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-length', String(50 * 1024 * 1024));
      res.write('{"keys":[');
      // …and never more: an Action that waited for the body would run into its fetch timeout.
    };
    expect(await run(await sign())).toMatchObject(serverError(/too large/));
  });

  it('a discovery document of another issuer is not cached under ours, and keys are per issuer', async () => {
    const cache = new FakeCache();
    expect(await run(await sign(), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    // The only cache entry names its issuer: a token claiming another (trusted) issuer never reads it.
    const other = 'https://other-ci.example';
    const policy = [...rules(), { issuer: other, claims: { repository: 'acme/api' }, user: 'auth0|x' }];
    const before = fetches.length;
    const out = await run(await sign({ iss: other }), secrets(policy), cache);
    // https://other-ci.example is not reachable here: the Action tried to fetch its own keys instead of using ours.
    expect(out).toMatchObject(serverError(/could not be fetched/));
    expect(fetches.length).toBe(before);
  });
});

describe('the unknown-kid refetch', () => {
  it('a stream of tokens with random kids does not make the Action refetch the issuer every time', async () => {
    const cache = new FakeCache();
    expect(await run(await sign(), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(fetches).toHaveLength(2);
    for (let i = 0; i < 5; i++) {
      expect(await run(await sign({ signer: stranger, kid: `random-${i}` }), secrets(), cache)).toMatchObject(rejected(/does not publish/));
    }
    // At most one refetch in the cooldown window (none here: the set was fetched just now).
    expect(fetches.length).toBeLessThanOrEqual(4);
    // The legitimate job still works from the cache.
    expect(await run(await sign(), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
  });

  it('after the cooldown an unknown kid is fetched again once (rotation still works)', async () => {
    const realNow = Date.now.bind(Date);
    let offset = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    const cache = new FakeCache();
    expect(await run(await sign(), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    const rotated = await newKey('k2');
    published = [key.jwk, rotated.jwk];
    offset = 61_000;
    expect(await run(await sign({ signer: rotated }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(fetches).toHaveLength(4);
    // The refetched set (with k2) is what the cache holds now.
    expect(await run(await sign({ signer: rotated }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(fetches).toHaveLength(4);
  });
});

describe('a key set the size of GitHub\'s (four RSA-2048 keys, too large for one cache entry)', () => {
  // GitHub's JWKS has published four RS256 keys at once (two UUID kids, two 40-hex thumbprint kids):
  // about 1.8 KB compact, over the entry's 1200 bytes.
  let big: Key[];
  beforeAll(async () => {
    big = await Promise.all(['cc413527-173f-5a05-976e-9c52b1d7b431', '38826b17-6a30-5f9b-b169-8beb8202f723',
      '38E9B30B3A023A1B72309921A69A42FCC496C42C', '4F3E9AD8C9A6F5EB3173006F4FA630E28F43DCE9'].map((kid) => newKey(kid)));
  });

  it('is still cached for the keys jobs use: the second job does not fetch the issuer again', async () => {
    published = big.map((k) => k.jwk);
    const cache = new FakeCache();
    expect(await run(await sign({ signer: big[3] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(fetches).toHaveLength(2);
    expect(await run(await sign({ signer: big[3] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(await run(await sign({ signer: big[3] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(fetches).toHaveLength(2);
  });

  it('a job signed with another published key (not cached) is fetched for and then cached too', async () => {
    published = big.map((k) => k.jwk);
    const cache = new FakeCache();
    expect(await run(await sign({ signer: big[0] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(await run(await sign({ signer: big[2] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    const afterBoth = fetches.length;
    expect(afterBoth).toBeLessThanOrEqual(4);
    expect(await run(await sign({ signer: big[2] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    expect(fetches).toHaveLength(afterBoth);
  });

  it('random kids do not make the Action fetch it every time', async () => {
    published = big.map((k) => k.jwk);
    const cache = new FakeCache();
    expect(await run(await sign({ signer: big[0] }), secrets(), cache)).toMatchObject({ kind: 'setUserById' });
    for (let i = 0; i < 5; i++) {
      expect(await run(await sign({ signer: stranger, kid: `random-${i}` }), secrets(), cache)).toMatchObject(rejected(/does not publish/));
    }
    expect(fetches).toHaveLength(2);
  });
});

describe('audience', () => {
  it('a token addressed to the tenant AND another service is refused: the other service could replay it here', async () => {
    expect(await run(await sign({ aud: [TENANT, 'https://vault.example.com'] }))).toMatchObject(rejected(/audience/));
  });
  it('a one-element array naming the tenant is fine; no aud at all is refused', async () => {
    expect(await run(await sign({ aud: [TENANT] }))).toMatchObject({ kind: 'setUserById' });
    const now = Math.floor(Date.now() / 1000);
    const noAud = await new SignJWT({ ...GOOD_CLAIMS }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setIssuedAt(now).setExpirationTime(now + 300).sign(key.privateKey);
    expect(await run(noAud)).toMatchObject(rejected(/audience/));
  });
});

describe('claims', () => {
  it('values are compared exactly: case, homoglyphs, trailing spaces and arrays do not match', async () => {
    for (const repository of ['acme/API', 'Acme/api', 'acme/аpi' /* Cyrillic а */, 'acme/api ', ' acme/api', 'acme/api\u200b']) {
      expect(await run(await sign({ claims: { repository } }))).toMatchObject({ kind: 'deny', code: 'access_denied' });
    }
    expect(await run(await sign({ claims: { repository: ['acme/api'] } }))).toMatchObject({ kind: 'deny', code: 'access_denied' });
    expect(await run(await sign({ claims: { repository: { toString: 'acme/api' } } }))).toMatchObject({ kind: 'deny', code: 'access_denied' });
  });

  it('GitLab\'s ref_protected is the string "true"; a boolean true does not match a rule\'s "true"', async () => {
    const policy = [{ issuer, claims: { project_path: 'acme/infra', ref_protected: 'true' }, user: 'auth0|infra' }];
    expect(await run(await sign({ claims: { project_path: 'acme/infra', ref_protected: 'true' } }), secrets(policy))).toMatchObject({ kind: 'setUserById', userId: 'auth0|infra' });
    expect(await run(await sign({ claims: { project_path: 'acme/infra', ref_protected: true } }), secrets(policy))).toMatchObject({ kind: 'deny', code: 'access_denied' });
  });

  it('first matching rule wins, in the policy\'s order', async () => {
    const policy = [
      { issuer, claims: { repository_owner: 'acme' }, user: 'auth0|broad' },
      { issuer, claims: { repository: 'acme/api' }, user: 'auth0|narrow' },
    ];
    expect(await run(await sign(), secrets(policy))).toMatchObject({ kind: 'setUserById', userId: 'auth0|broad' });
  });

  it('a claim named like an Object.prototype member never matches', async () => {
    const policy = [{ issuer, claims: { constructor: 'function Object() { [native code] }', repository: 'acme/api' }, user: 'auth0|x' }];
    expect(await run(await sign(), secrets(policy))).toMatchObject({ kind: 'deny', code: 'access_denied' });
  });

  it('the payload is the verified one: a token with the claims tampered is a bad signature', async () => {
    const good = await sign({ claims: { repository: 'acme/other' } });
    const [h, , s] = good.split('.');
    const forged = `${h}.${b64({ ...payloadOf(good), repository: 'acme/api' })}.${s}`;
    expect(await run(forged)).toMatchObject(rejected(/signature is invalid/));
  });
});

describe('rules that would trust every repository of GitHub or GitLab (a hand-edited secret)', () => {
  const github = 'github';
  it('job_workflow_ref alone: any repository may call a public reusable workflow', async () => {
    const policy = [{ issuer: github, claims: { job_workflow_ref: 'acme/shared/.github/workflows/deploy.yml@refs/heads/main' }, user: 'auth0|x' }];
    expect(await run(await sign(), secrets(policy))).toMatchObject(serverError(/rule 0.*repository/));
  });
  it('a sub that does not begin with the repository: the job\'s own repository picks its sub template', async () => {
    const policy = [{ issuer: github, claims: { sub: 'environment:prod' }, user: 'auth0|x' }];
    expect(await run(await sign(), secrets(policy))).toMatchObject(serverError(/rule 0/));
  });
  it('GitLab: ci_config_ref_uri alone (a project may run another project\'s CI file), or only ref_protected', async () => {
    for (const claims of [{ ci_config_ref_uri: 'gitlab.com/acme/infra//.gitlab-ci.yml@refs/heads/main' }, { ref_protected: 'true' }]) {
      expect(await run(await sign(), secrets([{ issuer: 'gitlab', claims, user: 'auth0|x' }]))).toMatchObject(serverError(/rule 0/));
    }
  });
  it('a rule naming the repository (or owner id, or a repo: sub) is fine', async () => {
    for (const claims of [{ repository: 'acme/api' }, { repository_owner_id: '1' }, { sub: 'repo:acme/api:ref:refs/heads/main' }, { job_workflow_ref: 'acme/shared/.github/workflows/d.yml@refs/heads/main', repository_owner: 'acme' }]) {
      // The token's issuer is the loopback one: a valid github rule makes it "not trusted", not a server_error.
      expect(await run(await sign(), secrets([{ issuer: github, claims, user: 'auth0|x' }]))).toMatchObject(rejected(/not trusted/));
    }
  });
});
