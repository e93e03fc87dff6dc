/**
 * Authorization codes: issued by the sign-in page, redeemed once at /oauth/token with
 * `grant_type=authorization_code` (RFC 6749 §4.1.3) and PKCE S256 (RFC 7636 §4.6). The ID token
 * carries the request's `nonce` and the sign-in's `auth_time`; a refresh token is issued when
 * `offline_access` was asked for, the API allows offline access and the client has the
 * refresh_token grant.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AUTH_CODE_LIFETIME_MS, BAD_CODE_VERIFIER, INVALID_CODE, REDIRECT_URI_MISMATCH, USER_BLOCKED } from '../behaviour.js';
import { authenticateClient } from '../client-auth.js';
import { requireGrantType } from '../grants.js';
import type { EmulatorRequest } from '../http-types.js';
import { findApi, grantScopes, issueUserTokens, splitScope, wantsRefreshToken, type TokenResponse } from '../issue.js';
import { OAuthError, type Params } from '../oauth-error.js';
import type { AuthTransaction, Tenant, User } from '../state.js';

export function issueCode(tenant: Tenant, tx: AuthTransaction, user: User, authTime: number): string {
  const now = Date.now();
  for (const [c, r] of tenant.authCodes) if (now - r.created_at > AUTH_CODE_LIFETIME_MS) tenant.authCodes.delete(c);
  const code = randomBytes(32).toString('base64url');
  tenant.authCodes.set(code, {
    client_id: tx.client_id, user_id: user.user_id, redirect_uri: tx.redirect_uri, audience: tx.audience, scope: tx.scope,
    auth_time: authTime, created_at: now,
    ...(tx.nonce !== undefined ? { nonce: tx.nonce } : {}),
    ...(tx.code_challenge !== undefined ? { code_challenge: tx.code_challenge } : {}),
  });
  return code;
}

function verifierMatches(verifier: string | undefined, challenge: string): boolean {
  // RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~].
  if (verifier === undefined || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

export async function authorizationCode(tenant: Tenant, req: EmulatorRequest, params: Params): Promise<TokenResponse> {
  const { client } = await authenticateClient(tenant, params, req.headers);
  requireGrantType(client, 'authorization_code');
  const code = params.require('code');
  const record = tenant.authCodes.get(code);
  // Single use: a code is gone after its first redemption, right or wrong.
  tenant.authCodes.delete(code);
  if (!record || record.client_id !== client.client_id || Date.now() - record.created_at > AUTH_CODE_LIFETIME_MS) throw OAuthError.of(INVALID_CODE);
  if (params.get('redirect_uri') !== record.redirect_uri) throw OAuthError.of(REDIRECT_URI_MISMATCH);
  if (record.code_challenge !== undefined && !verifierMatches(params.get('code_verifier'), record.code_challenge)) {
    throw OAuthError.of(BAD_CODE_VERIFIER);
  }
  const user = tenant.users.get(record.user_id);
  const api = findApi(tenant, record.audience);
  if (!user || !api) throw OAuthError.of(INVALID_CODE);
  if (user.blocked) throw OAuthError.of(USER_BLOCKED);
  const requested = splitScope(record.scope);
  const refreshToken = wantsRefreshToken(requested, api) && client.grant_types.includes('refresh_token');
  return issueUserTokens({
    tenant, client, user, api, scopes: grantScopes(requested, api, refreshToken), refreshToken,
    protocolClaims: { auth_time: record.auth_time, ...(record.nonce !== undefined ? { nonce: record.nonce } : {}) },
  });
}
