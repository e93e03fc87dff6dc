/**
 * How the Management API says no, turned into errors a tenant admin can act on. Auth0 answers
 * `{statusCode, error, message, errorCode?}`; a missing scope is 403 `insufficient_scope` with
 * "Insufficient scope, expected any of: create:actions". The token endpoint (client credentials)
 * answers in OAuth's `{error, error_description}`. Every text from the tenant is cleaned of the
 * Management token and client secret (`redact.ts`) before it is shown.
 */
import { CTE_AVAILABILITY } from '../exchange/errors.js';
import { rateLimitWaitMs } from '../exchange/rate-limit.js';
import { tenantText } from '../exchange/redact.js';
import { ExitCode, OmniAuthError } from '../util/errors.js';

/** Where a tenant admin grants Management API scopes to a machine-to-machine application. */
export const GRANT_SCOPES_AT = 'Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications';

/** A refused Management API call; `status` and `errorCode` let callers treat 404 and 409 themselves. */
export class ManagementApiError extends OmniAuthError {
  override readonly name = 'ManagementApiError';
  constructor(
    code: string,
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    options: { hint?: string; exitCode: ExitCode; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}

export interface CallContext {
  method: string;
  /** The path under /api/v2, e.g. /actions/actions. */
  path: string;
  host: string;
  /** The Management token and client secret: removed from any text shown. */
  secrets: readonly string[];
  /** True when the token came from --mgmt-token (the fix differs). */
  givenToken: boolean;
  attempts?: number;
  nowMs?: number;
}

const field = (body: unknown, name: string): unknown =>
  (typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined);

/** The scopes an `insufficient_scope` message names ("expected any of: a, b" or "expected all of: a b"). */
export function scopesNamedIn(message: string | undefined): string[] {
  const m = /expected (?:any|all) of:\s*(.+)$/i.exec(message ?? '');
  return m ? m[1]!.split(/[\s,]+/).filter((s) => /^[a-z_]+:[a-z_]+$/.test(s)) : [];
}

function scopeHint(scopes: readonly string[], givenToken: boolean): string {
  const list = scopes.join(', ');
  return givenToken
    ? `get a Management API token that has ${list}, or pass --mgmt-client-id/--mgmt-client-secret of an application granted it (${GRANT_SCOPES_AT})`
    : `grant ${list} to the machine-to-machine application: ${GRANT_SCOPES_AT}, expand the application, tick ${list}, Update`;
}

/** The same error when the token's own `scope` claim shows the gap before anything is written. */
export function missingScopeError(scopes: readonly string[], needFor: string, givenToken: boolean): ManagementApiError {
  const list = scopes.join(', ');
  return new ManagementApiError('mgmt_insufficient_scope', `the Management API credentials lack the scope${scopes.length > 1 ? 's' : ''} ${list} (needed to ${needFor})`, 403, 'insufficient_scope', {
    hint: scopeHint(scopes, givenToken),
    exitCode: ExitCode.refused,
    details: { missing_scopes: [...scopes] },
  });
}

/** The typed error for a non-2xx Management API answer. */
export function managementError(result: { status: number; headers: Record<string, string>; body: unknown }, ctx: CallContext): ManagementApiError {
  const { status } = result;
  const message = tenantText(field(result.body, 'message'), ctx.secrets);
  const errorCode = tenantText(field(result.body, 'errorCode'), ctx.secrets);
  const call = `${ctx.method} /api/v2${ctx.path}`;
  const said = `${ctx.host} answered ${call} with HTTP ${status}${errorCode ? ` ${errorCode}` : ''}${message ? `: ${message}` : ''}`
    + `${ctx.attempts !== undefined && ctx.attempts > 1 ? ` (after ${ctx.attempts} attempts)` : ''}`;
  const details = { status, ...(errorCode ? { errorCode } : {}), ...(message ? { message } : {}) };
  const make = (code: string, exitCode: ExitCode, hint: string, extra: Record<string, unknown> = {}): ManagementApiError =>
    new ManagementApiError(code, said, status, errorCode, { hint, exitCode, details: { ...details, ...extra } });

  if (status === 401) {
    return make('mgmt_unauthorized', ExitCode.refused, ctx.givenToken
      ? 'the Management API token is invalid or expired, or was issued for another tenant; get a new one (scripts/get-mgmt-token.sh) or pass --mgmt-client-id/--mgmt-client-secret'
      : 'the tenant did not accept its own Management API token; check that --domain is the tenant\'s canonical domain (not a custom domain)');
  }
  if (status === 403 && errorCode === 'insufficient_scope') {
    const scopes = scopesNamedIn(message);
    return make('mgmt_insufficient_scope', ExitCode.refused, scopeHint(scopes.length > 0 ? scopes : ['the scope named above'], ctx.givenToken), { missing_scopes: scopes });
  }
  const profiles = profilesRefusal(ctx, status, errorCode, message);
  if (profiles) return make(profiles.code, ExitCode.refused, profiles.hint);
  if (status === 429) {
    const waitMs = rateLimitWaitMs(result.headers, ctx.nowMs ?? Date.now());
    return make('mgmt_rate_limited', ExitCode.rateLimited,
      `the tenant's Management API rate limit was reached; run the command again ${waitMs === undefined ? 'shortly' : `in about ${Math.ceil(waitMs / 1000)} s`}`,
      waitMs === undefined ? {} : { retry_after_seconds: Math.ceil(waitMs / 1000) });
  }
  if (status >= 500) {
    return make('mgmt_unavailable', ExitCode.unreachable, `the tenant ${ctx.host} is failing; try again later (Auth0 status: https://status.auth0.com)`);
  }
  if (status === 404) return make('mgmt_not_found', ExitCode.refused, `check --domain: ${ctx.host} has no such object`);
  if (status === 409) return make('mgmt_conflict', ExitCode.refused, 'another object already holds that value; see the message above');
  return make('mgmt_refused', ExitCode.refused, 'the tenant refused the request for the reason above');
}

/** The profile limit (Auth0 documents 403 for it on POST /token-exchange-profiles; 100 per tenant). */
const LIMIT_WORDS = /limit|maximum|too[ _]many/i;

/**
 * The Token Exchange Profiles API refusing for a reason of its own. Auth0 documents no "feature not
 * enabled" answer; a 403 that is neither a missing scope nor the profile limit, or a 404 for the
 * collection itself, is most likely a tenant without Custom Token Exchange (an Early Access feature
 * of some plans), so that is what the hint says.
 */
function profilesRefusal(ctx: CallContext, status: number, errorCode: string | undefined, message: string | undefined): { code: string; hint: string } | undefined {
  if (!ctx.path.startsWith('/token-exchange-profiles')) return undefined;
  const unavailable = {
    code: 'cte_unavailable',
    hint: `the tenant may lack Custom Token Exchange: ${CTE_AVAILABILITY}. If it has it, check that --domain is the tenant's canonical domain`,
  };
  if (status === 403 && errorCode !== 'insufficient_scope') {
    if (ctx.method === 'POST' && LIMIT_WORDS.test(`${errorCode ?? ''} ${message ?? ''}`)) {
      return {
        code: 'profile_limit',
        hint: 'the tenant has reached its limit of Token Exchange Profiles (100): delete profiles no longer used '
          + '(GET /api/v2/token-exchange-profiles lists them; DELETE /api/v2/token-exchange-profiles/{id}), then run setup again',
      };
    }
    return unavailable;
  }
  // A 404 for one profile (`/token-exchange-profiles/{id}`) is "there is none"; for the collection, the API itself is missing.
  if (status === 404 && /^\/token-exchange-profiles\/?(\?|$)/.test(ctx.path)) return unavailable;
  return undefined;
}

/** The typed error for a refused client-credentials request (getting the Management token). */
export function tokenRequestError(result: { status: number; headers: Record<string, string>; body: unknown }, host: string, secrets: readonly string[]): OmniAuthError {
  const error = tenantText(field(result.body, 'error'), secrets);
  const description = tenantText(field(result.body, 'error_description'), secrets);
  const message = `${host} refused the Management API token request with HTTP ${result.status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''}`;
  const details = { status: result.status, ...(error ? { error } : {}), ...(description ? { error_description: description } : {}) };
  const make = (code: string, exitCode: ExitCode, hint: string): OmniAuthError => new OmniAuthError(code, message, { hint, exitCode, details });
  if (result.status === 429) return make('mgmt_rate_limited', ExitCode.rateLimited, 'the tenant\'s rate limit was reached; try again shortly');
  if (result.status >= 500) return make('mgmt_unavailable', ExitCode.unreachable, `the tenant ${host} is failing; try again later`);
  if (error === 'invalid_client') {
    return make('mgmt_bad_credentials', ExitCode.refused,
      'check --mgmt-client-id and --mgmt-client-secret (AUTH0_MGMT_CLIENT_ID, AUTH0_MGMT_CLIENT_SECRET): the machine-to-machine application\'s Settings tab shows both');
  }
  if (error === 'unauthorized_client') {
    return make('mgmt_no_client_credentials', ExitCode.refused,
      'enable the Client Credentials grant on that application (Dashboard → Applications → the application → Settings → Advanced Settings → Grant Types)');
  }
  if (error === 'access_denied') {
    return make('mgmt_not_authorized', ExitCode.refused,
      `authorize the application for the Management API and grant it the scopes setup needs: ${GRANT_SCOPES_AT}`);
  }
  return make('mgmt_token_refused', ExitCode.refused, 'check --domain and the Management API credentials');
}
