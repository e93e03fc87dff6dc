/**
 * Checks an access token before it is cached: when it is a JWT signed with the tenant's keys, its
 * signature (JWKS at `/.well-known/jwks.json`), issuer, audience and expiry. jose is imported inside
 * the function, so the warm `token` path (a cache hit) never loads it.
 */
import { ExitCode, OmniAuthError } from '../util/errors.js';
import { TOKEN_REQUEST_TIMEOUT_MS } from './http.js';
import { assertSecureUrl } from './secure-url.js';

export interface VerifiedClaims {
  sub: string;
  /** Seconds since the epoch. */
  exp: number;
}

export interface VerifyOptions {
  /** Normalised origin; the expected issuer is `${domain}/`. */
  domain: string;
  audience: string;
  /** For tests. */
  currentDate?: Date;
}

/**
 * How long the signing keys may take to arrive (jose's default is 5 s): as long as a token answer
 * (http.ts `TOKEN_REQUEST_TIMEOUT_MS`, 30 s). The token is already issued and its exchange spent: a
 * key fetch given up on throws both away (issue 14 §2: a herd on a loaded tenant lost dozens so).
 */
export const JWKS_TIMEOUT_MS = TOKEN_REQUEST_TIMEOUT_MS;

/** What Auth0 signs access tokens with (RS256 by default, PS256 optionally), and their kin. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** jose's codes for "this token is not what it claims"; any other failure is fetching the keys. */
const NOT_VALID = new Set([
  'ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_JWT_EXPIRED', 'ERR_JWT_INVALID', 'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JOSE_NOT_SUPPORTED',
]);

/**
 * @returns the verified `sub` and `exp`; undefined for a token we cannot check — opaque (not three
 * base64url segments with a JSON header, e.g. Auth0's JWE) or HS*-signed (the API's secret, not ours).
 * @throws `token_unverified` (exit 3) when the token fails a check: the caller must not cache it;
 * `jwks_unavailable` (exit 4) when the keys cannot be fetched.
 */
export async function verifyAccessToken(accessToken: string, options: VerifyOptions): Promise<VerifiedClaims | undefined> {
  const header = jwsHeaderOf(accessToken);
  if (!header || (typeof header.alg === 'string' && header.alg.startsWith('HS'))) return undefined;
  const origin = new URL(options.domain).origin;
  const jwksUrl = new URL('/.well-known/jwks.json', origin);
  assertSecureUrl(jwksUrl);
  const { createRemoteJWKSet, customFetch, jwtVerify } = await import('jose');
  try {
    // Through the proxy and extra CAs when configured (issue 11 §4, src/exchange/undici-transport.ts).
    const { networkFetch } = await import('./undici-transport.js');
    // jose gives up on the JWKS after 5 s by default; the exchange before it may have waited its turn
    // under the tenant's rate limit, and a token thrown away for a slow key fetch costs another turn.
    const keys = createRemoteJWKSet(jwksUrl, { [customFetch]: await networkFetch(), timeoutDuration: JWKS_TIMEOUT_MS });
    const { payload } = await jwtVerify(accessToken, keys, {
      issuer: `${origin}/`,
      audience: options.audience,
      algorithms: ASYMMETRIC,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: 30,
      currentDate: options.currentDate,
    });
    return { sub: payload.sub as string, exp: payload.exp as number };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const says = e instanceof Error ? e.message : String(e);
    if (typeof code === 'string' && NOT_VALID.has(code)) {
      throw new OmniAuthError('token_unverified', `the access token from ${jwksUrl.host} does not verify: ${says}`, {
        exitCode: ExitCode.refused,
        cause: e,
        details: { reason: code },
        hint: `it was not cached. Check that the domain is the tenant's issuer (with a custom domain, use it) and that the audience is the API identifier (${options.audience})`,
      });
    }
    throw new OmniAuthError('jwks_unavailable', `could not fetch the tenant's signing keys from ${jwksUrl.href}: ${says}`, {
      exitCode: ExitCode.unreachable,
      cause: e,
      hint: 'check the network or proxy, then try again',
    });
  }
}

/** The protected header of a compact JWS, or undefined when the token is not one. */
function jwsHeaderOf(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? (header as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
