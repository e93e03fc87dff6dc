/**
 * A small client for Auth0's Management API v2: a token (given, or from the client-credentials grant
 * for `https://{domain}/api/v2/`), then JSON requests with bounded retries — a 429 waits as its
 * headers say; server and network faults are retried only for reads and PATCHes (a repeated POST
 * could create a second object). The token lives in a `Secret` and is removed from every error text.
 */
import { decodeJwt } from 'jose';
import { DEFAULT_TIMEOUTS, getJson, postForm, requestJson, type HttpOptions, type HttpResult } from '../exchange/http.js';
import { TransientError, type RetryKind } from '../exchange/errors.js';
import { withRetry, type RetryOptions } from '../exchange/retry.js';
import type { HttpMethod, Transport } from '../exchange/transport.js';
import { ExitCode, OmniAuthError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { ManagementApiError, managementError, tokenRequestError } from './management-errors.js';

export type ManagementCredentials =
  | { kind: 'token'; token: Secret }
  | { kind: 'client'; clientId: string; clientSecret: Secret };

export interface ManagementOptions {
  /** Normalised origin, e.g. https://tenant.eu.auth0.com. */
  domain: string;
  credentials: ManagementCredentials;
  transport?: Transport;
  retry?: Partial<RetryOptions>;
  timeouts?: Partial<Pick<HttpOptions, 'connectTimeoutMs' | 'totalTimeoutMs'>>;
}

export type Query = Record<string, string | number | boolean | undefined>;

export const managementAudience = (domain: string): string => `${domain}/api/v2/`;

export class ManagementClient {
  /** Write requests sent so far (setup reports "nothing to change" when it stays 0). */
  writes = 0;

  private constructor(
    private readonly options: ManagementOptions,
    private readonly token: Secret,
    /** From the token's `scope`; undefined when the token does not show it (opaque). */
    readonly grantedScopes: readonly string[] | undefined,
  ) {}

  /** Gets the Management token (client credentials) or takes the given one. */
  static async connect(options: ManagementOptions): Promise<ManagementClient> {
    const { credentials } = options;
    if (credentials.kind === 'token') return new ManagementClient(options, credentials.token, scopesOf(credentials.token.reveal()));
    const url = new URL('/oauth/token', options.domain);
    const secrets = [credentials.clientSecret.reveal()];
    const { result } = await withRetry(
      (_attempt, remainingMs) => postForm(url, {
        grant_type: 'client_credentials',
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret.reveal(),
        audience: managementAudience(options.domain),
      }, httpOptions(options, remainingMs)),
      (r) => retryKind('POST', r),
      options.retry,
    );
    const body = result.body as { access_token?: unknown; scope?: unknown } | undefined;
    if (!isSuccess(result)) throw tokenRequestError(result, url.host, secrets);
    if (typeof body?.access_token !== 'string' || body.access_token === '') {
      throw new OmniAuthError('mgmt_bad_response', `${url.host} sent a token response without an access_token`, {
        hint: 'the answer did not come from an Auth0 token endpoint: check that --domain is the tenant\'s own domain (not a proxy in front of it), then try again',
        exitCode: ExitCode.unreachable,
      });
    }
    const token = new Secret(body.access_token);
    const scope = typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : scopesOf(body.access_token);
    return new ManagementClient(options, token, scope);
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.send<T>('GET', path, query, undefined);
  }

  /** A GET whose 404 means "there is none". */
  async find<T>(path: string, query?: Query): Promise<T | undefined> {
    try {
      return await this.get<T>(path, query);
    } catch (e) {
      if (e instanceof ManagementApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, undefined, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PATCH', path, undefined, body);
  }

  private async send<T>(method: HttpMethod, path: string, query: Query | undefined, body: unknown): Promise<T> {
    const url = new URL(`/api/v2${path}`, this.options.domain);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    if (method !== 'GET') this.writes++;
    const headers = { authorization: `Bearer ${this.token.reveal()}` };
    const { result, attempts } = await withRetry(
      async (_attempt, remainingMs) => {
        const options = { ...httpOptions(this.options, remainingMs), headers };
        try {
          return method === 'GET' ? await getJson(url, options) : await requestJson(method, url, body, options);
        } catch (e) {
          // A POST that may have reached the tenant is not sent again: it could create a second object.
          if (e instanceof TransientError && method === 'POST') {
            throw new OmniAuthError(e.code, e.message, {
              hint: e.hint ?? 'the request may have reached the tenant, so it was not sent again: run the command again (it reads the tenant first and creates only what is missing)',
              exitCode: e.exitCode,
              cause: e,
            });
          }
          throw e;
        }
      },
      (r) => retryKind(method, r),
      this.options.retry,
    );
    if (isSuccess(result)) return result.body as T;
    throw managementError(result, {
      method,
      path,
      host: url.host,
      secrets: this.secrets(),
      givenToken: this.options.credentials.kind === 'token',
      attempts,
      nowMs: (this.options.retry?.now ?? Date.now)(),
    });
  }

  private secrets(): string[] {
    const { credentials } = this.options;
    return [this.token.reveal(), ...(credentials.kind === 'client' ? [credentials.clientSecret.reveal()] : [])];
  }
}

const isSuccess = (r: HttpResult): boolean => r.status >= 200 && r.status < 300;

function retryKind(method: HttpMethod, r: HttpResult): RetryKind {
  if (isSuccess(r)) return 'stop';
  if (r.status === 429) return 'rate_limit';
  if (r.status >= 500 && method !== 'POST') return 'backoff';
  return 'stop';
}

function httpOptions(options: ManagementOptions, remainingMs: number): HttpOptions {
  return {
    connectTimeoutMs: options.timeouts?.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectTimeoutMs,
    totalTimeoutMs: Math.min(options.timeouts?.totalTimeoutMs ?? DEFAULT_TIMEOUTS.totalTimeoutMs, remainingMs),
    ...(options.transport ? { transport: options.transport } : {}),
  };
}

/** The `scope` claim of a JWT access token, read without verifying it (only to warn early). */
function scopesOf(token: string): string[] | undefined {
  try {
    const { scope } = decodeJwt(token);
    return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : undefined;
  } catch {
    return undefined;
  }
}
