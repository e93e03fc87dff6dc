/**
 * Every way Auth0's token endpoint can say no, in one table: which error code we give it, its exit
 * code, whether another attempt can help, and what the user should do. Messages carry the tenant's
 * own words (`error`, `error_description`), cleaned of anything secret (`redact.ts`).
 */
import { ExitCode, OmniAuthError } from '../util/errors.js';
import { rateLimitWaitMs } from './rate-limit.js';
import { CI_RETRY_BUDGET_SECONDS, INTERACTIVE_RETRY_BUDGET_SECONDS } from './retry-budget.js';
import { tenantText } from './redact.js';

/** A failure another attempt may cure (a network or server fault). `retry.ts` retries only these. */
export class TransientError extends OmniAuthError {
  override readonly name = 'TransientError';
}

export type Operation = 'token exchange' | 'refresh' | 'revocation' | 'client credentials';
/**
 * What `retry.ts` does with an answer: return it, back off exponentially, back off but retry at most
 * once (an answer that is most likely final, but might be a passing fault), or wait as the 429 says.
 */
export type RetryKind = 'stop' | 'backoff' | 'once' | 'rate_limit';

/**
 * Where Custom Token Exchange is available (Auth0's Custom Token Exchange trigger page, release-stage
 * notice): an Early Access feature of some plans only, enabled by Auth0 on request. Auth0 documents
 * no "feature not enabled" answer, so this is said wherever a refusal may mean that.
 */
export const CTE_AVAILABILITY = 'Custom Token Exchange is an Early Access feature, available on Auth0\'s B2C Professional, '
  + 'B2B Professional and Enterprise plans; a tenant admin asks Auth0 (support or the account team) to enable it for the tenant';

/**
 * Consent, in both forms: Auth0 documents `invalid_request` whose description says `consent_required`
 * (Custom Token Exchange page); its SDK docs name an `error` of `consent_required`. Either is matched.
 */
export const CONSENT_DESCRIPTION = /consent/i;

const isConsent = (a: Answer): boolean =>
  a.error === 'consent_required' || (a.error === 'invalid_request' && a.description !== undefined && CONSENT_DESCRIPTION.test(a.description));

/** The exchange grant refused for the client: Auth0's `unauthorized_client`, or "Grant type … not allowed". */
const isGrantRefused = (a: Answer): boolean =>
  a.error === 'unauthorized_client' || (a.description !== undefined && /grant[ _]type\b.*\bnot allowed/i.test(a.description));

/** What a tenant admin changes when MFA stops the exchange (Auth0: "Custom Token Exchange and MFA"). */
export const MFA_FIX = 'a post-login Action that calls api.multifactor.enable(), or the tenant\'s MFA policy, applies to token exchanges; '
  + 'a tenant admin makes that Action skip them (`if (event.transaction.protocol === \'oauth2-token-exchange\') return;`), '
  + 'or sets the MFA policy to "Never" and enables MFA from post-login Actions that skip this protocol (Dashboard > Security > Multi-factor Auth). '
  + 'A machine cannot answer an MFA challenge';

/**
 * Auth0 does not document its answer when no Token Exchange Profile matches the subject_token_type;
 * the emulator answers 400 invalid_request with a description naming `subject_token_type`. Matched
 * tolerantly, and kept here alone so it can be corrected against the real text.
 */
export const NO_PROFILE_DESCRIPTION = {
  mentions: /subject_token_type/i,
  /** Words of an Action's reason for refusing the token itself, or of the requested_token_type error. */
  unlessAlso: /requested_token_type|signature|expired|replay|\bjti\b/i,
} as const;

const isNoProfile = (description: string | undefined): boolean =>
  description !== undefined && NO_PROFILE_DESCRIPTION.mentions.test(description) && !NO_PROFILE_DESCRIPTION.unlessAlso.test(description);

/** A non-2xx answer, reduced to what the table looks at. */
export interface Answer {
  status: number;
  error: string | undefined;
  description: string | undefined;
}

