import { randomBytes } from 'node:crypto';
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import type { MachineInfo } from './machine.js';
import { publicMembers, thumbprint, type PublicJwk } from './thumbprint.js';

import { DEFAULT_LIFETIME_SECONDS, LOCAL_TOKEN_ISSUER, LOCAL_TOKEN_TYPE, MAX_LIFETIME_SECONDS, type LocalTokenAlg } from './contract.js';

export * from './contract.js';

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
  /** Defaults to 60 s (DEFAULT_LIFETIME_SECONDS); at most 120 s, the longest the Action accepts. */
  lifetimeSeconds?: number;
}

/**
 * Mints a fresh local token, to be sent right away: a new 256-bit `jti` every call, so a retry never
 * replays, and a short life, because a token's lifetime — not the Action's best-effort replay store —
 * is what bounds a replay (docs/local-token.md).
 */
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
