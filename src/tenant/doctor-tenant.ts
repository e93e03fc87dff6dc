/**
 * Doctor's checks through the Authentication API: OIDC discovery and JWKS, the clock against the
 * tenant's `Date` header, and ONE probe exchange with a deliberately invalid subject token. Each
 * refused probe costs an attempt of Suspicious IP Throttling (10 by default), so there is exactly one.
 */
import type { Settings } from '../config/settings.js';
import { CTE_AVAILABILITY, MFA_FIX, tenantError } from '../exchange/errors.js';
import { TOKEN_EXCHANGE_GRANT } from '../exchange/exchange.js';
import { DEFAULT_TIMEOUTS, getJson, postForm, type HttpOptions } from '../exchange/http.js';
import { ExitCode } from '../util/errors.js';
import type { Secret } from '../util/secret.js';
import { fail, failFrom, pass, type Check } from './doctor-check.js';

const NTP = 'sync the clock (Linux: timedatectl set-ntp true; macOS: System Settings → General → Date & Time → Set automatically)';

/** Not a compact JWS: any Action that validates its input must refuse it. */
export const PROBE_SUBJECT_TOKEN = 'omni-auth-doctor-probe';
/** The Action's local tokens tolerate 30 s of expiry skew; beyond it, exchanges fail. */
export const MAX_CLOCK_SKEW_SECONDS = 30;

const SETUP = 'run `omni-auth setup` (with Management API credentials) to provision the tenant';

/** The discovery check, and the tenant's `Date` header whenever the tenant answered (the clock check uses it). */
export async function checkDiscovery(settings: Settings, http: HttpOptions): Promise<{ check: Check; date?: string }> {
  const title = 'OIDC discovery and JWKS';
  const url = new URL('/.well-known/openid-configuration', settings.domain);
  let res;
  try {
    res = await getJson(url, http);
  } catch (e) {
    return { check: failFrom('discovery', title, e, 'check the domain and the network') };
  }
  const date = res.headers.date;
  const dated = (check: Check): { check: Check; date?: string } => ({ check, ...(date ? { date } : {}) });
  const doc = res.body as { issuer?: unknown; jwks_uri?: unknown } | undefined;
  if (res.status !== 200 || typeof doc?.issuer !== 'string') {
    return dated(fail('discovery', title, `${url.href} answered HTTP ${res.status} without a discovery document`, 'check --domain: it must be the Auth0 tenant domain (tenant.region.auth0.com)', ExitCode.usage));
  }
  if (doc.issuer !== settings.issuer) {
    return dated(fail('discovery', title, `the tenant's issuer is ${doc.issuer}, not ${settings.issuer}`, `use the issuer's host as --domain (${doc.issuer})`, ExitCode.usage));
  }
  if (typeof doc.jwks_uri !== 'string') return dated(fail('discovery', title, 'the discovery document has no jwks_uri', 'check --domain', ExitCode.refused));
  try {
    const jwks = await getJson(new URL(doc.jwks_uri), http);
    const keys = (jwks.body as { keys?: unknown } | undefined)?.keys;
    if (jwks.status !== 200 || !Array.isArray(keys) || keys.length === 0) {
      return dated(fail('discovery', title, `${doc.jwks_uri} answered HTTP ${jwks.status} without signing keys`, 'check the tenant (Dashboard → Settings → Signing Keys)', ExitCode.refused));
    }
    return dated(pass('discovery', title, `issuer ${doc.issuer}, ${keys.length} signing key${keys.length > 1 ? 's' : ''}`));
  } catch (e) {
    return dated(failFrom('discovery', title, e, 'check the domain and the network'));
  }
}

export function checkClock(date: string | undefined, nowMs: number): Check {
  const title = 'clock';
  const tenantMs = date === undefined ? NaN : Date.parse(date);
  // The check cannot pass without a time to compare with: Auth0 always sends Date, so its absence
  // means something in between (a proxy) or not Auth0.
  if (Number.isNaN(tenantMs)) {
    return fail('clock', title, 'the tenant sent no usable Date header, so the clock could not be compared',
      `check that --domain reaches the Auth0 tenant directly (a proxy may drop Date); and ${NTP}`, ExitCode.usage);
  }
  // The Date header has whole seconds: up to 1 s of the difference is its rounding.
  const skew = Math.round((nowMs - tenantMs) / 1000);
  const direction = skew > 0 ? 'ahead of' : 'behind';
  if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
    return fail('clock', title, `this machine's clock is ${Math.abs(skew)} s ${direction} the tenant's (limit ${MAX_CLOCK_SKEW_SECONDS} s): its local tokens will be refused`,
      NTP, ExitCode.usage);
  }
  return pass('clock', title, `within ${Math.abs(skew)} s of the tenant's`);
}

