/** `omni-auth doctor [--json]`: run the checks, print them (✓ ✗ ! -, each failure with its fix). */
import type { SettingsFlags } from '../config/settings.js';
import { doctor, type CheckStatus } from '../tenant/index.js';
import { managementCredentials, type ManagementFlags } from './admin-options.js';
import { homeContext } from './context.js';
import { dim, green, info, red, yellow } from './output.js';

export interface DoctorFlags extends SettingsFlags, ManagementFlags {
  connection: string;
  json?: boolean;
  serverUrl?: string;
}

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };
const PAINT: Record<CheckStatus, (s: string) => string> = { pass: green, fail: red, warn: yellow, skip: dim };

/** Returns the exit code: 0 only when no check failed. */
export async function runDoctor(flags: DoctorFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const credentials = managementCredentials(flags, env);
  const report = await doctor({
    flags, env, files: homeContext(env), connection: flags.connection,
    ...(credentials ? { credentials } : {}),
    ...(flags.serverUrl !== undefined ? { serverUrl: flags.serverUrl } : {}),
    ...(env.OMNI_AUTH_ACTION_DIR?.trim() ? { actionDir: env.OMNI_AUTH_ACTION_DIR.trim() } : {}),
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.exit_code;
  }
  const width = Math.max(...report.checks.map((c) => c.title.length));
  for (const c of report.checks) {
    info(`${PAINT[c.status](MARK[c.status])} ${c.title.padEnd(width)}  ${c.status === 'skip' ? dim(c.detail) : c.detail}`);
    if (c.fix && c.status !== 'pass') info(`  ${' '.repeat(width)}  ${dim('fix:')} ${c.fix}`);
  }
  info(`${dim('-')} ${'network'.padEnd(width)}  ${report.network}`);
  const warnings = report.checks.filter((c) => c.status === 'warn').length;
  if (!report.ok) info(red(`some checks failed (exit ${report.exit_code})`));
  else info(green(warnings > 0 ? `no check failed (${warnings} warning${warnings > 1 ? 's' : ''})` : 'all checks passed'));
  return report.exit_code;
}
