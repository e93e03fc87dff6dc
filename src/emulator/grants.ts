/** The two plain grants of /oauth/token: `client_credentials` (Management API tokens) and `refresh_token`. */
import { REVOKE_OTHER_CLIENT, SCOPE_WIDENED, USER_BLOCKED } from './behaviour.js';
import { authenticateClient } from './client-auth.js';
import type { EmulatorRequest } from './http-types.js';
import { dialectClaims, findApi, issueUserTokens, splitScope, type TokenResponse } from './issue.js';
import { OAuthError, type Params } from './oauth-error.js';
import { isRfc9068, withPermissionsClaim } from './rbac.js';
import type { Client, Tenant } from './state.js';
import { issueJwt } from './tokens.js';

export function requireGrantType(client: Client, grant: string): void {
  if (!client.grant_types.includes(grant)) {
    throw new OAuthError(403, 'unauthorized_client', `Grant type '${grant}' not allowed for the client.`);
  }
}

export async function clientCredentials(tenant: Tenant, req: EmulatorRequest, params: Params): Promise<TokenResponse> {
  const { client } = await authenticateClient(tenant, params, req.headers, true);
  requireGrantType(client, 'client_credentials');
  const audience = params.get('audience');
  if (audience === undefined) {
    throw new OAuthError(403, 'access_denied', 'No audience parameter was provided, and no default audience has been configured');
  }
  const api = findApi(tenant, audience);
  if (!api) throw new OAuthError(403, 'access_denied', `Service not found: ${audience}`);
  const grant = tenant.clientGrants.find((g) => g.client_id === client.client_id && g.audience === audience);
  if (!grant) {
    throw new OAuthError(403, 'access_denied',
      `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API.`);
  }
  const requested = splitScope(params.get('scope'));
  const missing = requested.filter((s) => !grant.scope.includes(s));
  if (missing.length > 0) throw new OAuthError(403, 'access_denied', `Client has not been granted scopes: ${missing.join(' ')}`);
  const scope = (requested.length > 0 ? requested : grant.scope).join(' ');
  const access_token = await issueJwt(tenant.signingKey, {
    issuer: tenant.issuer, subject: `${client.client_id}@clients`, audience, lifetimeSeconds: api.token_lifetime,
    // RBAC for a machine: its `permissions` are all the scopes its client grant holds, whatever it
    // requested (no user, no roles; Auth0 Community "Scopes and permissions with RBAC for M2M").
    claims: {
      scope, gty: 'client-credentials', azp: client.client_id, ...dialectClaims(api, client.client_id),
      ...(withPermissionsClaim(api) ? { permissions: [...grant.scope] } : {}),
    },
    ...(isRfc9068(api) ? { typ: 'at+jwt' } : {}),
  });
  return { access_token, scope, expires_in: api.token_lifetime, token_type: 'Bearer' };
}

const invalidGrant = (): OAuthError => new OAuthError(403, 'invalid_grant', 'Unknown or invalid refresh token.');

/** A new access token (and ID token with `openid`) for a stored refresh token; no rotation. */
export async function refreshToken(tenant: Tenant, req: EmulatorRequest, params: Params): Promise<TokenResponse> {
  const { client } = await authenticateClient(tenant, params, req.headers);
  requireGrantType(client, 'refresh_token');
  const record = tenant.refreshTokens.get(params.require('refresh_token'));
  if (!record || record.client_id !== client.client_id) throw invalidGrant();
  const user = tenant.users.get(record.user_id);
  const api = findApi(tenant, record.audience);
  if (!user || !api) throw invalidGrant();
  if (user.blocked) throw OAuthError.of(USER_BLOCKED);
  const original = splitScope(record.scope);
  const requested = splitScope(params.get('scope'));
  if (requested.some((s) => !original.includes(s))) throw OAuthError.of(SCOPE_WIDENED);
  const scopes = requested.length > 0 ? requested : original;
  return issueUserTokens({ tenant, client, user, api, scopes, refreshToken: false });
}

/** RFC 7009 revocation of a refresh token; unknown tokens are answered 200 as the RFC asks. */
export async function revoke(tenant: Tenant, req: EmulatorRequest, params: Params): Promise<void> {
  const { client } = await authenticateClient(tenant, params, req.headers);
  const token = params.require('token');
  const record = tenant.refreshTokens.get(token);
  if (!record) return;
  if (record.client_id !== client.client_id) throw OAuthError.of(REVOKE_OTHER_CLIENT);
  tenant.refreshTokens.delete(token);
}
