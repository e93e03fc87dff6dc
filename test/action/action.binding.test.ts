import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MachineKey } from '../../src/identity/keys.js';
import { loadActionWith } from './action-module.js';
import { DAY, FakeTenant, PERSON, bindingFor, bindingNonce, boundToken, idToken, newSalt, rsaKey, type Binding, type SigningKey } from './binding.js';
import { CACHE_LIMITS, createEvent, createFakeApi, FakeCache } from './fake-api.js';
import { expectDenied, expectNoLeak, expectRejected, runAction, type Run } from './run.js';
import { CLIENT_ID, encodeSegment, expectedUsername, goodClaims, goodHeader, keyPairs, nowSeconds, signRaw } from './tokens.js';

/**
 * Person-bound machine keys, the Action's side (CONTRACTS-10 §6): the IDENTITY policy, the binding's
 * verification against the tenant's JWKS (fetched with the runtime's global fetch from a loopback
 * fake tenant, cached compactly in api.cache), and the forgery battery — each forged binding is a
 * good one with exactly one thing wrong, inside a local token properly signed by the machine key, so
 * the asserted reason proves which rule refused it.
 */

/** The exact deny texts the CLI maps to `binding_required` (CONTRACTS-10 §6, §7). */
const NOT_BOUND = 'this machine key is not bound to a person; sign in once: omni-auth login --browser';
const EXPIRED = 'the sign-in that bound this key has expired; sign in again: omni-auth login --browser';

let tenant: FakeTenant;
let signer: SigningKey;
let nextSigner: SigningKey;
let key: MachineKey;
let other: MachineKey;

beforeAll(async () => {
  [signer, nextSigner] = await Promise.all([rsaKey('tenant-key-1'), rsaKey('tenant-key-2')]);
  tenant = await FakeTenant.start();
  const pairs = await keyPairs();
  key = pairs.ES256;
  other = pairs.EdDSA;
});
afterAll(() => tenant.close());
beforeEach(() => tenant.reset([signer.jwk, nextSigner.jwk]));
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const secrets = (changes: Record<string, string> = {}): Record<string, string> => ({ ISSUER: tenant.issuer, IDENTITY: 'person', ...changes });

const bind = (forKey: MachineKey = key, options: Parameters<typeof bindingFor>[3] = {}, by: SigningKey = signer): Promise<Binding> =>
  bindingFor(forKey, tenant, by, options);

async function exchange(token: string, options: { secrets?: Record<string, string>; cache?: FakeCache } = {}): Promise<Run> {
  return runAction(token, { secrets: options.secrets ?? secrets(), ...(options.cache ? { cache: options.cache } : {}) });
}

/** Neither the local token, nor the ID token inside it, nor a secret value reaches a reason. */
function expectNoBindingLeak(run: Run, token: string, binding?: Binding): void {
  const reason = run.result.kind === 'reject' || run.result.kind === 'deny' ? run.result.reason : '';
  expectNoLeak(reason, token, { ALLOWED_KEYS: '' });
  if (binding && typeof binding.id_token === 'string') expectNoLeak(reason, binding.id_token);
  if (binding && typeof binding.salt === 'string') expect(reason).not.toContain(binding.salt);
}

async function expectForgery(binding: unknown, reason: RegExp, forKey: MachineKey = key, changes: Record<string, string> = {}): Promise<Run> {
  const token = await boundToken(forKey, tenant.issuer, binding);
  const run = await exchange(token, { secrets: secrets(changes) });
  expectRejected(run, reason, token);
  expectNoBindingLeak(run, token, binding as Binding);
  return run;
}

const machineUser = (forKey: MachineKey) => ({
  kind: 'setUser',
  connection: 'omni-auth-machines',
  attributes: { user_id: `omni-${forKey.thumbprint}`, username: expectedUsername(forKey.thumbprint), name: 'alice@devbox', nickname: 'alice' },
  options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
});

