/**
 * The tenant's signing key and the JWTs it issues (RS256, like Auth0's default), plus the
 * verification the Management API and /userinfo use for bearer tokens.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as served at /.well-known/jwks.json. */
  publicJwk: JWK;
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const kid = randomBytes(16).toString('base64url');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

export interface IssueOptions {
  issuer: string;
  subject: string;
  audience: string | string[];
  lifetimeSeconds: number;
  claims?: Record<string, unknown>;
  now?: number;
  /** The header's `typ` (default `JWT`; RFC 9068 access tokens: `at+jwt`). */
  typ?: string;
}

/** Signs a JWT as the tenant does: RS256, `kid` in the header, a random `jti`. */
export async function issueJwt(key: SigningKey, o: IssueOptions): Promise<string> {
  const now = o.now ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ ...(o.claims ?? {}) })
    .setProtectedHeader({ alg: 'RS256', typ: o.typ ?? 'JWT', kid: key.kid })
    .setIssuer(o.issuer)
    .setSubject(o.subject)
    .setAudience(o.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + o.lifetimeSeconds)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key.privateKey);
}

/** Verifies a token this tenant issued, for `audience`; returns undefined when it is not valid. */
export async function verifyJwt(key: SigningKey, token: string, issuer: string, audience: string): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, { issuer, audience, algorithms: ['RS256'] });
    return payload;
  } catch {
    return undefined;
  }
}