export interface ErrorContext {
  operation: Operation;
  /** The tenant's host, named in every message. */
  host: string;
  audience?: string;
  subjectTokenType?: string;
  /** Everything we sent that is secret: removed from the tenant's text before it is shown. */
  secrets: readonly string[];
  attempts?: number;
  nowMs?: number;
  /** The retry budget that was spent, when the call gave up for lack of time. */
  retryBudgetMs?: number;
}

interface Rule {
  code: string;
  /** Put before the tenant's words in the message, when the code alone would not say it. */
  says?: string;
  exitCode: ExitCode;
  retry: RetryKind;
  /** `ctx` only where the error is built (its retry kind never depends on it). */
  matches(answer: Answer, operation: Operation, ctx?: ErrorContext): boolean;
  hint(ctx: ErrorContext, waitMs: number | undefined, answer?: Answer): string;
}

/** src/broker/ci-token.ts CI_SUBJECT_TOKEN_TYPE (not imported: this module stays free of the broker). */
const CI_TYPE = 'urn:omni-auth:ci-oidc';

/** The command that binds a machine key to a person; an Action's reason that names it means binding_required. */
export const SIGNIN_COMMAND = 'omni-auth login --browser';
const BINDING_COMMAND = /omni-auth login --browser/;

const SETUP = 'run `omni-auth setup` to provision the tenant';

const actionFailedHint = (ctx: ErrorContext): string =>
  `the tenant's Custom Token Exchange Action denied with server_error (its own fault, not this machine's token); `
  + `the tenant logs (event "fecte") on ${ctx.host} show why; a tenant admin runs \`omni-auth doctor\` with Management API credentials`;

