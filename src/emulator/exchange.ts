/**
 * The Custom Token Exchange grant (`urn:ietf:params:oauth:grant-type:token-exchange`), in the order
 * Auth0 applies its checks: request, client, profile, client permission, audience, consent,
 * Suspicious IP Throttling, then the profile's Action, the user it sets, the post-login Actions,
 * and the tokens.
 */
import { randomBytes } from 'node:crypto';
import {
  runCustomTokenExchangeAction, runPostLoginAction, type ActionOutcome, type CustomTokenExchangeEvent,
} from './action-runtime.js';
import { postLoginEvent, runPostLoginFlow } from './action-runtime/post-login-flow.js';
import {
  ACTION_FAILED, ACTION_NOT_DEPLOYED, ACTOR_PAIR, CLIENT_NOT_ALLOWED, CLIENT_NOT_ELIGIBLE, CONSENT_REQUIRED, EMULATOR_TENANT_ID,
  MFA_REQUIRED, NO_PROFILE, NOT_A_NAMESPACE, POST_LOGIN_DENIED, REJECTED, REQUESTED_TOKEN_TYPE, RESERVED_NAMESPACE,
  TOO_MANY_ATTEMPTS, defaultAudience, deniedStatus,
} from './behaviour.js';
import { authenticateClient } from './client-auth.js';
import type { EmulatorRequest } from './http-types.js';
import { ACCESS_TOKEN_TYPE, findApi, grantScopes, issueUserTokens, splitScope, wantsRefreshToken, type TokenResponse } from './issue.js';
import { OAuthError, type Params } from './oauth-error.js';
import { resolveUser } from './resolve-user.js';
import type { Action, Client, Tenant, TokenExchangeProfile } from './state.js';
import { subjectTokenTypeProblem } from './subject-token-type.js';
import { normalizeIp, type IpThrottle } from './throttle.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const THROTTLE_STAGE = 'pre-custom-token-exchange';
const TRIGGER = 'custom-token-exchange';

export interface ExchangeContext {
  tenant: Tenant;
  throttle: IpThrottle;
}

interface Transaction {
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
}

function readTransaction(params: Params): Transaction {
  const subjectToken = params.require('subject_token');
  const subjectTokenType = params.require('subject_token_type');
  if (params.get('requested_token_type') !== undefined) throw OAuthError.of(REQUESTED_TOKEN_TYPE);
  const problem = subjectTokenTypeProblem(subjectTokenType);
  if (problem === 'reserved') throw OAuthError.of(RESERVED_NAMESPACE);
  if (problem === 'not-a-namespace') throw OAuthError.of(NOT_A_NAMESPACE);
  const actorToken = params.get('actor_token');
  const actorTokenType = params.get('actor_token_type');
  if ((actorToken === undefined) !== (actorTokenType === undefined)) throw OAuthError.of(ACTOR_PAIR);
  return { subjectToken, subjectTokenType, actorToken, actorTokenType };
}

function findProfile(tenant: Tenant, subjectTokenType: string): TokenExchangeProfile {
  for (const p of tenant.profiles.values()) {
    if (p.subject_token_type === subjectTokenType && p.type === 'custom_authentication') return p;
  }
  throw OAuthError.of(NO_PROFILE);
}

function checkClientAllowed(client: Client): void {
  if (!client.is_first_party || !client.oidc_conformant) throw OAuthError.of(CLIENT_NOT_ELIGIBLE);
  if (!client.token_exchange?.allow_any_profile_of_type.includes('custom_authentication')) throw OAuthError.of(CLIENT_NOT_ALLOWED);
}

/** The profile's Action with its live version: during a redeploy, the previous one until the new one is live. */
function deployedAction(tenant: Tenant, profile: TokenExchangeProfile): Action & { deployed_version: NonNullable<Action['deployed_version']> } {
  const action = tenant.actions.get(profile.action_id);
  if (!action?.deployed_version?.deployed) throw OAuthError.of(ACTION_NOT_DEPLOYED);
  return action as Action & { deployed_version: NonNullable<Action['deployed_version']> };
}

/**
 * The caller's IP: the socket's, or `auth0-forwarded-for` when a confidential client that proved
 * itself has Auth0's "Trust Token Endpoint IP Header" (`token_endpoint_ip_header_trusted`) on.
 */
function callerIp(req: EmulatorRequest, client: Client, withSecret: boolean): string {
  const forwarded = req.headers['auth0-forwarded-for'];
  if (withSecret && client.token_endpoint_ip_header_trusted === true && typeof forwarded === 'string' && forwarded.trim()) {
    return normalizeIp(forwarded.trim());
  }
  return normalizeIp(req.ip);
}

