/**
 * The tokens the tenant issues to a user: an RS256 access token for the API (plus the /userinfo
 * audience when `openid` is granted, as Auth0 does), an ID token with `openid`, and an opaque
 * refresh token with `offline_access` when the API allows offline access.
 */
import { randomBytes } from 'node:crypto';
import { ID_TOKEN_LIFETIME_SECONDS } from './behaviour.js';
import { applyRbac, isRfc9068 } from './rbac.js';
import type { Client, ResourceServer, Tenant, User } from './state.js';
import { issueJwt } from './tokens.js';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const OIDC_SCOPES = new Set(['openid', 'profile', 'email']);

export interface TokenResponse {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  issued_token_type?: string;
}

export const splitScope = (scope: string | undefined): string[] => [...new Set((scope ?? '').split(' ').filter(Boolean))];

/**
 * What is granted of the requested scopes: the OIDC ones, `offline_access` only when a refresh
 * token will be issued, and the API's own scopes it defines. RBAC (the user's permissions) is applied
 * on top by issueUserTokens, for every grant.
 */
export function grantScopes(requested: readonly string[], api: ResourceServer, refreshToken: boolean): string[] {
  const apiScopes = new Set(api.scopes.map((s) => s.value));
  return requested.filter((s) => OIDC_SCOPES.has(s) || (s === 'offline_access' && refreshToken) || apiScopes.has(s));
}

export const wantsRefreshToken = (requested: readonly string[], api: ResourceServer): boolean =>
  requested.includes('offline_access') && api.allow_offline_access;

/** The standard claims of `user` that `scopes` release (OIDC Core §5.4), for ID tokens and /userinfo. */
export function profileClaims(user: User, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  const copy = (names: readonly (keyof User)[]): void => {
    for (const name of names) if (user[name] !== undefined) claims[name] = user[name];
  };
  if (scopes.includes('profile')) {
    copy(['name', 'nickname', 'given_name', 'family_name', 'picture']);
    claims.updated_at = user.updated_at;
  }
  if (scopes.includes('email')) copy(['email', 'email_verified']);
  return claims;
}

export interface UserTokenOptions {
  tenant: Tenant;
  client: Client;
  user: User;
  api: ResourceServer;
  /** The scopes granted (already filtered by grantScopes, or a refresh token's). */
  scopes: string[];
  /** Issue and store a refresh token. */
  refreshToken: boolean;
  /** Extra access-token claims (`act`, `org_id`, post-login custom claims). */
  claims?: Record<string, unknown>;
  /** Extra ID-token claims (post-login `api.idToken.setCustomClaim`). */
  idTokenClaims?: Record<string, unknown>;
  /** ID-token claims of the protocol (`nonce`, `auth_time`) that nothing else may override. */
  protocolClaims?: Record<string, unknown>;
}

/** The claims an access token's dialect adds: RFC 9068's `client_id` (with `azp` kept, as Auth0 shows both). */
export function dialectClaims(api: ResourceServer, clientId: string): Record<string, unknown> {
  return isRfc9068(api) ? { client_id: clientId } : {};
}

export async function issueUserTokens(o: UserTokenOptions): Promise<TokenResponse> {
  const { tenant, client, user, api } = o;
  // RBAC: the API scopes the user holds, and the `permissions` claim of an _authz dialect.
  const rbac = applyRbac(tenant, api, user.user_id, o.scopes);
  const scopes = rbac.scopes;
  const openid = scopes.includes('openid');
  const issuer = tenant.issuer;
  const audience = openid ? [api.identifier, `${issuer}userinfo`] : api.identifier;
  const scope = scopes.join(' ');
  const access_token = await issueJwt(tenant.signingKey, {
    issuer, subject: user.user_id, audience, lifetimeSeconds: api.token_lifetime,
    claims: {
      ...o.claims, azp: client.client_id, ...dialectClaims(api, client.client_id), scope,
      ...(rbac.permissions !== undefined ? { permissions: rbac.permissions } : {}),
    },
    ...(isRfc9068(api) ? { typ: 'at+jwt' } : {}),
  });
  const response: TokenResponse = { access_token, token_type: 'Bearer', expires_in: api.token_lifetime, scope };
  if (openid) {
    response.id_token = await issueJwt(tenant.signingKey, {
      issuer, subject: user.user_id, audience: client.client_id, lifetimeSeconds: ID_TOKEN_LIFETIME_SECONDS,
      claims: { ...o.idTokenClaims, ...profileClaims(user, scopes), ...o.protocolClaims },
    });
  }
  if (o.refreshToken) {
    const token = randomBytes(32).toString('base64url');
    // The scopes before RBAC: a refresh re-applies the user's permissions as they are then.
    tenant.refreshTokens.set(token, {
      client_id: client.client_id, user_id: user.user_id, audience: api.identifier, scope: o.scopes.join(' '), created_at: Date.now(),
    });
    response.refresh_token = token;
  }
  return response;
}

export function findApi(tenant: Tenant, identifier: string): ResourceServer | undefined {
  for (const api of tenant.resourceServers.values()) if (api.identifier === identifier) return api;
  return undefined;
}