describe('the IDENTITY policy', () => {
  it('person: a bound key gets its person — exactly one call, setUserById(sub), and no machine user', async () => {
    const run = await exchange(await boundToken(key, tenant.issuer, await bind()));
    expect(run.result).toEqual({ kind: 'setUserById', userId: PERSON });
    expect(run.calls.filter((call) => call.method.startsWith('access.') || call.method.startsWith('authentication.'))).toHaveLength(1);
  });

  it('person: an unbound key is denied with access_denied and the exact "omni-auth login --browser" text', async () => {
    const token = await boundToken(key, tenant.issuer, undefined);
    const run = await exchange(token);
    expectDenied(run, 'access_denied', /^/, token);
    expect(run.result).toEqual({ kind: 'deny', code: 'access_denied', reason: NOT_BOUND });
    expect(tenant.hits).toBe(0);
  });

  it('no IDENTITY secret means person (closed by default): unbound denied, bound gets the person', async () => {
    const noPolicy = { ISSUER: tenant.issuer };
    const unbound = await exchange(await boundToken(key, tenant.issuer, undefined), { secrets: noPolicy });
    expect(unbound.result).toEqual({ kind: 'deny', code: 'access_denied', reason: NOT_BOUND });
    const bound = await exchange(await boundToken(key, tenant.issuer, await bind()), { secrets: noPolicy });
    expect(bound.result).toEqual({ kind: 'setUserById', userId: PERSON });
  });

  it.each([' Person ', 'PERSON', 'person'])('IDENTITY %j is person (trimmed, any case)', async (identity) => {
    const run = await exchange(await boundToken(key, tenant.issuer, undefined), { secrets: secrets({ IDENTITY: identity }) });
    expect(run.result).toEqual({ kind: 'deny', code: 'access_denied', reason: NOT_BOUND });
  });

  it('machine: the key is the user; a binding — good, forged or malformed — is ignored and no JWKS is fetched', async () => {
    const good = await bind();
    const forged = await bind(other);
    for (const binding of [good, forged, 'garbage', { id_token: 1 }]) {
      const run = await exchange(await boundToken(key, tenant.issuer, binding), { secrets: secrets({ IDENTITY: 'machine' }) });
      expect(run.result).toEqual(machineUser(key));
    }
    expect(tenant.hits).toBe(0);
  });

  it('both: a bound key gets its person, an unbound key its machine user', async () => {
    const both = secrets({ IDENTITY: 'both' });
    expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { secrets: both })).result).toEqual({ kind: 'setUserById', userId: PERSON });
    expect((await exchange(await boundToken(key, tenant.issuer, undefined), { secrets: both })).result).toEqual(machineUser(key));
  });

  it('both: a forged binding is refused, never downgraded to the machine user', async () => {
    await expectForgery(await bind(other), /nonce/, key, { IDENTITY: 'both' });
  });

  it('both: an expired binding is denied (sign in again), not downgraded to the machine user', async () => {
    const token = await boundToken(key, tenant.issuer, await bind(key, { claims: { iat: nowSeconds() - 31 * DAY } }));
    expect((await exchange(token, { secrets: secrets({ IDENTITY: 'both' }) })).result).toEqual({ kind: 'deny', code: 'access_denied', reason: EXPIRED });
  });

  it.each(['people', 'none', 'machine,person'])('an IDENTITY of %j is server_error (a misconfigured tenant, nobody throttled)', async (identity) => {
    const token = await boundToken(key, tenant.issuer, await bind());
    const run = await exchange(token, { secrets: secrets({ IDENTITY: identity }) });
    expectDenied(run, 'server_error', /IDENTITY secret must be person, machine or both/, token);
  });

  it('ALLOWED_KEYS still applies to bound keys', async () => {
    const token = await boundToken(key, tenant.issuer, await bind());
    const run = await exchange(token, { secrets: secrets({ ALLOWED_KEYS: other.thumbprint }) });
    expectDenied(run, 'access_denied', /not on the allow-list/, token);
  });

  it('a bound token is still a local token: a replay of it is refused', async () => {
    const cache = new FakeCache();
    const token = await boundToken(key, tenant.issuer, await bind());
    expect((await exchange(token, { cache })).result.kind).toBe('setUserById');
    expectRejected(await exchange(token, { cache }), /already used/, token);
  });

  it('a refused binding leaves no trace in the replay store', async () => {
    const cache = new FakeCache();
    const token = await boundToken(other, tenant.issuer, await bind(key));
    expect((await exchange(token, { cache })).result.kind).toBe('reject');
    expect(cache.get('omni-auth:jti')).toBeUndefined();
  });
});

