/** One line of `omni-auth doctor`: what was checked, the verdict, and the fix when it is not a pass. */
import { ExitCode, isOmniAuthError } from '../util/errors.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** For a failure: the exit code it stands for (2 local configuration, 3 tenant, 4 unreachable, 5 rate limited). */
  exit_code?: ExitCode;
}

export const pass = (id: string, title: string, detail: string): Check => ({ id, title, status: 'pass', detail });
export const warn = (id: string, title: string, detail: string, fix: string): Check => ({ id, title, status: 'warn', detail, fix });
export const skip = (id: string, title: string, detail: string): Check => ({ id, title, status: 'skip', detail });
export const fail = (id: string, title: string, detail: string, fix: string, exitCode: ExitCode): Check =>
  ({ id, title, status: 'fail', detail, fix, exit_code: exitCode });

/** A thrown error as a failed check: its message, hint and exit code. */
export function failFrom(id: string, title: string, e: unknown, fallbackFix: string): Check {
  if (isOmniAuthError(e)) return fail(id, title, e.message, e.hint ?? fallbackFix, e.exitCode);
  return fail(id, title, e instanceof Error ? `${e.name}: ${e.message}` : String(e), fallbackFix, ExitCode.internal);
}
