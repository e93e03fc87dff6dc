/**
 * `omni-auth exec -- cmd args…`: runs the command with a fresh token in one environment variable, so no
 * token is stored in any config. stdio is inherited; the child's exit code and signals pass through, and
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to omni-auth are forwarded to the child.
 *
 * The child gets omni-auth's environment minus omni-auth's own secrets (the machine key, the client
 * secret, the Management API credentials): a third-party server receives one short-lived token, never
 * the permanent machine identity.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { getToken } from '../broker/get-token.js';
import type { SettingsFlags } from '../config/settings.js';
import { OmniAuthError, UsageError } from '../util/errors.js';
import { KEY_ENV } from '../identity/key-store.js';
import { tenantContext, type TenantContext } from './context.js';
import { info, warn } from './output.js';
import { isBindingRequired, noBrowserFromEnv, signInLockMs, signInWith, type SignInFlags } from './signin.js';
import { openExecTokenFile } from '../exec/token-file.js';
import { DEFAULT_CI_TOKEN_ENV, type CiMode } from '../broker/ci-token.js';
import { ciOptionsOf } from './token.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * The variables that carry omni-auth's own secrets (every one the CLI reads: src/cli/context.ts,
 * src/cli/admin-options.ts, src/identity/key-store.ts). `AUTH0_MGMT_` is a prefix: the whole family goes.
 */
export const OWN_SECRET_VARS: readonly string[] = [KEY_ENV, 'OMNI_AUTH_CLIENT_SECRET'];
export const OWN_SECRET_PREFIXES: readonly string[] = ['AUTH0_MGMT_'];

/**
 * The child's environment: ours without omni-auth's secrets, plus the token in `envVar`. On Windows
 * names are case-insensitive, so the match is too.
 */
export function childEnv(env: NodeJS.ProcessEnv, envVar: string, token: string, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  const fold = (name: string): string => (platform === 'win32' ? name.toUpperCase() : name);
  const own = (name: string): boolean => {
    const n = fold(name);
    return OWN_SECRET_VARS.includes(n) || OWN_SECRET_PREFIXES.some((p) => n.startsWith(p));
  };
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (own(k) || fold(k) === fold(envVar)) continue;
    out[k] = v;
  }
  out[envVar] = token;
  return out;
}

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
  envVar: string; minTtl: number; browser: boolean; signinTimeout: number; tokenFileVar?: string; ci?: CiMode; ciTokenEnv?: string;
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
  const child = spawn(file, args, { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      tokenFile.close();
      for (const s of FORWARDED) process.off(s, forward);
      reject(new OmniAuthError('exec_failed', `cannot run "${file}": ${e.code ?? e.message}`, {
        exitCode: e.code === 'ENOENT' ? 2 : 1,
        hint: e.code === 'ENOENT' ? 'check the command name and PATH' : undefined,
      }));
    });
    child.once('exit', (code, signal) => {
      tokenFile.close();
      for (const s of FORWARDED) process.off(s, forward);
      if (signal) {
        // Die of the same signal, so our parent sees exactly what the child did. Any handler left for
        // it (ours are gone) would swallow it, so the default action must be back first.
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
        resolve(128 + (signalNumber(signal) ?? 1));
        return;
      }
      resolve(code ?? 1);
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (constants.signals as Record<string, number>)[signal];
}