/** First match wins. */
const RULES: readonly Rule[] = [
  {
    code: 'throttled', exitCode: ExitCode.rateLimited, retry: 'stop',
    // The block lasts minutes (one attempt back every 10 min by default): waiting here cannot help.
    matches: (a) => a.error === 'too_many_attempts',
    hint: () => 'Auth0 Suspicious IP Throttling blocked this IP after repeated refused local tokens; fix the cause '
      + '(the tenant logs show it as event "fecte"), then wait for the block to lift or ask a tenant admin to unblock the IP '
      + '(Dashboard > Security > Attack Protection)',
  },
  {
    code: 'rate_limited', exitCode: ExitCode.rateLimited, retry: 'rate_limit',
    matches: (a) => a.status === 429 || a.error === 'too_many_requests',
    hint: (ctx, waitMs) => `the tenant's rate limit for token requests was reached (Custom Token Exchange allows only a few per second per tenant)`
      + `${ctx.retryBudgetMs !== undefined ? ` and omni-auth's retry budget (${Math.round(ctx.retryBudgetMs / 1000)} s) ran out` : ''}; `
      + `try again ${waitMs === undefined ? 'shortly' : `in about ${Math.ceil(waitMs / 1000)} s`}, or give it more patience with `
      + `OMNI_AUTH_RETRY_BUDGET=<seconds> (default ${INTERACTIVE_RETRY_BUDGET_SECONDS} s, ${CI_RETRY_BUDGET_SECONDS} s in CI)`,
  },
  {
    // `api.access.deny('server_error', reason)` is HTTP 500 on Auth0 with a JSON error body: the
    // Action failed on its side. One more attempt (with a new local token) covers a passing fault such
    // as a key fetch; more would only hammer the tenant's small Custom Token Exchange rate limit. A
    // 4xx server_error (older emulators) is the same verdict, never retried.
    code: 'action_failed', says: 'the Action failed', exitCode: ExitCode.refused, retry: 'once',
    matches: (a) => a.error === 'server_error' && a.status >= 500,
    hint: (ctx) => actionFailedHint(ctx),
  },
  {
    code: 'action_failed', says: 'the Action failed', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'server_error',
    hint: (ctx) => actionFailedHint(ctx),
  },
  {
    // The Action's policy needs a person (CONTRACTS-10 §6–7): the key is not bound, or its binding has
    // expired. Its reason names the command; whatever the status, the cure is one browser sign-in.
    code: 'binding_required', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'access_denied' && a.description !== undefined && BINDING_COMMAND.test(a.description),
    hint: (_ctx, _wait, a) => (a && a.description !== undefined && /expired/i.test(a.description)
      ? `the sign-in that bound this machine key has expired: sign in again with \`${SIGNIN_COMMAND}\``
      : `this tenant gives tokens only to people: run \`${SIGNIN_COMMAND}\` once to bind this machine key to you`),
  },
  {
    // A post-login Action's api.access.deny(reason) after the exchange: Auth0 answers /oauth/token with
    // HTTP 500 access_denied (docs/fidelity.md §4). A decision, not an outage: never retried.
    code: 'access_denied', says: 'a post-login Action denied the exchange', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.status >= 500 && a.error === 'access_denied',
    hint: () => 'a post-login Action on the tenant refused this exchange for the reason above; a tenant admin can make it skip '
      + "machine exchanges (`if (event.transaction.protocol === 'oauth2-token-exchange') return;`) — `omni-auth doctor` lists such Actions",
  },
  {
    // No JSON error body (a proxy's page, an outage) or temporarily_unavailable: the tenant is failing.
    code: 'tenant_error', exitCode: ExitCode.unreachable, retry: 'backoff',
    matches: (a) => a.status >= 500,
    hint: (ctx) => `the tenant ${ctx.host} is failing; try again later (Auth0 status: https://status.auth0.com)`,
  },
  {
    code: 'tenant_error', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'temporarily_unavailable',
    hint: (ctx) => `the tenant ${ctx.host} refused for now; try again later, or run \`omni-auth doctor\``,
  },
  {
    // A post-login Action (api.multifactor.enable) or an MFA policy ran after the exchange. The
    // answer's mfa_token is never shown (tenantError adds it to the secrets).
    code: 'mfa_required', says: 'MFA was required for this exchange', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'mfa_required',
    hint: () => `MFA was required for this exchange: ${MFA_FIX}`,
  },
  {
    code: 'consent_required', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => isConsent(a),
    hint: (ctx) => `turn on "Allow Skipping User Consent" (skip_consent_for_verifiable_first_party_clients) on the API${ctx.audience ? ` ${ctx.audience}` : ''} `
      + `(Dashboard > Applications > APIs > the API > Settings), or ${SETUP}`,
  },
  {
    code: 'unauthorized_client', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, op) => op === 'token exchange' && isGrantRefused(a),
    hint: () => `Custom Token Exchange is not enabled on this application; ${SETUP}. If setup already ran (\`omni-auth doctor\` with Management API `
      + `credentials shows the application allowed), the tenant may lack the feature: ${CTE_AVAILABILITY}`,
  },
  {
    code: 'unauthorized_client', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'unauthorized_client',
    hint: () => `the application may not use this grant; ${SETUP}`,
  },
  {
    code: 'no_profile', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, op) => op === 'token exchange' && a.error === 'invalid_request' && isNoProfile(a.description),
    hint: (ctx) => `the tenant has no Token Exchange Profile for subject_token_type ${ctx.subjectTokenType ?? '(unknown)'} (or does not accept that type); ${SETUP}`,
  },
  // Keyless CI identity (issue 14 §1): the CI Action's refusals, told apart by the subject token type.
  {
    code: 'ci_token_refused', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, op, ctx) => op === 'token exchange' && ctx?.subjectTokenType === CI_TYPE && a.error === 'invalid_request',
    hint: () => 'the tenant\'s CI Action refused this job\'s OIDC token for the reason above: its issuer must be one the trust policy names, '
      + 'its audience the tenant\'s issuer URL, and it must not have expired (`omni-auth doctor` lists the trusted issuers)',
  },
  {
    code: 'ci_not_trusted', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, _op, ctx) => ctx?.subjectTokenType === CI_TYPE && a.error === 'access_denied',
    hint: () => 'no rule of the tenant\'s CI trust policy matches this job (the reason names its sub); a tenant admin adds one with '
      + '`omni-auth setup --ci-trust-file` (`omni-auth doctor` lists the rules)',
  },
  {
    code: 'local_token_refused', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, op) => op === 'token exchange' && a.error === 'invalid_request',
    hint: () => 'the tenant\'s Action refused this machine\'s local token for the reason above; check the clock, and that the '
      + 'domain and client id match what `omni-auth setup` deployed. Each refusal counts toward Suspicious IP Throttling',
  },
  {
    // Auth0: "Client is not authorized to access …. You need to create a client-grant associated to this API."
    code: 'access_denied', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, op) => op === 'client credentials' && a.error === 'access_denied',
    hint: (ctx) => `the application has no client grant for the API${ctx.audience ? ` ${ctx.audience}` : ''} (or not for the scopes asked); `
      + 'a tenant admin runs `omni-auth setup --m2m`, or authorizes the application for the API (Dashboard > Applications > APIs > Machine To Machine Applications)',
  },
  {
    code: 'invalid_client', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a, op) => op === 'client credentials' && a.error === 'invalid_client',
    hint: () => 'the application refused this client authentication: with Private Key JWT, the client key (OMNI_AUTH_CLIENT_KEY or <home>/client-key.json) '
      + 'must be a credential the application has enabled (`omni-auth setup --m2m` registers it); with a secret (OMNI_AUTH_CLIENT_SECRET), it must be the '
      + "application's and the application must not be set to Private Key JWT",
  },
  {
    code: 'access_denied', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'access_denied',
    hint: () => 'the tenant\'s Action denied this machine for the reason above: its key is not on the allow-list (ask a tenant admin, '
      + 'giving the key thumbprint from `omni-auth status`), or the key asked for too many tokens in the last minutes (wait as the reason says; '
      + 'many CI runners sharing one key should share the cached token instead)',
  },
  {
    code: 'invalid_client', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'invalid_client',
    hint: () => 'the client id or client secret is wrong, or the application does not exist; check --client-id '
      + '(and OMNI_AUTH_CLIENT_SECRET for a confidential application)',
  },
  {
    code: 'refresh_token_invalid', exitCode: ExitCode.refused, retry: 'stop',
    matches: (a) => a.error === 'invalid_grant',
    hint: () => 'the refresh token was revoked or has expired; a new token exchange replaces it',
  },
  {
    code: 'tenant_refused', exitCode: ExitCode.refused, retry: 'stop',
    matches: () => true,
    hint: (ctx) => `check that ${ctx.host} is the Auth0 tenant's domain and that the application and API are set up (${SETUP})`,
  },
];

