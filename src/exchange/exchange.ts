/**
 * The three calls omni-auth makes to Auth0's Authentication API: Custom Token Exchange, the refresh
 * grant, and refresh-token revocation. Neither undici nor jose is loaded by importing this module
 * (undici loads on the first request, see `undici-transport.ts`).
 */
import { isOmniAuthError, type OmniAuthError } from '../util/errors.js';
import type { Secret } from '../util/secret.js';
import { retryKindOf, tenantError, type ErrorContext, type Operation } from './errors.js';
import { DEFAULT_TIMEOUTS, postForm, postJson, TOKEN_REQUEST_TIMEOUT_MS, type HttpOptions, type HttpResult } from './http.js';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from './retry.js';
import { parseTokenResponse, type TokenResponse } from './token-response.js';
import type { Transport } from './transport.js';

export type { TokenResponse } from './token-response.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface TenantCallOptions {
  /** Normalised origin: https://tenant.eu.auth0.com, or http://127.0.0.1:PORT for the emulator. */
  domain: string;
  clientId: string;
  /** Only for confidential applications; a public (native) client sends none. */
  clientSecret?: Secret;
  transport?: Transport;
  retry?: Partial<RetryOptions>;
  timeouts?: Partial<Pick<HttpOptions, 'connectTimeoutMs' | 'totalTimeoutMs'>>;
  signal?: AbortSignal;
}

export interface ExchangeOptions extends TenantCallOptions {
  audience: string;
  scope: string;
  subjectTokenType: string;
  /** Called once per attempt: a retry never replays a subject token (the Action refuses a seen `jti`). */
  mintSubjectToken: () => Promise<string>;
}

/**
 * Custom Token Exchange: a freshly minted local token for Auth0 tokens. `requested_token_type` is
 * never sent — Auth0 refuses it in combination with a custom subject_token_type.
 */
export async function exchangeToken(options: ExchangeOptions): Promise<TokenResponse> {
  const minted: string[] = [];
  return requestToken(options, {
    operation: 'token exchange',
    audience: options.audience,
    subjectTokenType: options.subjectTokenType,
    secrets: () => minted,
    fields: async () => {
      const subjectToken = await options.mintSubjectToken();
      minted.push(subjectToken);
      return {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subjectToken,
        subject_token_type: options.subjectTokenType,
        client_id: options.clientId,
        client_secret: options.clientSecret?.reveal(),
        audience: options.audience,
        scope: options.scope,
      };
    },
  });
}

export interface RefreshOptions extends TenantCallOptions {
  refreshToken: Secret;
  /** At most the scopes first granted; Auth0 keeps them all when omitted. */
  scope?: string;
}

/** The refresh_token grant. A refused refresh token is `refresh_token_invalid` (exit 3): exchange again. */
export async function refreshToken(options: RefreshOptions): Promise<TokenResponse> {
  return requestToken(options, {
    operation: 'refresh',
    secrets: () => [options.refreshToken.reveal()],
    fields: async () => ({
      grant_type: 'refresh_token',
      client_id: options.clientId,
      client_secret: options.clientSecret?.reveal(),
      refresh_token: options.refreshToken.reveal(),
      scope: options.scope,
    }),
  });
}

export interface ClientCredentialsOptions extends TenantCallOptions {
  audience: string;
  /** Omitted: every scope the application's client grant holds. */
  scope?: string;
  /**
   * Private Key JWT (preferred): called once per attempt, so a retry never replays an assertion (Auth0
   * accepts each `jti` once). Without it the client secret authenticates the application.
   */
  mintClientAssertion?: () => Promise<string>;
}

/**
 * The client_credentials grant for a confidential application: a machine-to-machine token for
 * `audience`, the application authenticating with a client assertion or its secret — never both.
 */