/** What the probe's answer means: the error code of the exchange table → the verdict. */
const VERDICTS: Record<string, { detail: (s: Settings) => string; fix: string }> = {
  no_profile: { detail: (s) => `the tenant has no Token Exchange Profile for ${s.subjectTokenType}`, fix: SETUP },
  unauthorized_client: {
    detail: (s) => `token exchange is not enabled on the application ${s.clientId}`,
    fix: `${SETUP}; if it already ran, the tenant may lack Custom Token Exchange: ${CTE_AVAILABILITY}`,
  },
  consent_required: {
    detail: (s) => `the API ${s.audience} does not allow skipping user consent`,
    fix: `turn on "Allow Skipping User Consent" (skip_consent_for_verifiable_first_party_clients) on the API (Dashboard → Applications → APIs → the API → Settings), or ${SETUP}`,
  },
  // Denied without the Action judging the token: the profile's Action is not deployed, or it failed
  // (threw, timed out). The probe cannot tell these two apart; the Management check can.
  access_denied: {
    detail: () => 'the tenant denied the exchange without the Action rejecting the token: the Action bound to the profile is not deployed, or it failed',
    fix: 'with Management API credentials (AUTH0_MGMT_*), doctor\'s "Action and profile" check says which; `omni-auth setup` deploys the Action; a failing Action shows in the tenant logs',
  },
  // deny('server_error'): a 500 on Auth0. The Action failed on a token it should simply have refused.
  action_failed: {
    detail: () => 'the Action failed (server_error) instead of refusing a deliberately invalid token',
    fix: 'the tenant logs (event "fecte") show why; a missing ISSUER secret or a dependency that does not load are the usual causes — `omni-auth setup` redeploys the Action with its secrets and pinned dependencies',
  },
  // MFA runs after the Action set a user: the Action ACCEPTED the probe's token, and MFA stopped it.
  mfa_required: {
    detail: () => 'MFA was required for this exchange (a post-login Action or the tenant\'s MFA policy answered mfa_required)',
    fix: MFA_FIX,
  },
  invalid_client: { detail: (s) => `the tenant does not know the application ${s.clientId}`, fix: 'check --client-id' },
};

/** The probe's verdict, and the exchange table's code for the answer (doctor cross-checks some with the Management API). */
export interface ProbeResult {
  check: Check;
  errorCode?: string;
}

export async function checkProbe(settings: Settings, clientSecret: Secret | undefined, http: HttpOptions): Promise<Check> {
  return (await probeExchange(settings, clientSecret, http)).check;
}

export async function probeExchange(settings: Settings, clientSecret: Secret | undefined, http: HttpOptions): Promise<ProbeResult> {
  const title = 'probe exchange';
  const url = new URL('/oauth/token', settings.domain);
  let res;
  try {
    res = await postForm(url, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: settings.clientId,
      client_secret: clientSecret?.reveal(),
      subject_token_type: settings.subjectTokenType,
      subject_token: PROBE_SUBJECT_TOKEN,
      audience: settings.audience,
    }, http);
  } catch (e) {
    return { check: failFrom('probe', title, e, 'check the domain and the network') };
  }
  if (res.status >= 200 && res.status < 300) {
    return {
      check: fail('probe', title, 'the tenant ACCEPTED a deliberately invalid subject token: the Action does not verify tokens',
        'deploy omni-auth\'s Action: run `omni-auth setup`', ExitCode.refused),
    };
  }
  const error = tenantError(res, {
    operation: 'token exchange', host: url.host, audience: settings.audience, subjectTokenType: settings.subjectTokenType,
    secrets: clientSecret ? [clientSecret.reveal()] : [],
  });
  const said = (error.details?.error_description as string | undefined) ?? (error.details?.error as string | undefined) ?? `HTTP ${res.status}`;
  const errorCode = error.code;
  if (errorCode === 'local_token_refused') return { check: pass('probe', title, `the Action rejects bad tokens ("${said}")`), errorCode };
  const verdict = VERDICTS[errorCode];
  if (verdict) return { check: fail('probe', title, `${verdict.detail(settings)} (${said})`, verdict.fix, error.exitCode), errorCode };
  return { check: fail('probe', title, error.message, error.hint ?? SETUP, error.exitCode), errorCode };
}

export const httpDefaults = (): HttpOptions => ({ ...DEFAULT_TIMEOUTS });
