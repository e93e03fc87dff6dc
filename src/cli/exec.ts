/**
 * `omni-auth exec -- cmd args…`: runs the command with a fresh token in one environment variable, so no
 * token is stored in any config. stdio is inherited; the child's exit code and signals pass through.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { getToken } from '../broker/get-token.js';
import type { SettingsFlags } from '../config/settings.js';
import { OmniAuthError, UsageError } from '../util/errors.js';
import { tenantContext } from './context.js';
import { warn } from './output.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export async function runExec(command: string[], flags: SettingsFlags & { envVar: string; minTtl: number }): Promise<number> {
  if (!ENV_NAME.test(flags.envVar)) {
    throw new UsageError('invalid_env_var', `--env-var "${flags.envVar}" is not a valid environment variable name`, {
      hint: 'use letters, digits and _ (not starting with a digit), e.g. --env-var MCP_TOKEN',
    });
  }
  const [file, ...args] = command;
  if (!file) throw new UsageError('missing_command', 'exec needs a command after --', { hint: 'omni-auth exec -- node server.js' });
  const ctx = await tenantContext(flags);
  const { token } = await getToken({ ...ctx, minTtl: flags.minTtl, warn });

  const child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, [flags.envVar]: token.access_token } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      for (const s of FORWARDED) process.off(s, forward);
      reject(new OmniAuthError('exec_failed', `cannot run "${file}": ${e.code ?? e.message}`, {
        exitCode: e.code === 'ENOENT' ? 2 : 1,
        hint: e.code === 'ENOENT' ? 'check the command name and PATH' : undefined,
      }));
    });
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      if (signal) {
        // Die of the same signal, so our parent sees exactly what the child did.
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
