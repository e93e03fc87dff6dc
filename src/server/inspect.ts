/**
 * `inspectAccessToken`: every check a server configured with `rules` would make, all reported — what
 * `omni-auth verify` prints. Unlike the verifier, it does not stop at the first refusal.
 */
import { checkToken, type Auth0Algorithm, type TokenReport } from './check.js';
import { createJwksCache, type JwksCacheOptions } from './jwks.js';
import { tenantUrls } from './tenant.js';

export interface InspectOptions {
  domain: string;
  audience: string;
  requiredScopes?: readonly string[];
  requiredPermissions?: readonly string[];
  clockTolerance?: number;
  algorithms?: readonly Auth0Algorithm[];
  jwks?: JwksCacheOptions;
}

/** @throws TokenError `jwks_unavailable` when the tenant's keys cannot be fetched; ServerConfigError for a bad domain. */
export async function inspectAccessToken(token: string, options: InspectOptions): Promise<TokenReport & { issuer: string; jwksUri: string }> {
  const { issuer, jwksUri } = tenantUrls(options.domain);
  const now = options.jwks?.now ?? Date.now;
  const report = await checkToken(token, {
    issuer,
    audience: options.audience,
    ...(options.requiredScopes ? { requiredScopes: options.requiredScopes } : {}),
    ...(options.requiredPermissions ? { requiredPermissions: options.requiredPermissions } : {}),
    ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
    ...(options.algorithms ? { algorithms: options.algorithms } : {}),
  }, createJwksCache(jwksUri, options.jwks), Math.floor(now() / 1000));
  return { ...report, issuer, jwksUri };
}
