/**
 * createTokenVerifier against the emulator: real tokens from the exchange, the tenant's JWKS over
 * HTTP, and every check failing on its own — with the SDK's error class (so requireBearerAuth picks
 * 401/403/500) and our code in the message.
 */
import { InsufficientScopeError, InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createSigningKey } from '../../src/emulator/tokens.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../../src/server/index.js';
import { exchangedToken, foreignKeyToken, hs256Token, nowSeconds, signedByTenant } from './helpers.js';

let emu: Emulator;
let other: Emulator;
beforeAll(async () => {
  [emu, other] = await Promise.all([startEmulator({ provisioned: true }), startEmulator({ provisioned: true })]);
});
afterAll(async () => {
  await Promise.all([emu?.close(), other?.close()]);
});

const verifier = (o: Partial<TokenVerifierOptions> = {}) => createTokenVerifier({ domain: emu.domain, audience: emu.info().audience, ...o });

/** The refusal of `token`: its class, our code, the message. */
async function refusal(v: ReturnType<typeof verifier>, token: string): Promise<Error & { code?: string; status?: number }> {
  const e = await v.verifyAccessToken(token).then(() => undefined, (x: unknown) => x);
  expect(e, 'the token was accepted').toBeInstanceOf(Error);
  return e as Error & { code?: string };
}

