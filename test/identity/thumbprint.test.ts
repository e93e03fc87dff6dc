import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { publicMembers, thumbprint } from '../../src/identity/thumbprint.js';

describe('thumbprint (RFC 7638)', () => {
  it('matches the Ed25519 example of RFC 8037 §A.3', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    expect(thumbprint(jwk)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('agrees with jose for P-256 keys and ignores non-required members', async () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey } = await generateKeyPair('ES256', { extractable: true });
      const jwk = await exportJWK(publicKey);
      const expected = await calculateJwkThumbprint(jwk, 'sha256');
      expect(thumbprint({ ...(jwk as { kty: string }), kid: 'ignored', use: 'sig' })).toBe(expected);
    }
  });

  it('names the missing member', () => {
    expect(() => thumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' })).toThrow('"y" Parameter missing or invalid');
    expect(() => thumbprint({ kty: 'RSA' })).toThrow('"kty" (Key Type) Parameter unsupported');
  });

  it('publicMembers never copies the private key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    expect(jwk.d).toBeTypeOf('string');
    const pub = publicMembers(jwk as { kty: string });
    expect(Object.keys(pub).sort()).toEqual(['crv', 'kty', 'x', 'y']);
  });
});