describe('a good binding rescues nothing: the local token is judged first', () => {
  it('a good binding in a token signed by another key than its header’s', async () => {
    const stranger = (await keyPairs()).ES256;
    const binding = await bind();
    const token = await signRaw(goodHeader(key), { ...goodClaims(key), aud: tenant.issuer, binding }, stranger.privateKey);
    expectRejected(await exchange(token), /signature is invalid/, token);
    expect(tenant.hits).toBe(0);
  });

  it('a good binding in an expired local token', async () => {
    const now = nowSeconds();
    const token = await boundToken(key, tenant.issuer, await bind(), { iat: now - 200, nbf: now - 200, exp: now - 100 });
    expectRejected(await exchange(token), /expired/, token);
  });

  it('a good binding in a local token for another tenant (aud)', async () => {
    const token = await boundToken(key, tenant.issuer, await bind(), { aud: 'https://evil.example.com/' });
    expectRejected(await exchange(token), /aud/, token);
  });

  it('with several ISSUER values, the first is the bindings’ issuer (the local token may name any)', async () => {
    const token = await boundToken(key, tenant.issuer, await bind(), { aud: 'https://login.example.com/' });
    const run = await exchange(token, { secrets: secrets({ ISSUER: `${tenant.issuer}, https://login.example.com/` }) });
    expect(run.result).toEqual({ kind: 'setUserById', userId: PERSON });
  });
});

