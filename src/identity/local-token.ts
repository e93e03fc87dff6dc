import { randomBytes } from 'node:crypto';
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import type { MachineInfo } from './machine.js';
import { publicMembers, thumbprint, type PublicJwk } from './thumbprint.js';

/**
 * The local token: the contract between this CLI and the Auth0 Action
 * (docs/local-token.md). Every constant of that contract lives here.
 */
export const LOCAL_TOKEN_TYPE = 'omni-local+jwt';
export const LOCAL_TOKEN_ISSUER = 'omni-auth';
export const SUBJECT_TOKEN_TYPE = 'urn:omnispindle:local-auth';
/** The Action refuses tokens that live longer than this. */
export const MAX_LIFETIME_SECONDS = 300;
/** We mint shorter than the maximum so clock skew and retries fit inside it. */
export const DEFAULT_LIFETIME_SECONDS = 120;

export type LocalTokenAlg = 'ES256' | 'EdDSA';

export interface MintOptions {
  privateKey: CryptoKey | KeyObject;
  publicJwk: PublicJwk;
  alg: LocalTokenAlg;
  /** The tenant issuer URL, `https://{domain}/`. */
  audience: string;
  /** The Auth0 client id the token is meant for. */
  clientId: string;
  machine: MachineInfo;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
  lifetimeSeconds?: number;
}

/** Mints a fresh local token; a new 256-bit `jti` every call, so a retry never replays. */
export async function mintLocalToken(options: MintOptions): Promise<string> {
  const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (!(lifetime > 0 && lifetime <= MAX_LIFETIME_SECONDS)) {
    throw new RangeError(`lifetimeSeconds must be within 1..${MAX_LIFETIME_SECONDS}`);
  }
  const jwk = publicMembers(options.publicJwk);
  const kid = thumbprint(jwk);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ machine: { ...options.machine }, azp: options.clientId })
    .setProtectedHeader({ alg: options.alg, typ: LOCAL_TOKEN_TYPE, jwk, kid })
    .setIssuer(LOCAL_TOKEN_ISSUER)
    .setSubject(kid)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + lifetime)
    .setJti(randomBytes(32).toString('base64url'))
    .sign(options.privateKey);
}