export async function clientCredentialsToken(options: ClientCredentialsOptions): Promise<TokenResponse> {
  const minted: string[] = [];
  const { mintClientAssertion } = options;
  return requestToken(options, {
    operation: 'client credentials',
    audience: options.audience,
    secrets: () => minted,
    fields: async () => {
      const base = { grant_type: 'client_credentials', client_id: options.clientId, audience: options.audience, scope: options.scope };
      if (!mintClientAssertion) return { ...base, client_secret: options.clientSecret?.reveal() };
      const assertion = await mintClientAssertion();
      minted.push(assertion);
      return { ...base, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
    },
  });
}

export interface RevokeOptions extends TenantCallOptions {
  token: Secret;
}

export type RevokeOutcome = { revoked: true } | { revoked: false; error: OmniAuthError };

/**
 * Revokes a refresh token (`POST /oauth/revoke`, JSON body as Auth0 documents it). Best effort, for
 * logout: one attempt, and a failure is returned for the caller to mention, not thrown.
 */
export async function revokeRefreshToken(options: RevokeOptions): Promise<RevokeOutcome> {
  const url = new URL('/oauth/revoke', options.domain);
  const secrets = [options.token.reveal(), ...clientSecretOf(options)];
  try {
    const result = await postJson(url, {
      client_id: options.clientId,
      client_secret: options.clientSecret?.reveal(),
      token: options.token.reveal(),
    }, httpOptions(options, Infinity));
    if (isSuccess(result)) return { revoked: true };
    return { revoked: false, error: tenantError(result, { operation: 'revocation', host: url.host, secrets }) };
  } catch (e) {
    if (isOmniAuthError(e)) return { revoked: false, error: e };
    throw e;
  }
}

interface TokenCall extends Pick<ErrorContext, 'audience' | 'subjectTokenType'> {
  operation: Operation;
  /** The secrets of this call beyond the client secret, read when an error is built. */
  secrets: () => readonly string[];
  /** Builds the form for one attempt. */
  fields: () => Promise<Record<string, string | undefined>>;
}

async function requestToken(options: TenantCallOptions, call: TokenCall): Promise<TokenResponse> {
  const url = new URL('/oauth/token', options.domain);
  const { result, attempts, budgetSpent } = await withRetry(
    async (_attempt, remainingMs) => postForm(url, await call.fields(), httpOptions(options, remainingMs, TOKEN_REQUEST_TIMEOUT_MS)),
    (r) => (isSuccess(r) ? 'stop' : retryKindOf(r.status, r.body, call.operation)),
    options.retry,
  );
  if (isSuccess(result)) return parseTokenResponse(url.host, result.body);
  throw tenantError(result, {
    operation: call.operation,
    host: url.host,
    audience: call.audience,
    subjectTokenType: call.subjectTokenType,
    secrets: [...call.secrets(), ...clientSecretOf(options)],
    attempts,
    nowMs: (options.retry?.now ?? Date.now)(),
    ...(budgetSpent ? { retryBudgetMs: options.retry?.maxTotalMs ?? DEFAULT_RETRY.maxTotalMs } : {}),
  });
}

const isSuccess = (r: HttpResult): boolean => r.status >= 200 && r.status < 300;

const clientSecretOf = (options: TenantCallOptions): string[] => (options.clientSecret ? [options.clientSecret.reveal()] : []);

/**
 * An attempt never outlives the retry budget. A token request waits for its answer longer than other
 * calls (`TOKEN_REQUEST_TIMEOUT_MS`): an answer given up on is a token issued and an exchange spent.
 */
function httpOptions(options: TenantCallOptions, remainingMs: number, totalTimeoutMs: number = DEFAULT_TIMEOUTS.totalTimeoutMs): HttpOptions {
  return {
    connectTimeoutMs: options.timeouts?.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectTimeoutMs,
    totalTimeoutMs: Math.min(options.timeouts?.totalTimeoutMs ?? totalTimeoutMs, remainingMs),
    signal: options.signal,
    transport: options.transport,
  };
}