describe('the tenant JWKS: global fetch, compact api.cache entry', () => {
  it('is fetched once from <issuer>.well-known/jwks.json and then read from the cache', async () => {
    const cache = new FakeCache();
    for (let i = 0; i < 3; i += 1) {
      expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { cache })).result.kind).toBe('setUserById');
    }
    expect(tenant.hits).toBe(1);
  });

  it('is cached as omni-auth:jwks, only kid/n/e of RS256 signing keys, ≤ 3000 bytes, for 10 minutes', async () => {
    const ec = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'ec-key', alg: 'ES256', use: 'sig' };
    const encryption = { ...nextSigner.jwk, kid: 'enc-key', use: 'enc' };
    const withChain = { ...signer.jwk, x5c: ['A'.repeat(1200)], x5t: 'thumb' };
    tenant.reset([withChain, ec, encryption, nextSigner.jwk]);
    const cache = new FakeCache();
    const before = Date.now();
    expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { cache })).result.kind).toBe('setUserById');
    const record = cache.get('omni-auth:jwks')!;
    expect(record.value.startsWith('k1:')).toBe(true);
    expect(JSON.parse(record.value.slice(3))).toEqual([
      [signer.kid, signer.jwk.n, signer.jwk.e],
      [nextSigner.kid, nextSigner.jwk.n, nextSigner.jwk.e],
    ]);
    expect(Buffer.byteLength(record.value)).toBeLessThanOrEqual(3000);
    expect(record.expires_at).toBeGreaterThan(before);
    expect(record.expires_at).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
    expect(record.expires_at).toBeGreaterThanOrEqual(before + 10 * 60_000);
  });

  it('leaves room for the replay entry: both together stay within Auth0’s 8 KB when the replay entry is full', async () => {
    // Three RSA-4096 keys (the largest realistic set) plus a replay store at its 4 KB capacity.
    const big = await Promise.all([rsaKey('big-1', 4096), rsaKey('big-2', 4096), rsaKey('big-3', 4096)]);
    tenant.reset(big.map((k) => k.jwk));
    const cache = new FakeCache();
    const records = Array.from({ length: 137 }, (_, i) => `${'T'.repeat(10)}${String(i).padStart(12, 'h')}${(nowSeconds() + 100).toString(36).padStart(7, '0')}`);
    expect(cache.set('omni-auth:jti', `v2:${records.join('')}`).type).toBe('success');
    const run = await exchange(await boundToken(key, tenant.issuer, await bind(key, {}, big[0]!)), { cache });
    expect(run.result).toEqual({ kind: 'setUserById', userId: PERSON });
    expect(cache.keys().sort()).toEqual(['omni-auth:jti', 'omni-auth:jwks']);
  });

  it('a JWKS too large to cache is used but not cached: every exchange fetches it', async () => {
    const many = await Promise.all(Array.from({ length: 9 }, (_, i) => rsaKey(`many-${i}`)));
    tenant.reset([signer.jwk, ...many.map((k) => k.jwk)]);
    const cache = new FakeCache();
    for (let i = 0; i < 2; i += 1) {
      expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { cache })).result.kind).toBe('setUserById');
    }
    expect(cache.keys()).not.toContain('omni-auth:jwks');
    expect(tenant.hits).toBe(2);
  });

  it('a failed cache write of the JWKS is ignored (the cache is an optimisation)', async () => {
    const fake = createFakeApi();
    const set = fake.api.cache.set;
    fake.api.cache.set = (k, v, o) => (k === 'omni-auth:jwks' ? { type: 'error', code: 'CACHE_FULL' } : set(k, v, o));
    const { handler } = loadActionWith();
    await handler(createEvent({ subjectToken: await boundToken(key, tenant.issuer, await bind()), secrets: secrets() }), fake.api);
    expect(fake.outcome()).toEqual({ kind: 'setUserById', userId: PERSON });
  });

  it('an unreadable cached JWKS is fetched afresh, not trusted and not fatal', async () => {
    const cache = new FakeCache();
    cache.set('omni-auth:jwks', 'k1:{not json');
    expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { cache })).result.kind).toBe('setUserById');
    expect(tenant.hits).toBe(1);
    expect(cache.get('omni-auth:jwks')!.value).toContain(signer.kid);
  });

  it('a rotated key: the cached set lacks its kid, one refetch finds it', async () => {
    const cache = new FakeCache();
    tenant.reset([signer.jwk]);
    expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { cache })).result.kind).toBe('setUserById');
    const rotated = await rsaKey('tenant-key-3');
    tenant.published = [signer.jwk, rotated.jwk];
    const run = await exchange(await boundToken(key, tenant.issuer, await bind(key, {}, rotated)), { cache });
    expect(run.result).toEqual({ kind: 'setUserById', userId: PERSON });
    expect(tenant.hits).toBe(2);
    expect(cache.get('omni-auth:jwks')!.value).toContain('tenant-key-3');
  });

  it('an unknown kid: exactly one refetch, then the binding is refused', async () => {
    const cache = new FakeCache();
    expect((await exchange(await boundToken(key, tenant.issuer, await bind()), { cache })).result.kind).toBe('setUserById');
    expect(tenant.hits).toBe(1);
    const stranger = await rsaKey('not-published');
    const token = await boundToken(key, tenant.issuer, await bind(key, {}, stranger));
    expectRejected(await exchange(token, { cache }), /signed by a key this tenant does not publish/, token);
    expect(tenant.hits).toBe(2);
  });

  it('an unknown kid right after a fetch: no second fetch', async () => {
    const stranger = await rsaKey('not-published');
    const token = await boundToken(key, tenant.issuer, await bind(key, {}, stranger));
    expectRejected(await exchange(token), /does not publish/, token);
    expect(tenant.hits).toBe(1);
  });

  it('the issuer falls back to https://{hostname}/ — the JWKS URL follows it', async () => {
    const urls: string[] = [];
    vi.stubGlobal('fetch', async (url: URL | string) => {
      urls.push(String(url));
      return new Response(JSON.stringify({ keys: [signer.jwk] }), { status: 200 });
    });
    const binding = await bindingFor(key, { issuer: 'https://tenant.example.auth0.com/' }, signer);
    const token = await boundToken(key, 'https://tenant.example.auth0.com/', binding);
    const run = await runAction(token, { secrets: { IDENTITY: 'person' } });
    expect(run.result).toEqual({ kind: 'setUserById', userId: PERSON });
    expect(urls).toEqual(['https://tenant.example.auth0.com/.well-known/jwks.json']);
  });
});

