/**
 * `omni-auth exec -- cmd args…`: runs the command with a fresh token in one environment variable, so no
 * token is stored in any config. stdio is inherited; the child's exit code and signals pass through, and
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to omni-auth are forwarded to the child.
 *
 * The child gets omni-auth's environment minus omni-auth's own secrets (the machine key, the client
 * secret, the Management API credentials): a third-party server receives one short-lived token, never
 * the permanent machine identity.
 *
 * On a fresh cache the warm entry runs the same steps itself (src/warm/exec.ts); this module is then
 * not loaded at all.
 */
import { getToken } from '../broker/get-token.js';
import type { SettingsFlags } from '../config/settings.js';
import { UsageError } from '../util/errors.js';
import { tenantContext, type TenantContext } from './context.js';
import { info, warn } from './output.js';
import { isBindingRequired, noBrowserFromEnv, signInLockMs, signInWith, type SignInFlags } from './signin.js';
import { openExecTokenFile } from '../exec/token-file.js';
import { childEnv, runChild } from '../exec/child.js';

// The child's environment, spawn, signal forwarding and exit status: src/exec/child.ts (the warm entry runs the same code).
export { childEnv, OWN_SECRET_PREFIXES, OWN_SECRET_VARS } from '../exec/child.js';
import { DEFAULT_CI_TOKEN_ENV, type CiMode } from '../broker/ci-token.js';
import { ciOptionsOf } from './token.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * With --ci, the job's identity — GitHub's OIDC request variables, GitLab's ID token variable — is
 * omni-auth's to use, not the child's: the child gets the access token only.
 */
export function withoutCiIdentity(env: NodeJS.ProcessEnv, flags: { ci?: CiMode; ciTokenEnv?: string }): NodeJS.ProcessEnv {
  if (flags.ci === undefined) return env;
  const drop = new Set(['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', flags.ciTokenEnv ?? DEFAULT_CI_TOKEN_ENV]);
  return Object.fromEntries(Object.entries(env).filter(([k]) => !drop.has(k)));
}

export type ExecFlags = SettingsFlags & Pick<SignInFlags, 'callbackPort'> & {
  envVar: string; minTtl: number; browser: boolean; signinTimeout: number; tokenFileVar?: string;
  grant?: 'exchange' | 'client-credentials'; ci?: CiMode; ciTokenEnv?: string;
};

/**
 * The token, and — when the tenant wants a person and this key is not bound (binding_required) — one
 * browser sign-in first, as the original did "when you first use the tools": an MCP client starts
 * `exec` with no terminal, so the browser is the only way to ask. Bounded by --signin-timeout; never
 * with --no-browser or OMNI_AUTH_NO_BROWSER=1; several `exec` started at once share one sign-in.
 * stdin is the server's: nothing is ever read from it.
 */
async function tokenForExec(ctx: TenantContext, flags: ExecFlags): Promise<Awaited<ReturnType<typeof getToken>>['token']> {
  const startedMs = Date.now();
  try {
    return (await getToken({ ...ctx, minTtl: flags.minTtl, warn, ...ciOptionsOf(flags) })).token;
  } catch (e) {
    if (flags.ci !== undefined || !isBindingRequired(e) || !flags.browser || noBrowserFromEnv(ctx.env)) throw e;
    const { signInOnce } = await import('../broker/browser-login.js');
    const signInFlags = { callbackPort: flags.callbackPort, timeout: flags.signinTimeout };
    info(`${ctx.settings.domain} gives tokens only to people: opening the browser once to bind this machine key to you`);
    const signedIn = await signInOnce({
      ...ctx, warn, signIn: signInWith(signInFlags, ctx.env, { mode: 'browser', failWithoutBrowser: true }), lockTimeoutMs: signInLockMs(signInFlags),
    }, startedMs);
    info(signedIn ? 'signed in; starting the server' : 'another omni-auth process signed in; starting the server');
    return (await getToken({ ...ctx, minTtl: flags.minTtl, warn })).token;
  }
}

export async function runExec(command: string[], flags: ExecFlags): Promise<number> {
  if (!ENV_NAME.test(flags.envVar)) {
    throw new UsageError('invalid_env_var', `--env-var "${flags.envVar}" is not a valid environment variable name`, {
      hint: 'use letters, digits and _ (not starting with a digit), e.g. --env-var MCP_TOKEN',
    });
  }
  const [file, ...args] = command;
  if (!file) throw new UsageError('missing_command', 'exec needs a command after --', { hint: 'omni-auth exec -- node server.js' });
  const ctx = await tenantContext(flags);
  const token = await tokenForExec(ctx, flags);

  // Issue 11 §3: $AUTH0_TOKEN_FILE, kept fresh while the child runs (src/exec/token-file.ts).
  const tokenFile = await openExecTokenFile(flags.tokenFileVar, {
    env: ctx.env, home: ctx.files.home, token, minTtl: flags.minTtl, warn,
    renew: async (minTtl) => (await getToken({ ...ctx, minTtl, warn, ...ciOptionsOf(flags) })).token,
  });
  const env = { ...childEnv(withoutCiIdentity(process.env, flags), flags.envVar, token.access_token), ...tokenFile.env };
  return runChild(file, args, env, () => tokenFile.close(), () => tokenFile.sweep());
}
