import { readFileSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader, jwtVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateMachineKey } from '../../src/identity/keys.js';
import { DEFAULT_LIFETIME_SECONDS, LOCAL_TOKEN_TYPE, MAX_LIFETIME_SECONDS, mintLocalToken } from '../../src/identity/local-token.js';
import { thumbprint } from '../../src/identity/thumbprint.js';

const machine = { host: 'build-7', user: 'ci', platform: 'linux' };

describe('mintLocalToken', () => {
  it.each(['ES256', 'EdDSA'] as const)('mints the contract of docs/local-token.md (%s)', async (alg) => {
    const key = await generateMachineKey(alg);
    const token = await mintLocalToken({ ...key, audience: 'https://t.eu.auth0.com/', clientId: 'abc', machine, now: 1_800_000_000 });
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg, typ: LOCAL_TOKEN_TYPE, kid: key.thumbprint });
    expect(header.jwk).toEqual(key.publicJwk);
    expect(thumbprint(header.jwk as { kty: string })).toBe(header.kid);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'omni-auth', sub: key.thumbprint, aud: 'https://t.eu.auth0.com/', azp: 'abc',
      iat: 1_800_000_000, nbf: 1_800_000_000, machine,
    });
    // The CLI mints right before use, for 60 s: a replay is bounded by the token's life (docs/local-token.md).
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(Buffer.from(claims.jti!, 'base64url').length).toBeGreaterThanOrEqual(16);
    // The signature verifies with the key carried in the header.
    const verified = await jwtVerify(token, await importJWK(header.jwk!, alg), { currentDate: new Date(1_800_000_000_000) });
    expect(verified.payload.sub).toBe(key.thumbprint);
  });

  it('uses a new jti for every token', async () => {
    const key = await generateMachineKey();
    const jtis = new Set<string>();
    for (let i = 0; i < 20; i++) {
      jtis.add(decodeJwt(await mintLocalToken({ ...key, audience: 'https://t/', clientId: 'c', machine })).jti!);
    }
    expect(jtis.size).toBe(20);
  });

  it('refuses a lifetime beyond the 120 s the Action accepts, and mints up to exactly that', async () => {
    const key = await generateMachineKey();
    const options = { ...key, audience: 'https://t/', clientId: 'c', machine, now: 1_800_000_000 };
    await expect(mintLocalToken({ ...options, lifetimeSeconds: 121 })).rejects.toThrow(RangeError);
    await expect(mintLocalToken({ ...options, lifetimeSeconds: 300 })).rejects.toThrow(RangeError);
    expect(decodeJwt(await mintLocalToken({ ...options, lifetimeSeconds: 120 })).exp).toBe(1_800_000_120);
    expect({ MAX_LIFETIME_SECONDS, DEFAULT_LIFETIME_SECONDS }).toEqual({ MAX_LIFETIME_SECONDS: 120, DEFAULT_LIFETIME_SECONDS: 60 });
  });

  it('agrees with the Action on the longest lifetime (the Action is plain JS with its own constant)', () => {
    const action = readFileSync(new URL('../../auth0-actions/custom_token_exchange.js', import.meta.url), 'utf8');
    expect(action).toMatch(new RegExp(`^const MAX_LIFETIME_SECONDS = ${MAX_LIFETIME_SECONDS};$`, 'm'));
  });
});