/** The answer as the table sees it: the body's OAuth error fields, when it has them. */
export function answerOf(status: number, body: unknown): Answer {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    status,
    error: typeof fields.error === 'string' ? fields.error : undefined,
    description: typeof fields.error_description === 'string' ? fields.error_description : undefined,
  };
}

/** How to treat a non-2xx answer: the table's row for it. */
export function retryKindOf(status: number, body: unknown, operation: Operation): RetryKind {
  return ruleFor(answerOf(status, body), operation).retry;
}

/** The typed error for a non-2xx answer. */
export function tenantError(
  result: { status: number; headers: Record<string, string>; body: unknown },
  ctx: ErrorContext,
): OmniAuthError {
  const answer = answerOf(result.status, result.body);
  const rule = ruleFor(answer, ctx.operation, ctx);
  // An MFA answer carries an mfa_token: a credential, never shown even if the description repeats it.
  const mfaToken = (result.body as { mfa_token?: unknown } | undefined)?.mfa_token;
  const secrets = typeof mfaToken === 'string' && mfaToken !== '' ? [...ctx.secrets, mfaToken] : ctx.secrets;
  const error = tenantText(answer.error, secrets);
  const description = tenantText(answer.description, secrets);
  const waitMs = rule.retry === 'rate_limit' ? rateLimitWaitMs(result.headers, ctx.nowMs ?? Date.now()) : undefined;
  const attempts = ctx.attempts !== undefined && ctx.attempts > 1 ? ` (after ${ctx.attempts} attempts)` : '';
  const message = `${rule.says ? `${rule.says}: ` : ''}${ctx.host} answered the ${ctx.operation} with HTTP ${result.status}`
    + `${error ? ` ${error}` : ''}${description ? `: ${description}` : ''}${attempts}`;
  return new OmniAuthError(rule.code, message, {
    hint: rule.hint(ctx, waitMs, answer),
    exitCode: rule.exitCode,
    details: {
      status: result.status,
      ...(error ? { error } : {}),
      ...(description ? { error_description: description } : {}),
      ...(ctx.attempts !== undefined ? { attempts: ctx.attempts } : {}),
      ...(waitMs !== undefined ? { retry_after_seconds: Math.ceil(waitMs / 1000) } : {}),
    },
  });
}

