/**
 * The typed errors of the browser sign-in. Messages name what went wrong (the port, the tenant's own
 * words, cleaned) and never carry a code, a verifier, or a token.
 */
import { tenantText } from '../exchange/redact.js';
import { ExitCode, OmniAuthError, UsageError } from '../util/errors.js';

export const SIGNIN_COMMAND = 'omni-auth login --browser';

export function portInUse(port: number): UsageError {
  return new UsageError('callback_port_in_use', `cannot listen for the sign-in callback on 127.0.0.1:${port}: the port is in use`, {
    hint: `stop what listens on port ${port}, or use another registered port with --callback-port (the tenant's Allowed Callback URLs must list http://127.0.0.1:<port>/callback)`,
  });
}

export function signinTimeout(seconds: number): OmniAuthError {
  return new OmniAuthError('signin_timeout', `no sign-in arrived within ${seconds} s`, {
    exitCode: ExitCode.refused,
    hint: `run \`${SIGNIN_COMMAND}\` again and finish the sign-in in the browser (--timeout <seconds> waits longer; --no-browser to paste the address back by hand)`,
  });
}

export function stateMismatch(): OmniAuthError {
  return new OmniAuthError('signin_state_mismatch', 'the sign-in callback does not belong to this sign-in (its "state" does not match)', {
    exitCode: ExitCode.refused,
    hint: `a stale browser tab or another program answered the callback; run \`${SIGNIN_COMMAND}\` again and use the newest tab`,
  });
}

/** The authorization server redirected back with `error=` (the person declined, or the tenant refused). */
export function signinDenied(host: string, error: string | null, description: string | null): OmniAuthError {
  const e = tenantText(error ?? 'unknown_error', []) ?? 'unknown_error';
  const d = tenantText(description ?? undefined, []);
  return new OmniAuthError('signin_denied', `${host} ended the sign-in with ${e}${d ? `: ${d}` : ''}`, {
    exitCode: ExitCode.refused,
    details: { error: e, ...(d ? { error_description: d } : {}) },
    hint: e === 'access_denied'
      ? 'the sign-in was declined (by you, or by the tenant\'s rules for this account); sign in with an account the tenant allows'
      : `check that the application allows the authorization_code grant and lists http://127.0.0.1:<port>/callback as a callback URL (\`omni-auth setup\`), then run \`${SIGNIN_COMMAND}\` again`,
  });
}

export function badCallback(problem: string): OmniAuthError {
  return new OmniAuthError('signin_bad_callback', `the sign-in callback is unusable: ${problem}`, {
    exitCode: ExitCode.refused,
    hint: `run \`${SIGNIN_COMMAND}\` again; with --no-browser, paste the whole address the browser ended on`,
  });
}

/** The token endpoint refused the code (its words, cleaned of anything token-shaped). */
export function codeRefused(host: string, error: string, description: string | undefined, secrets: readonly string[]): OmniAuthError {
  const e = tenantText(error, secrets) ?? 'error';
  const d = tenantText(description, secrets);
  return new OmniAuthError('signin_refused', `${host} refused the sign-in's authorization code: ${e}${d ? `: ${d}` : ''}`, {
    exitCode: ExitCode.refused,
    details: { error: e, ...(d ? { error_description: d } : {}) },
    hint: `codes are single-use and short-lived: run \`${SIGNIN_COMMAND}\` again. If it keeps failing, the application may not allow the authorization_code grant (\`omni-auth setup\`)`,
  });
}

export function idTokenUnverified(host: string, why: string): OmniAuthError {
  return new OmniAuthError('id_token_unverified', `the ID token from ${host} does not verify: ${tenantText(why, []) ?? 'invalid'}`, {
    exitCode: ExitCode.refused,
    hint: 'nothing was stored. Check that the domain is the tenant\'s issuer (with a custom domain, use it) and the client id is the CLI application\'s',
  });
}

export function tenantUnusable(host: string, what: string, exitCode: ExitCode = ExitCode.unreachable): OmniAuthError {
  return new OmniAuthError('signin_unavailable', `could not sign in at ${host}: ${tenantText(what, []) ?? 'failed'}`, {
    exitCode,
    hint: 'check the domain, the network or proxy; the tenant\'s discovery document is at <domain>/.well-known/openid-configuration',
  });
}

export function browserUnavailable(): OmniAuthError {
  return new OmniAuthError('binding_required', 'this machine key must be bound to a person, and no browser could be opened here to sign in', {
    exitCode: ExitCode.refused,
    hint: `run \`${SIGNIN_COMMAND}\` in a terminal (or with --no-browser on a headless machine), then start this again`,
  });
}