function buildEvent(req: EmulatorRequest, params: Params, client: Client, audience: string, ip: string, tx: Transaction): CustomTokenExchangeEvent {
  const host = req.headers.host ?? '';
  const language = req.headers['accept-language']?.split(',')[0]?.split(';')[0]?.trim();
  return {
    client: { client_id: client.client_id, name: client.name, metadata: { ...client.client_metadata } },
    request: {
      ip,
      method: req.method,
      hostname: host.replace(/:\d+$/, ''),
      ...(language ? { language } : {}),
      ...(req.headers['user-agent'] ? { user_agent: req.headers['user-agent'] } : {}),
      geoip: {},
      body: params.forAction(),
    },
    resource_server: { identifier: audience },
    tenant: { id: EMULATOR_TENANT_ID },
    transaction: {
      subject_token: tx.subjectToken,
      subject_token_type: tx.subjectTokenType,
      requested_scopes: splitScope(params.get('scope')),
      requested_token_type: null,
      ...(tx.actorToken !== undefined ? { actor_token: tx.actorToken, actor_token_type: tx.actorTokenType } : {}),
    },
  };
}

/** `org_id` for an organization id (`org_…`), else `org_name`; Organizations are not otherwise emulated. */
function organizationClaim(organization: unknown): Record<string, unknown> {
  if (typeof organization === 'string' && organization) {
    return organization.startsWith('org_') ? { org_id: organization } : { org_name: organization };
  }
  if (organization && typeof organization === 'object' && typeof (organization as { id?: unknown }).id === 'string') {
    return { org_id: (organization as { id: string }).id };
  }
  return {};
}

function actionCache(tenant: Tenant): Map<string, { value: string; expires_at: number }> {
  let cache = tenant.actionCache.get(TRIGGER);
  if (!cache) {
    cache = new Map();
    tenant.actionCache.set(TRIGGER, cache);
  }
  return cache;
}

export async function tokenExchange(ctx: ExchangeContext, req: EmulatorRequest, params: Params): Promise<TokenResponse> {
  const { tenant, throttle } = ctx;
  const tx = readTransaction(params);
  const { client, withSecret } = await authenticateClient(tenant, params, req.headers);
  const profile = findProfile(tenant, tx.subjectTokenType);
  checkClientAllowed(client);
  const audience = params.get('audience') ?? defaultAudience(tenant);
  const api = findApi(tenant, audience);
  if (!api) throw new OAuthError(403, 'access_denied', `Service not found: ${audience}`);
  if (!api.skip_consent_for_verifiable_first_party_clients) throw OAuthError.of(CONSENT_REQUIRED);

  const ip = callerIp(req, client, withSecret);
  const throttling = tenant.attackProtection.suspiciousIpThrottling;
  if (!throttle.allows(ip, throttling)) throw OAuthError.of(TOO_MANY_ATTEMPTS);

  const action = deployedAction(tenant, profile);
  const version = action.deployed_version;
  const event = buildEvent(req, params, client, audience, ip, tx);
  const outcome: ActionOutcome = await runCustomTokenExchangeAction({
    code: version.code,
    dependencies: version.dependencies,
    secrets: Object.fromEntries(version.secrets.map((s) => [s.name, s.value])),
    event,
    cache: actionCache(tenant),
    timeoutMs: tenant.settings.actionTimeoutMs,
    forgetCache: tenant.settings.forgetActionCache === true,
  });

  switch (outcome.kind) {
    case 'rejected':
      throttle.consume(ip, throttling);
      throw new OAuthError(REJECTED.status, REJECTED.error, outcome.reason);
    case 'denied':
      throw new OAuthError(deniedStatus(outcome.code), outcome.code, outcome.reason);
    case 'failed':
      throw new OAuthError(ACTION_FAILED.status, ACTION_FAILED.error, outcome.reason);
    case 'user': {
      const user = resolveUser({ tenant, client, choice: outcome.user, appMetadata: outcome.appMetadata, userMetadata: outcome.userMetadata });
      const after = await runPostLoginFlow(tenant, user, () => postLoginEvent(tenant, client, user, event, outcome.organization), runPostLoginAction);
      if (after.kind === 'denied') throw new OAuthError(POST_LOGIN_DENIED.status, POST_LOGIN_DENIED.error, after.reason);
      if (after.kind === 'failed') throw new OAuthError(ACTION_FAILED.status, ACTION_FAILED.error, after.reason);
      if (after.mfa) {
        // No MFA API is emulated: the token only shows the shape of Auth0's answer.
        throw new OAuthError(MFA_REQUIRED.status, MFA_REQUIRED.error, MFA_REQUIRED.description, {}, { mfa_token: randomBytes(32).toString('base64url') });
      }
      const requested = splitScope(params.get('scope'));
      const refreshToken = wantsRefreshToken(requested, api);
      const tokens = await issueUserTokens({
        tenant, client, user, api, scopes: grantScopes(requested, api, refreshToken), refreshToken,
        claims: { ...after.accessTokenClaims, ...organizationClaim(outcome.organization), ...(outcome.actor ? { act: outcome.actor } : {}) },
        idTokenClaims: after.idTokenClaims,
      });
      return { ...tokens, issued_token_type: ACCESS_TOKEN_TYPE };
    }
  }
}