describe('the JWKS cannot be had: server_error (the tenant’s fault, nobody throttled)', () => {
  const expectServerError = async (reason: RegExp): Promise<void> => {
    const binding = await bind();
    const token = await boundToken(key, tenant.issuer, binding);
    const run = await exchange(token);
    expectDenied(run, 'server_error', reason, token);
    expectNoBindingLeak(run, token, binding);
  };

  it('HTTP 500 from the JWKS endpoint', async () => {
    tenant.failWith = 500;
    await expectServerError(/signing keys could not be fetched \(HTTP 500\)/);
  });
  it('a JWKS that is not JSON', async () => {
    tenant.rawBody = '<html>';
    await expectServerError(/signing keys could not be fetched/);
  });
  it('a JWKS with no RS256 signing key', async () => {
    tenant.reset([{ ...signer.jwk, alg: 'RS512' }, { ...signer.jwk, kid: 'e', use: 'enc' }]);
    await expectServerError(/publishes no RS256 signing key/);
  });
  it('a connection refused', async () => {
    const binding = await bind();
    const closed = await FakeTenant.start();
    const issuer = closed.issuer;
    await closed.close();
    const token = await boundToken(key, issuer, await bindingFor(key, { issuer }, signer));
    expectDenied(await runAction(token, { secrets: { ISSUER: issuer, IDENTITY: 'person' } }), 'server_error', /could not be fetched/, token);
    expect(binding).toBeDefined();
  });
  it('the fetch is given a timeout signal; an aborted fetch is server_error', async () => {
    let signal: AbortSignal | undefined;
    vi.stubGlobal('fetch', async (_url: unknown, init: RequestInit = {}) => {
      signal = init.signal ?? undefined;
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    });
    await expectServerError(/could not be fetched/);
    expect(signal).toBeInstanceOf(AbortSignal);
  });
  it('a runtime without global fetch', async () => {
    vi.stubGlobal('fetch', undefined);
    await expectServerError(/no fetch/);
  });
});