function ruleFor(answer: Answer, operation: Operation, ctx?: ErrorContext): Rule {
  // The last rule matches everything, so find() always succeeds.
  return RULES.find((rule) => rule.matches(answer, operation, ctx)) as Rule;
}

/** Why no complete answer arrived, as `http.ts` reads the transport's error. */
export type NetworkReason = 'timeout' | 'connect_timeout' | 'refused' | 'reset' | 'dns' | 'tls' | 'network';

const NETWORK: Record<NetworkReason, { says: string; transient: boolean; hint: string }> = {
  timeout: { says: 'no complete answer in time', transient: true, hint: 'check the network or proxy; the tenant may be slow, try again' },
  connect_timeout: { says: 'the connection timed out', transient: true, hint: 'check the network, proxy or firewall' },
  refused: { says: 'the connection was refused', transient: true, hint: 'check the domain and port; is the tenant (or the emulator) running?' },
  reset: { says: 'the connection closed before a complete answer', transient: true, hint: 'check the network or proxy, then try again' },
  // A name that does not resolve is nearly always a typo: retrying would only delay the answer.
  dns: { says: 'the host name does not resolve', transient: false, hint: 'check the domain (e.g. tenant.eu.auth0.com) and DNS' },
  // A certificate problem does not cure itself; the usual cause is a TLS-intercepting proxy.
  tls: {
    says: 'the TLS connection failed: the server\'s certificate is not trusted or does not match',
    transient: false,
    hint: 'behind a TLS-inspecting proxy or with a private CA, give omni-auth that CA (PEM): --ca-file /path/to/ca.pem, '
      + 'OMNI_AUTH_CA_FILE=/path/to/ca.pem or NODE_EXTRA_CA_CERTS=/path/to/ca.pem (added to the system roots, read at run time); '
      + 'run omni-auth doctor to see the proxy and CAs in use',
  },
  network: { says: 'the request failed', transient: true, hint: 'check the network or proxy, then try again' },
};

/** The tenant could not be reached, or stopped answering (exit 4); names the host, never the request. */
export function unreachableError(host: string, reason: NetworkReason, cause: unknown, systemCode?: string): OmniAuthError {
  const { says, transient, hint } = NETWORK[reason];
  const message = `could not reach ${host}: ${says}${systemCode ? ` (${systemCode})` : ''}`;
  const options = { hint, exitCode: ExitCode.unreachable, cause, details: { reason } };
  return transient ? new TransientError('tenant_unreachable', message, options) : new OmniAuthError('tenant_unreachable', message, options);
}

/**
 * A 2xx whose body is not what the endpoint promises (exit 4). A body that does not parse is
 * transient (cut or mangled on the way); a well-formed body of the wrong shape is not.
 */
export function badResponseError(host: string, problem: string, transient: boolean): OmniAuthError {
  const message = `${host} sent an unusable answer: ${problem}`;
  const options = { hint: 'the tenant or a proxy in between is misbehaving; try again later', exitCode: ExitCode.unreachable };
  return transient ? new TransientError('tenant_bad_response', message, options) : new OmniAuthError('tenant_bad_response', message, options);
}