describe('createTokenVerifier', () => {
  it('accepts a token from the exchange and returns the SDK AuthInfo', async () => {
    const token = await exchangedToken(emu);
    const info = await verifier().verifyAccessToken(token);
    expect(info.token).toBe(token);
    expect(info.clientId).toBe(emu.info().client_id);
    expect(info.extra.sub).toMatch(/^auth0\|omni-/);
    expect(info.extra.permissions).toEqual([]);
    expect(info.extra.claims.iss).toBe(emu.issuer);
    expect(info.scopes).toEqual(String(info.extra.claims.scope).split(' ').filter(Boolean));
    expect(info.expiresAt).toBe(info.extra.claims.exp);
    expect(info.resource?.href).toBe(new URL(emu.info().audience).href);
  });

  it('scopes are the union of scope and permissions, each once', async () => {
    const token = await signedByTenant(emu, { claims: { scope: 'openid read:x', permissions: ['tool:echo', 'read:x'] } });
    const info = await verifier().verifyAccessToken(token);
    expect(info.scopes).toEqual(['openid', 'read:x', 'tool:echo']);
    expect(info.extra.permissions).toEqual(['tool:echo', 'read:x']);
  });

  it('a token for another audience: 401 audience_mismatch', async () => {
    const e = await refusal(verifier(), await signedByTenant(emu, { audience: 'https://other.example/api' }));
    expect(e).toBeInstanceOf(InvalidTokenError);
    expect(e.code).toBe('audience_mismatch');
    expect(e.message).toContain('[audience_mismatch]');
    expect(e.message).toContain(emu.info().audience);
  });

  it('aud as an array containing the audience is accepted', async () => {
    await verifier().verifyAccessToken(await signedByTenant(emu, { audience: ['https://other.example/api', emu.info().audience] }));
  });

  it('the tenant\'s key but another issuer: 401 issuer_mismatch (the issuer is compared exactly)', async () => {
    for (const issuer of [`${emu.issuer}x/`, emu.domain, 'https://evil.example/']) {
      const e = await refusal(verifier(), await signedByTenant(emu, { issuer }));
      expect(e).toBeInstanceOf(InvalidTokenError);
      expect(e.code).toBe('issuer_mismatch');
    }
  });

  it('a token from another tenant: 401 unknown_key (its key is not in this tenant\'s JWKS)', async () => {
    const e = await refusal(verifier(), await exchangedToken(other));
    expect(e).toBeInstanceOf(InvalidTokenError);
    expect(e.code).toBe('unknown_key');
  });

  it('a foreign key with the tenant\'s kid, a tampered payload: 401 bad_signature', async () => {
    expect((await refusal(verifier(), await foreignKeyToken(emu))).code).toBe('bad_signature');
    const [h, , s] = (await signedByTenant(emu)).split('.');
    const forged = Buffer.from(JSON.stringify({ iss: emu.issuer, aud: emu.info().audience, sub: 'admin', exp: nowSeconds() + 600, permissions: ['tool:everything'] })).toString('base64url');
    expect((await refusal(verifier(), `${h}.${forged}.${s}`)).code).toBe('bad_signature');
  });

  it('HS256 and alg none: 401 algorithm_not_allowed; not a JWT: 401 malformed', async () => {
    expect((await refusal(verifier(), await hs256Token(emu))).code).toBe('algorithm_not_allowed');
    const good = (await signedByTenant(emu)).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${good[1]}.`;
    expect((await refusal(verifier(), none)).code).toMatch(/^(malformed|algorithm_not_allowed)$/);
    const noneSigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${good[1]}.${good[2]}`;
    expect((await refusal(verifier(), noneSigned)).code).toBe('algorithm_not_allowed');
    for (const junk of ['', 'abc', 'a.b', 'a.b.c', `${good[0]}.${good[1]}`, 'é.é.é']) {
      const e = await refusal(verifier(), junk);
      expect(e).toBeInstanceOf(InvalidTokenError);
      expect(e.code).toBe('malformed');
    }
  });

  it('exp and nbf with the clock tolerance, on an injected clock', async () => {
    const t = nowSeconds();
    const clock = { now: () => t * 1000 };
    const expired = await signedByTenant(emu, { now: t - 100, lifetime: 60 }); // exp = t - 40
    const e = await refusal(verifier({ jwks: clock }), expired);
    expect(e).toBeInstanceOf(InvalidTokenError);
    expect(e.code).toBe('expired');
    expect((await refusal(verifier({ jwks: clock, clockTolerance: 40 }), expired)).code).toBe('expired'); // exp + 40 = t: expired
    await verifier({ jwks: clock, clockTolerance: 41 }).verifyAccessToken(expired);

    const early = await signedByTenant(emu, { claims: { nbf: t + 30 } });
    expect((await refusal(verifier({ jwks: clock }), early)).code).toBe('not_yet_valid');
    await verifier({ jwks: clock, clockTolerance: 30 }).verifyAccessToken(early);
  });

  it('required scopes missing from scope ∪ permissions: 403 insufficient_scope naming them', async () => {
    const token = await signedByTenant(emu, { claims: { scope: 'read:a', permissions: ['tool:b'] } });
    await verifier({ requiredScopes: ['read:a', 'tool:b'] }).verifyAccessToken(token);
    const e = await refusal(verifier({ requiredScopes: ['read:a', 'write:c'] }), token);
    expect(e).toBeInstanceOf(InsufficientScopeError);
    expect(e.code).toBe('insufficient_scope');
    expect(e.message).toContain('write:c');
  });

  it('keys that cannot be fetched: 500 jwks_unavailable, never an accept', async () => {
    const token = await signedByTenant(emu);
    const failing = verifier({ jwks: { fetch: async () => { throw new Error('connect ECONNREFUSED'); } } });
    const e = await refusal(failing, token);
    expect(e).toBeInstanceOf(ServerError);
    expect(e.code).toBe('jwks_unavailable');
    const notJwks = verifier({ jwks: { fetch: async () => new Response('{"nope":1}', { status: 200 }) } });
    expect((await refusal(notJwks, token)).code).toBe('jwks_unavailable');
  });

  it('fetches the JWKS once, and again on an unknown kid only after the cool-down (key rotation)', async () => {
    let t = nowSeconds() * 1000;
    let fetches = 0;
    const v = verifier({ jwks: { now: () => t, cooldownMs: 30_000, fetch: (input, init) => { fetches += 1; return fetch(input, init); } } });
    await v.verifyAccessToken(await signedByTenant(emu));
    await v.verifyAccessToken(await signedByTenant(emu));
    expect(fetches).toBe(1);

    const previous = emu.tenant.signingKey;
    emu.tenant.signingKey = await createSigningKey(); // the tenant rotates: new kid, new JWKS
    try {
      const rotated = await signedByTenant(emu);
      t += 1_000;
      expect((await refusal(v, rotated)).code).toBe('unknown_key'); // inside the cool-down: no fetch
      expect(fetches).toBe(1);
      t += 30_000;
      await v.verifyAccessToken(rotated);
      expect(fetches).toBe(2);
      await v.verifyAccessToken(await signedByTenant(emu));
      expect(fetches).toBe(2);
    } finally {
      emu.tenant.signingKey = previous;
    }
  });

  it('PS256 (Auth0\'s other asymmetric choice) is accepted; RS512 with a valid key is not', async () => {
    const jwksOf = async (alg: string) => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, use: 'sig' };
      const token = await new SignJWT({ azp: 'c', scope: 'openid' }).setProtectedHeader({ alg, kid: jwk.kid }).setIssuer(emu.issuer).setSubject('s')
        .setAudience(emu.info().audience).setIssuedAt().setExpirationTime('10m').sign(privateKey);
      const fetchKeys = async () => new Response(JSON.stringify({ keys: [jwk] }), { status: 200 });
      return { token, fetchKeys };
    };
    const ps = await jwksOf('PS256');
    expect((await verifier({ jwks: { fetch: ps.fetchKeys } }).verifyAccessToken(ps.token)).extra.sub).toBe('s');
    const rs512 = await jwksOf('RS512');
    expect((await refusal(verifier({ jwks: { fetch: rs512.fetchKeys } }), rs512.token)).code).toBe('algorithm_not_allowed');
  });

  it('concurrent first requests share one JWKS fetch', async () => {
    let fetches = 0;
    const v = verifier({ jwks: { fetch: (input, init) => { fetches += 1; return fetch(input, init); } } });
    const tokens = await Promise.all(Array.from({ length: 8 }, () => signedByTenant(emu)));
    await Promise.all(tokens.map((t) => v.verifyAccessToken(t)));
    expect(fetches).toBe(1);
  });

  it('refuses a bad configuration when created', () => {
    expect(() => createTokenVerifier({ domain: 'http://tenant.example', audience: 'a' })).toThrow(/https/);
    expect(() => createTokenVerifier({ domain: emu.domain, audience: '' })).toThrow(/audience/);
    expect(() => createTokenVerifier({ domain: 'tenant.example/path', audience: 'a' })).toThrow(/bare domain/);
  });
});