describe('binding expiry: iat + BINDING_MAX_AGE_DAYS, the ID token’s own exp ignored', () => {
  it('29 days old, ID token exp long past: still the person', async () => {
    const binding = await bind(key, { claims: { iat: nowSeconds() - 29 * DAY, exp: nowSeconds() - 29 * DAY + 36_000, auth_time: nowSeconds() - 29 * DAY } });
    expect((await exchange(await boundToken(key, tenant.issuer, binding))).result).toEqual({ kind: 'setUserById', userId: PERSON });
  });

  it('30 days old (the default max age): access_denied with the exact sign-in-again text', async () => {
    const binding = await bind(key, { claims: { iat: nowSeconds() - 30 * DAY } });
    const token = await boundToken(key, tenant.issuer, binding);
    const run = await exchange(token);
    expect(run.result).toEqual({ kind: 'deny', code: 'access_denied', reason: EXPIRED });
    expectNoBindingLeak(run, token, binding);
  });

  it('the boundary, on a fixed clock: refused from iat + max age on, accepted one second before', async () => {
    const iat = nowSeconds() - DAY;
    const binding = await bind(key, { claims: { iat } });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((iat + 7 * DAY - 1) * 1000);
    expect((await exchange(await boundToken(key, tenant.issuer, binding), { secrets: secrets({ BINDING_MAX_AGE_DAYS: '7' }) })).result.kind).toBe('setUserById');
    vi.setSystemTime((iat + 7 * DAY) * 1000);
    expect((await exchange(await boundToken(key, tenant.issuer, binding), { secrets: secrets({ BINDING_MAX_AGE_DAYS: '7' }) })).result).toEqual({
      kind: 'deny',
      code: 'access_denied',
      reason: EXPIRED,
    });
  });

  it('BINDING_MAX_AGE_DAYS may be fractional and longer than the default', async () => {
    const old = await bind(key, { claims: { iat: nowSeconds() - 40 * DAY } });
    expect((await exchange(await boundToken(key, tenant.issuer, old), { secrets: secrets({ BINDING_MAX_AGE_DAYS: '45' }) })).result.kind).toBe('setUserById');
    const hours = await bind(key, { claims: { iat: nowSeconds() - 13 * 3600 } });
    expect((await exchange(await boundToken(key, tenant.issuer, hours), { secrets: secrets({ BINDING_MAX_AGE_DAYS: '0.5' }) })).result).toMatchObject({ reason: EXPIRED });
  });

  it.each(['0', '-1', 'thirty', '1e3', 'Infinity'])('a BINDING_MAX_AGE_DAYS of %j is server_error', async (days) => {
    const token = await boundToken(key, tenant.issuer, await bind());
    expectDenied(await exchange(token, { secrets: secrets({ BINDING_MAX_AGE_DAYS: days }) }), 'server_error', /BINDING_MAX_AGE_DAYS/, token);
  });
});

