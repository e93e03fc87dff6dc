/**
 * The part of a cache entry every token the tenant answers shares (exchange, refresh, CI job,
 * client credentials): expiry and subject from the verified access token when it verifies against the
 * tenant's JWKS, else from the answer. Each caller adds what is its own (refresh token, key thumbprint).
 */
import type { CachedToken } from '../cache/token-cache.js';
import type { TokenResponse } from '../exchange/exchange.js';
import { verifyAccessToken } from '../exchange/verify.js';

export async function verifiedEntry(
  response: TokenResponse,
  tenant: { domain: string; audience: string },
  now: () => number,
  /** The scope asked for, kept when the answer names none (Auth0 omits it when unchanged). */
  askedScope: string | undefined,
): Promise<CachedToken> {
  const verified = await verifyAccessToken(response.access_token, tenant);
  const obtainedAt = now();
  const scope = response.scope || askedScope;
  return {
    access_token: response.access_token,
    token_type: response.token_type,
    expires_at: verified?.exp ?? obtainedAt + response.expires_in,
    obtained_at: obtainedAt,
    ...(scope !== undefined ? { scope } : {}),
    ...(verified?.sub ? { subject: verified.sub } : {}),
  };
}
