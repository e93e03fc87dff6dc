/**
 * `omni-auth/server`: the other end of the wire — for MCP servers that accept Auth0 access tokens.
 *
 * - `createTokenVerifier` — an `OAuthTokenVerifier` for the MCP SDK's `requireBearerAuth`.
 * - `protectTools` / `requireToolPermission` — per-tool permissions (`tool:<name>`, Auth0 RBAC).
 * - `protectedResourceMetadata` — RFC 9728 discovery document and `WWW-Authenticate` value.
 * - `inspectAccessToken` — every check at once, for tools that explain refusals.
 *
 * This entry point loads only `jose` (and the MCP SDK's error classes, when a token is refused and
 * the SDK is installed); nothing of the omni-auth CLI. See docs/server.md.
 */
export { createTokenVerifier, type AuthInfo, type Auth0AuthInfo, type TokenVerifier, type TokenVerifierOptions } from './verifier.js';
export { inspectAccessToken, type InspectOptions } from './inspect.js';
export { AUTH0_ASYMMETRIC_ALGORITHMS, type Auth0Algorithm, type Refusal, type TokenFacts, type TokenReport, type TokenRules } from './check.js';
export { TOKEN_CHECKS, TokenError, ServerConfigError, isTokenError, type TokenCheck, type TokenErrorCode } from './errors.js';
export type { JwksCacheOptions } from './jwks.js';
export { protectTools, requireToolPermission, ToolForbiddenError, TOOL_FORBIDDEN, type McpServerLike, type ProtectToolsOptions, type ToolPermissionOptions, type ToolRefusal } from './tools.js';
export { protectedResourceMetadata, protectedResourceMetadataUrl, type ProtectedResourceMetadata, type ProtectedResourceMetadataDocument, type ProtectedResourceMetadataOptions } from './metadata.js';
export { tenantUrls, type TenantUrls } from './tenant.js';
