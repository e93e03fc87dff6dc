/**
 * A warm `exec` (issue 13): every MCP server start pays for it. When the cache holds a fresh token for
 * these settings, the warm entry runs the child itself, with the full exec's own code for everything
 * the child sees — src/broker/get-token.ts (the same freshness and key checks as a warm `token`),
 * src/exec/token-file.ts ($AUTH0_TOKEN_FILE: same directory rules, name, modes, clean-up) and
 * src/exec/child.ts (the environment without omni-auth's secrets, signal forwarding, the exit status).
 *
 * What the warm entry cannot do is deferred, not dropped: when the token file's token is due, the
 * renewal loads the full CLI (omni-auth-full.cjs beside this file) and runs the full exec's renewal
 * with the same context (src/exec/renew.ts). Everything that would need more before the child starts —
 * no fresh token (a new one, or the browser sign-in of a person-bound tenant), a bad flag, a token file
 * that cannot be made, a command that cannot be run — returns false before the child runs, and the
 * full CLI runs the whole command from the start.
 */
import { join } from 'node:path';
import type { WarmExec } from './argv.js';
import { ENTRY_SYMBOL, FULL_CLI_FILE, RENEW_ONLY_SYMBOL } from './files.js';
import type { renewExecToken } from '../exec/renew.js';
import { spawnInherited } from './spawn.js';
import { warmAnswered } from './code-cache.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Runs the command and resolves true once it has ended (process.exitCode set), or false: hand the whole command off. */
export async function warmExec(cmd: WarmExec): Promise<boolean> {
  const { opts, command } = cmd;
  const [file, ...args] = command;
  // The full exec's usage errors are the full CLI's to print.
  if (!file || !ENV_NAME.test(opts.envVar) || (opts.tokenFileVar !== undefined && !ENV_NAME.test(opts.tokenFileVar))) return false;
  const [{ getToken }, { tenantContext }, { warn, printError }, { setCaFileFlag }, { openExecTokenFile }, { childEnv, runChild, ChildFailed }] = await Promise.all([
    import('../broker/get-token.js'), import('../cli/context.js'), import('../cli/output.js'), import('../config/network.js'),
    import('../exec/token-file.js'), import('../exec/child.js'),
  ]);
  let tokenFile: Awaited<ReturnType<typeof openExecTokenFile>>;
  let env: NodeJS.ProcessEnv;
  try {
    // src/cli/context.ts addSettingsOptions' preAction hook: read when a renewal makes a request.
    setCaFileFlag(opts.caFile);
    const ctx = await tenantContext(opts);
    // The warm getToken answers from the cache or throws HandOff (src/warm/hand-off.ts).
    const { token } = await getToken({ ...ctx, minTtl: opts.minTtl, warn });
    tokenFile = await openExecTokenFile(opts.tokenFileVar, {
      env: ctx.env, home: ctx.files.home, token, minTtl: opts.minTtl, warn,
      renew: async (minTtl) => fullRenewal()(ctx, minTtl),
      deferSchedule: (schedule) => process.nextTick(schedule),
    });
    env = { ...childEnv(process.env, opts.envVar, token.access_token), ...tokenFile.env };
  } catch {
    return false;
  }
  try {
    // The child started by src/warm/spawn.ts: node:child_process's spawn without loading it.
    process.exitCode = await runChild(file, args, env, () => tokenFile.close(), () => {
      tokenFile.sweep();
      warmAnswered(true);
    }, spawnInherited);
  } catch (e) {
    // Not run at all: the full CLI runs the command again and reports it. Once it had run, as the full CLI would.
    if (e instanceof ChildFailed && !e.started) return false;
    printError(e);
    process.exitCode = e instanceof ChildFailed ? e.exitCode : 1;
  }
  return true;
}

/** The full CLI's renewal, the full CLI loaded on first use (it runs no command: RENEW_ONLY_SYMBOL). */
function fullRenewal(): typeof renewExecToken {
  const g = globalThis as Record<symbol, unknown>;
  g[Symbol.for(ENTRY_SYMBOL)] = __filename;
  g[Symbol.for(RENEW_ONLY_SYMBOL)] = true;
  return (require(join(__dirname, FULL_CLI_FILE)) as { renewExecToken: typeof renewExecToken }).renewExecToken;
}
