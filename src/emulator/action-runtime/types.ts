/** The contract between the emulator's /oauth/token handler and the Action runner. */

export interface ActionDependency {
  name: string;
  version: string;
}

/** The custom-token-exchange `event`, without `secrets` (the runner adds them from the Action's). */
export interface CustomTokenExchangeEvent {
  client: { client_id: string; name: string; metadata: Record<string, string> };
  organization?: { id: string; name: string; display_name?: string; metadata?: Record<string, string> };
  request: {
    ip: string;
    method: string;
    hostname: string;
    language?: string;
    user_agent?: string;
    geoip: Record<string, unknown>;
    /** The token request's parameters (form fields are strings). */
    body: Record<string, unknown>;
  };
  resource_server: { identifier: string };
  tenant: { id: string };
  transaction: {
    subject_token: string;
    subject_token_type: string;
    requested_scopes: string[];
    requested_token_type: string | null;
    actor_token?: string;
    actor_token_type?: string;
  };
}

export type CreationBehavior = 'create_if_not_exists' | 'none';
export type UpdateBehavior = 'replace' | 'none';

export type UserChoice =
  | { kind: 'id'; user_id: string }
  | {
      kind: 'connection';
      connection: string;
      attributes: Record<string, unknown>;
      options: { creationBehavior: CreationBehavior; updateBehavior: UpdateBehavior };
    };

export type ActionOutcome =
  | {
      kind: 'user';
      user: UserChoice;
      /** Keys to merge into the user's app_metadata; a `null` value deletes the key. */
      appMetadata: Record<string, unknown>;
      /** Keys to merge into the user's user_metadata; a `null` value deletes the key. */
      userMetadata: Record<string, unknown>;
      organization?: string;
      actor?: Record<string, unknown>;
    }
  /** api.access.rejectInvalidSubjectToken → invalid_request; counts for Suspicious IP Throttling. */
  | { kind: 'rejected'; reason: string }
  /** api.access.deny(code, reason). */
  | { kind: 'denied'; code: string; reason: string }
  /** The Action threw, timed out, set no user or two, called the api wrongly, lacked a dependency… */
  | { kind: 'failed'; reason: string };

/** One entry of a trigger's Action cache (`Tenant.actionCache`); `expires_at` in ms since the epoch. */
export interface CacheEntry {
  value: string;
  expires_at: number;
}

export interface RunActionInput {
  /** The deployed version's code (CommonJS). */
  code: string;
  /** Declared on the Action. */
  dependencies: ActionDependency[];
  secrets: Record<string, string>;
  event: CustomTokenExchangeEvent;
  /** The trigger's cache store, mutated in place. */
  cache: Map<string, CacheEntry>;
  /** Auth0: 20 s. */
  timeoutMs: number;
  /** Milliseconds clock for cache expiry; defaults to Date.now. */
  now?: () => number;
  /** When given, the Action's console output is appended here (bounded); otherwise it is dropped. */
  logs?: string[];
  /**
   * Forget every entry of `cache` once the execution ends (EmulatorSettings.forgetActionCache):
   * Auth0's api.cache "is designed for short-lived, ephemeral data. Items may not be available in
   * later transactions even if they are within their supplied lifetime."
   */
  forgetCache?: boolean;
}

/** The post-login (v3) `event` after a Custom Token Exchange, without `secrets`. */
export interface PostLoginEvent {
  client: { client_id: string; name: string; metadata: Record<string, string> };
  connection: { id: string; name: string; strategy: string; metadata: Record<string, string> };
  organization?: { id?: string; name?: string };
  request: CustomTokenExchangeEvent['request'];
  resource_server: { identifier: string };
  tenant: { id: string };
  transaction: {
    /** Auth0: `oauth2-token-exchange` after a Custom Token Exchange. */
    protocol: string;
    requested_scopes: string[];
    locale: string;
  };
  user: Record<string, unknown>;
  stats: { logins_count: number };
  authentication: { methods: { name: string; timestamp: string }[] };
  authorization: { roles: string[] };
}

export type PostLoginOutcome =
  | {
      kind: 'continue';
      accessTokenClaims: Record<string, unknown>;
      idTokenClaims: Record<string, unknown>;
      /** api.multifactor.enable(provider) was called. */
      mfa?: { provider: string };
      appMetadata: Record<string, unknown>;
      userMetadata: Record<string, unknown>;
    }
  /** api.access.deny(reason); metadata changes still apply (Auth0: deny "will NOT cancel" them). */
  | { kind: 'denied'; reason: string; appMetadata: Record<string, unknown>; userMetadata: Record<string, unknown> }
  /** Threw, timed out, lacked a dependency, or called challengeWith/enrollWith. */
  | { kind: 'failed'; reason: string; appMetadata: Record<string, unknown>; userMetadata: Record<string, unknown> };

export interface RunPostLoginInput extends Omit<RunActionInput, 'event'> {
  event: PostLoginEvent;
}

export type BuildResult = { ok: true } | { ok: false; error: string };