describe('requireBearerAuth({ verifier }) answers with the status of each refusal', () => {
  async function run(token: string, o: Partial<TokenVerifierOptions> = {}): Promise<{ status: number; header?: string; body?: unknown; auth?: unknown }> {
    const req = { headers: { authorization: `Bearer ${token}` } } as never as { auth?: unknown };
    const out: { status: number; header?: string; body?: unknown; auth?: unknown } = { status: 0 };
    const res = {
      set: (_: string, v: string) => { out.header = v; return res; },
      status: (s: number) => { out.status = s; return { json: (b: unknown) => { out.body = b; } }; },
    };
    await requireBearerAuth({ verifier: verifier(o), resourceMetadataUrl: 'https://mcp.example/.well-known/oauth-protected-resource' })(req as never, res as never, () => { out.status = 200; out.auth = req.auth; });
    return out;
  }

  it('200 with req.auth; 401 invalid_token; 403 insufficient_scope; 500 when the keys are unreachable', async () => {
    const good = await signedByTenant(emu, { claims: { scope: 'read:a' } });
    const ok = await run(good);
    expect(ok.status).toBe(200);
    expect((ok.auth as { extra: { sub: string } }).extra.sub).toBe('omni-test-user');

    const wrongAud = await run(await signedByTenant(emu, { audience: 'https://other.example/api' }));
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.body).toMatchObject({ error: 'invalid_token' });
    expect(wrongAud.header).toContain('[audience_mismatch]');
    expect(wrongAud.header).toContain('resource_metadata="https://mcp.example/.well-known/oauth-protected-resource"');

    const scope = await run(good, { requiredScopes: ['write:b'] });
    expect(scope.status).toBe(403);
    expect(scope.body).toMatchObject({ error: 'insufficient_scope' });

    const down = await run(good, { jwks: { fetch: async () => { throw new Error('down'); } } });
    expect(down.status).toBe(500);
  });
});