describe('the forgery battery: every bad binding is rejectInvalidSubjectToken', () => {
  it('a binding for key K used with key L (L signs a token carrying K’s binding)', async () => {
    await expectForgery(await bind(key), /not made for this machine key \(nonce\)/, other);
  });

  it('a binding of key K with K’s salt swapped for another', async () => {
    const binding = await bind(key);
    await expectForgery({ ...binding, salt: newSalt() }, /nonce/);
  });

  it('a salt that does not match: the nonce of another salt', async () => {
    await expectForgery({ id_token: await idToken({ signer, issuer: tenant.issuer, nonce: bindingNonce(key.thumbprint, newSalt()) }), salt: newSalt() }, /nonce/);
  });

  it('a nonce of the right key but without the domain prefix', async () => {
    const salt = newSalt();
    const { createHash } = await import('node:crypto');
    const nonce = createHash('sha256').update(`${key.thumbprint}:${salt}`).digest('base64url');
    await expectForgery({ id_token: await idToken({ signer, issuer: tenant.issuer, nonce }), salt }, /nonce/);
  });

  it('no nonce in the ID token', async () => {
    await expectForgery({ id_token: await idToken({ signer, issuer: tenant.issuer }), salt: newSalt() }, /no valid nonce/);
  });

  it.each([
    ['21 characters', 'A'.repeat(21)],
    ['23 characters', 'A'.repeat(23)],
    ['outside base64url', `${'A'.repeat(20)}+/`],
    ['non-canonical base64url', `${'A'.repeat(21)}B`],
    ['a number', 1234],
  ])('a salt of %s', async (_name, salt) => {
    const binding = await bind();
    await expectForgery({ ...binding, salt }, /binding.salt must be 22 base64url characters/);
  });

  it.each([
    ['a string', 'binding'],
    ['an array', []],
    ['null', null],
  ])('a binding that is %s', async (_name, binding) => {
    await expectForgery(binding, /binding must be an object/);
  });

  it('a binding without id_token', async () => {
    await expectForgery({ salt: newSalt() }, /id_token is missing/);
  });

  it('a binding minted for another client (aud)', async () => {
    await expectForgery(await bind(key, { claims: { aud: 'another-client' } }), /another client \(aud\)/);
  });

  it('an aud array with this client but azp of another', async () => {
    await expectForgery(await bind(key, { claims: { aud: [CLIENT_ID, 'another-client'], azp: 'another-client' } }), /no azp of this client/);
  });

  it('an aud array with this client and no azp', async () => {
    await expectForgery(await bind(key, { claims: { aud: [CLIENT_ID, 'another-client'] } }), /no azp of this client/);
  });

  it('(an aud array with this client and azp of this client is accepted)', async () => {
    const run = await exchange(await boundToken(key, tenant.issuer, await bind(key, { claims: { aud: [CLIENT_ID, 'https://api.example.com/'], azp: CLIENT_ID } })));
    expect(run.result).toEqual({ kind: 'setUserById', userId: PERSON });
  });

  it('a single aud of this client but an azp of another', async () => {
    await expectForgery(await bind(key, { claims: { azp: 'another-client' } }), /another client \(azp\)/);
  });

  it('a binding minted by another tenant (iss), even signed with this tenant’s key', async () => {
    await expectForgery(await bind(key, { claims: { iss: 'https://evil.example.auth0.com/' } }), /another issuer/);
  });

  it('an iss differing only by the trailing slash', async () => {
    await expectForgery(await bind(key, { claims: { iss: tenant.issuer.slice(0, -1) } }), /another issuer/);
  });

  it('signed by another tenant’s key that claims this tenant’s kid', async () => {
    const impostor = await rsaKey(signer.kid);
    await expectForgery(await bind(key, {}, impostor), /signature is invalid/);
  });

  it('signed by another tenant’s key under its own kid', async () => {
    await expectForgery(await bind(key, {}, await rsaKey('evil-tenant-key')), /does not publish/);
  });

  it('a tampered payload (sub changed, signature kept)', async () => {
    const binding = await bind();
    const [h, p, s] = binding.id_token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tampered = encodeSegment({ ...payload, sub: 'auth0|the-admin' });
    await expectForgery({ ...binding, id_token: `${h}.${tampered}.${s}` }, /signature is invalid/);
  });

  it('a tampered signature (one byte flipped)', async () => {
    const binding = await bind();
    const [h, p, s] = binding.id_token.split('.') as [string, string, string];
    const bytes = Buffer.from(s, 'base64url');
    bytes[10] = bytes[10]! ^ 1;
    await expectForgery({ ...binding, id_token: `${h}.${p}.${bytes.toString('base64url')}` }, /signature is invalid/);
  });

  it('a non-canonical spelling of the signature (same bytes)', async () => {
    const binding = await bind();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 256 signature bytes leave 2 unused bits in the last character.
    const last = alphabet.indexOf(binding.id_token.at(-1)!);
    const forged = binding.id_token.slice(0, -1) + alphabet[last ^ 1]!;
    await expectForgery({ ...binding, id_token: forged }, /not a compact JWS/);
  });

  it('alg none (unsecured ID token)', async () => {
    const salt = newSalt();
    const payload = { iss: tenant.issuer, sub: PERSON, aud: CLIENT_ID, iat: nowSeconds(), exp: nowSeconds() + 3600, nonce: bindingNonce(key.thumbprint, salt) };
    await expectForgery({ id_token: `${encodeSegment({ alg: 'none', kid: signer.kid })}.${encodeSegment(payload)}.`, salt }, /not a compact JWS/);
    await expectForgery({ id_token: `${encodeSegment({ alg: 'none', kid: signer.kid })}.${encodeSegment(payload)}.AAAA`, salt }, /must be signed with RS256/);
  });

  it('HS256 keyed with the tenant’s public key, and with a random secret', async () => {
    const salt = newSalt();
    const nonce = bindingNonce(key.thumbprint, salt);
    const now = nowSeconds();
    for (const secret of [new TextEncoder().encode(JSON.stringify(signer.jwk)), new Uint8Array(randomBytes(32))]) {
      const forged = await new SignJWT({ nonce })
        .setProtectedHeader({ alg: 'HS256', kid: signer.kid })
        .setIssuer(tenant.issuer)
        .setSubject(PERSON)
        .setAudience(CLIENT_ID)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(secret);
      await expectForgery({ id_token: forged, salt }, /must be signed with RS256/);
    }
  });

  it('PS256 with the tenant’s own RSA key (RS256 only)', async () => {
    const salt = newSalt();
    const now = nowSeconds();
    const forged = await new SignJWT({ nonce: bindingNonce(key.thumbprint, salt) })
      .setProtectedHeader({ alg: 'PS256', kid: signer.kid })
      .setIssuer(tenant.issuer)
      .setSubject(PERSON)
      .setAudience(CLIENT_ID)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      // The same RSA key material, used for PSS.
      .sign(await importJWK(await exportJWK(signer.privateKey), 'PS256'));
    await expectForgery({ id_token: forged, salt }, /must be signed with RS256/);
  });

  it('no kid in the ID token header', async () => {
    await expectForgery(await bind(key, { header: { kid: undefined } }), /names no signing key/);
  });

  it('no iat', async () => {
    await expectForgery(await bind(key, { claims: { iat: undefined } }), /has no iat/);
  });

  it('iat more than 60 s in the future', async () => {
    await expectForgery(await bind(key, { claims: { iat: nowSeconds() + 120, exp: nowSeconds() + 7200 } }), /issued in the future/);
  });

  it.each([
    ['a huge iat', 1e20],
    ['a negative iat', -1e20],
  ])('%s is a forgery (rejected and counted), not a server fault', async (_name, iat) => {
    await expectForgery(await bind(key, { claims: { iat } }), /issued in the future|has no iat/);
  });

  it('an ID token whose exp is not after its iat', async () => {
    const iat = nowSeconds() - 100;
    await expectForgery(await bind(key, { claims: { iat, exp: iat } }), /expires before it was issued/);
  });

  it('no sub', async () => {
    await expectForgery(await bind(key, { claims: { sub: undefined } }), /no valid sub/);
  });

  it('a sub over 255 characters', async () => {
    await expectForgery(await bind(key, { claims: { sub: `auth0|${'x'.repeat(260)}` } }), /no valid sub/);
  });

  it('an ID token that is not a JWS, or not JSON inside', async () => {
    const binding = await bind();
    await expectForgery({ ...binding, id_token: 'not.a-jwt' }, /not a compact JWS/);
    await expectForgery({ ...binding, id_token: `${encodeSegment('x')}.${encodeSegment('y')}.AAAA` }, /not a JWT/);
  });

  it('the machine key’s own local token presented as the binding', async () => {
    const own = await boundToken(key, tenant.issuer, undefined);
    await expectForgery({ id_token: own, salt: newSalt() }, /must be signed with RS256/);
  });

  it('a forged binding costs at most one JWKS fetch per exchange and counts for throttling (reject, not deny)', async () => {
    const run = await expectForgery(await bind(key, { claims: { aud: 'another-client' } }), /aud/);
    expect(run.result.kind).toBe('reject');
    expect(tenant.hits).toBeLessThanOrEqual(1);
  });
});

describe('fake api (the Action’s view of Auth0)', () => {
  it('records setUserById as the deciding call, and the cache keeps Auth0’s limits', () => {
    const fake = createFakeApi();
    fake.api.authentication.setUserById(PERSON);
    expect(fake.outcome()).toEqual({ kind: 'setUserById', userId: PERSON });
    expect(CACHE_LIMITS).toMatchObject({ entries: 20, valueBytes: 4096, totalBytes: 8192 });
  });

  it('(control: the loopback tenant publishes what it is told)', async () => {
    const response = await fetch(`${tenant.issuer}.well-known/jwks.json`);
    expect(((await response.json()) as { keys: JWK[] }).keys.map((k) => k.kid)).toEqual([signer.kid, nextSigner.kid]);
  });
});
