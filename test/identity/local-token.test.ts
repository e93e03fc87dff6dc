import { decodeJwt, decodeProtectedHeader, jwtVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateMachineKey } from '../../src/identity/keys.js';
import { LOCAL_TOKEN_TYPE, mintLocalToken } from '../../src/identity/local-token.js';
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
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
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

  it('refuses a lifetime beyond the contract', async () => {
    const key = await generateMachineKey();
    await expect(mintLocalToken({ ...key, audience: 'https://t/', clientId: 'c', machine, lifetimeSeconds: 301 })).rejects.toThrow(RangeError);
  });
});
