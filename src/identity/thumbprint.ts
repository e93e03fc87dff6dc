import { createHash } from 'node:crypto';

/** The public members of the JWKs the local token may carry (RFC 7517/8037). */
export interface PublicJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  [member: string]: unknown;
}

/** The members RFC 7638 §3.2 requires per key type, already in lexicographic order. */
const REQUIRED: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/**
 * RFC 7638 JWK SHA-256 thumbprint, base64url: the hash of the required members in lexicographic
 * order, without whitespace. Written on node:crypto (not jose) so `status` and the warm `token` path
 * can name the key without loading the JOSE library.
 *
 * @example thumbprint({kty:'EC', crv:'P-256', x:'…', y:'…'}) // → 43 base64url characters
 */
export function thumbprint(jwk: PublicJwk): string {
  const members = REQUIRED[jwk.kty];
  if (!members) throw new TypeError(`"kty" (Key Type) Parameter unsupported: ${String(jwk.kty)}`);
  const parts = members.map((name) => {
    const value = jwk[name];
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`"${name}" Parameter missing or invalid`);
    }
    return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  });
  return createHash('sha256').update(`{${parts.join(',')}}`).digest('base64url');
}

/** Only the public members of an EC or OKP JWK: never copy `d` (or anything else) by accident. */
export function publicMembers(jwk: PublicJwk): PublicJwk {
  const members = REQUIRED[jwk.kty];
  if (!members) throw new TypeError(`"kty" (Key Type) Parameter unsupported: ${String(jwk.kty)}`);
  const out: PublicJwk = { kty: jwk.kty };
  for (const name of members) if (name !== 'kty') out[name] = jwk[name];
  return out;
}
