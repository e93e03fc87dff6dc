/** The OIDC discovery document, the JWKS, and /userinfo. */
import { profileClaims, splitScope } from './issue.js';
import type { EmulatorReply, EmulatorRequest } from './http-types.js';
import type { Tenant } from './state.js';
import { verifyJwt } from './tokens.js';
import { TOKEN_EXCHANGE_GRANT } from './exchange.js';

export function openidConfiguration(tenant: Tenant): Record<string, unknown> {
  const i = tenant.issuer;
  return {
    issuer: i,
    // The sign-in page (signin/authorize.ts): Authorization Code Flow with PKCE S256.
    authorization_endpoint: `${i}authorize`,
    token_endpoint: `${i}oauth/token`,
    device_authorization_endpoint: `${i}oauth/device/code`,
    userinfo_endpoint: `${i}userinfo`,
    jwks_uri: `${i}.well-known/jwks.json`,
    revocation_endpoint: `${i}oauth/revoke`,
    scopes_supported: ['openid', 'profile', 'offline_access', 'name', 'given_name', 'family_name', 'nickname', 'email',
      'email_verified', 'picture', 'created_at', 'identities', 'phone', 'address'],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token', TOKEN_EXCHANGE_GRANT],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'PS256'],
    claims_supported: ['aud', 'auth_time', 'created_at', 'email', 'email_verified', 'exp', 'family_name', 'given_name',
      'iat', 'identities', 'iss', 'name', 'nickname', 'phone_number', 'picture', 'sub'],
    request_uri_parameter_supported: false,
    request_parameter_supported: false,
  };
}

export const jwks = (tenant: Tenant): Record<string, unknown> => ({ keys: [tenant.signingKey.publicJwk] });

function unauthorized(description: string): EmulatorReply {
  return {
    status: 401,
    body: { error: 'invalid_token', error_description: description },
    headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"` },
  };
}

/** The profile of the access token's user, as much as its scopes release. */
export async function userinfo(tenant: Tenant, req: EmulatorRequest): Promise<EmulatorReply> {
  const header = req.headers.authorization;
  const match = header ? /^bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) return unauthorized('An access token is required.');
  const payload = await verifyJwt(tenant.signingKey, match[1]!, tenant.issuer, `${tenant.issuer}userinfo`);
  const user = payload?.sub ? tenant.users.get(payload.sub) : undefined;
  if (!payload || !user) return unauthorized('The access token is invalid or expired.');
  const scopes = splitScope(typeof payload.scope === 'string' ? payload.scope : '');
  return { status: 200, body: { sub: user.user_id, ...profileClaims(user, scopes) } };
}
