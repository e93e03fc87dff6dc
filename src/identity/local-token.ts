import { randomBytes } from 'node:crypto';
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import type { BindingClaim } from './binding.js';
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
  /**
   * The key↔person binding (src/identity/binding.ts) for this (issuer, client) made with this key: sent
   * as the `binding` claim, signed by the key like the rest of the payload.
   */
  binding?: BindingClaim;
}

/** The longest local token the CLI sends (CONTRACTS-10 §5): a binding must not push it past this. */
export const MAX_LOCAL_TOKEN_LENGTH = 8192;

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
  const binding = options.binding ? { binding: { id_token: options.binding.id_token, salt: options.binding.salt } } : {};
  const token = await new SignJWT({ machine: { ...options.machine }, azp: options.clientId, ...binding })
    .setProtectedHeader({ alg: options.alg, typ: LOCAL_TOKEN_TYPE, jwk, kid })
    .setIssuer(LOCAL_TOKEN_ISSUER)
    .setSubject(kid)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + lifetime)
    .setJti(randomBytes(32).toString('base64url'))
    .sign(options.privateKey);
  if (token.length > MAX_LOCAL_TOKEN_LENGTH) {
    throw new RangeError(`the local token would be ${token.length} characters; at most ${MAX_LOCAL_TOKEN_LENGTH}`);
  }
  return token;
}
