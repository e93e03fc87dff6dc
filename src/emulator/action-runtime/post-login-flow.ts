/**
 * The post-login Actions that run after a successful Custom Token Exchange ("Custom Token Exchange
 * trigger": "If the Action successfully completes and sets a user for the transaction, post-login
 * Actions and the rest of the Auth0 pipeline are then executed for that logged-in user", with
 * `event.transaction.protocol` "oauth2-token-exchange").
 *
 * Every Action bound to the `post-login` trigger (tenant.triggerBindings, in order) that has a
 * deployed version runs, one after the other, until one denies or fails (Auth0's post-login "API
 * Object" § api.access.deny: "no further Actions will be executed"). Metadata changes of a denying
 * Action still apply ("This will NOT cancel other user-related side effects"); the claims of every
 * Action that ran are merged, later ones winning; MFA is required when any Action enabled it.
 */
import type { Client, Tenant, User } from '../state.js';
import type { CustomTokenExchangeEvent, PostLoginEvent, PostLoginOutcome } from './types.js';

export const POST_LOGIN_TRIGGER = 'post-login';
export const TOKEN_EXCHANGE_PROTOCOL = 'oauth2-token-exchange';

/**
 * Claims an Action cannot set: "OPENID standard claims and claims used internally by Auth0 cannot be
 * customized or modified … In case of collisions, the transaction won't fail, but your custom claim
 * won't be added to your tokens" (Create Custom Claims § General restrictions; the list is Auth0's).
 */
export const RESTRICTED_CLAIMS: ReadonlySet<string> = new Set([
  'acr', 'act', 'active', 'amr', 'at_hash', 'ath', 'attest', 'aud', 'auth_time', 'authorization_details', 'azp', 'c_hash',
  'client_id', 'cnf', 'cty', 'dest', 'entitlements', 'events', 'exp', 'groups', 'gty', 'htm', 'htu', 'iat',
  'internalService', 'iss', 'jcard', 'jku', 'jti', 'jwe', 'jwk', 'kid', 'may_act', 'mky', 'nbf', 'nonce', 'object_id',
  'org_id', 'org_name', 'orig', 'origid', 'permissions', 'roles', 'rph', 's_hash', 'sid', 'sip_callid', 'sip_cseq_num',
  'sip_date', 'sip_from_tag', 'sip_via_branch', 'sub', 'sub_jwk', 'toe', 'txn', 'typ', 'uuid', 'vot', 'vtm', 'x5t#S256',
  // the access token's own claim
  'scope',
]);
/** OpenID Connect Core §5.1 standard claims: not settable either (same restriction). */
const OIDC_STANDARD_CLAIMS: ReadonlySet<string> = new Set([
  'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website',
  'email', 'email_verified', 'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number', 'phone_number_verified',
  'address', 'updated_at',
]);

const settable = (claims: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(claims).filter(([name]) => !RESTRICTED_CLAIMS.has(name) && !OIDC_STANDARD_CLAIMS.has(name)));

export type PostLoginResult =
  | { kind: 'continue'; accessTokenClaims: Record<string, unknown>; idTokenClaims: Record<string, unknown>; mfa?: { provider: string } }
  | { kind: 'denied'; reason: string }
  | { kind: 'failed'; reason: string };

export interface PostLoginRunner {
  (input: {
    code: string;
    dependencies: { name: string; version: string }[];
    secrets: Record<string, string>;
    event: PostLoginEvent;
    cache: Map<string, { value: string; expires_at: number }>;
    timeoutMs: number;
    forgetCache?: boolean;
  }): Promise<PostLoginOutcome>;
}

/** The post-login v3 event for `user` after a Custom Token Exchange whose CTE event was `cte`. */
export function postLoginEvent(tenant: Tenant, client: Client, user: User, cte: CustomTokenExchangeEvent, organization?: string): PostLoginEvent {
  let connection = { id: '', name: user.connection, strategy: 'auth0', metadata: {} as Record<string, string> };
  for (const c of tenant.connections.values()) {
    if (c.name === user.connection) connection = { id: c.id, name: c.name, strategy: c.strategy, metadata: {} };
  }
  const { app_metadata, user_metadata, ...profile } = user;
  const [provider, ...rest] = user.user_id.split('|');
  return {
    client: cte.client,
    connection,
    ...(organization ? { organization: organization.startsWith('org_') ? { id: organization } : { name: organization } } : {}),
    request: cte.request,
    resource_server: cte.resource_server,
    tenant: cte.tenant,
    transaction: { protocol: TOKEN_EXCHANGE_PROTOCOL, requested_scopes: cte.transaction.requested_scopes, locale: '' },
    user: {
      ...profile,
      app_metadata: { ...app_metadata },
      user_metadata: { ...user_metadata },
      identities: [{ connection: user.connection, provider, user_id: rest.join('|'), isSocial: false }],
      multifactor: [],
    },
    stats: { logins_count: user.logins_count },
    authentication: { methods: [] },
    authorization: { roles: [] },
  };
}

/** Applies metadata changes (`null` deletes a key) to the stored user. */
function applyMetadata(user: User, outcome: PostLoginOutcome): void {
  const merge = (target: Record<string, unknown>, changes: Record<string, unknown>): boolean => {
    let changed = false;
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete target[key];
      else target[key] = value;
      changed = true;
    }
    return changed;
  };
  const a = merge(user.app_metadata, outcome.appMetadata);
  const u = merge(user.user_metadata, outcome.userMetadata);
  if (a || u) user.updated_at = new Date().toISOString();
}

/** The trigger's cache store (Auth0's api.cache is per trigger). */
function triggerCache(tenant: Tenant): Map<string, { value: string; expires_at: number }> {
  let cache = tenant.actionCache.get(POST_LOGIN_TRIGGER);
  if (!cache) {
    cache = new Map();
    tenant.actionCache.set(POST_LOGIN_TRIGGER, cache);
  }
  return cache;
}

/** Runs the bound, deployed post-login Actions in order for `user`. */
export async function runPostLoginFlow(
  tenant: Tenant,
  user: User,
  makeEvent: () => PostLoginEvent,
  runAction: PostLoginRunner,
): Promise<PostLoginResult> {
  const accessTokenClaims: Record<string, unknown> = {};
  const idTokenClaims: Record<string, unknown> = {};
  let mfa: { provider: string } | undefined;
  // Actions Limitations: "Each execution of a flow must complete in 20 seconds or less".
  const deadline = Date.now() + tenant.settings.actionTimeoutMs;
  for (const binding of tenant.triggerBindings.get(POST_LOGIN_TRIGGER) ?? []) {
    const version = tenant.actions.get(binding.action_id)?.deployed_version;
    if (!version?.deployed) continue;
    const outcome = await runAction({
      code: version.code,
      dependencies: version.dependencies,
      secrets: Object.fromEntries(version.secrets.map((s) => [s.name, s.value])),
      event: makeEvent(),
      cache: triggerCache(tenant),
      timeoutMs: Math.max(1, deadline - Date.now()),
      forgetCache: tenant.settings.forgetActionCache === true,
    });
    if (outcome.kind !== 'failed') applyMetadata(user, outcome);
    if (outcome.kind === 'denied') return { kind: 'denied', reason: outcome.reason };
    if (outcome.kind === 'failed') return { kind: 'failed', reason: outcome.reason };
    Object.assign(accessTokenClaims, settable(outcome.accessTokenClaims));
    Object.assign(idTokenClaims, settable(outcome.idTokenClaims));
    mfa ??= outcome.mfa;
  }
  return { kind: 'continue', accessTokenClaims, idTokenClaims, ...(mfa ? { mfa } : {}) };
}
