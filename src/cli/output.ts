/** Human output on stderr: plain text when NO_COLOR is set or stderr is not a TTY. */
import { isOmniAuthError } from '../util/errors.js';

const useColor = (): boolean => !process.env.NO_COLOR && process.stderr.isTTY === true;
const paint = (code: string, s: string): string => (useColor() ? `\u001b[${code}m${s}\u001b[0m` : s);
export const red = (s: string): string => paint('31', s);
export const green = (s: string): string => paint('32', s);
export const yellow = (s: string): string => paint('33', s);
export const dim = (s: string): string => paint('2', s);

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`${yellow('warning:')} ${message}\n`);
}

/** Prints an error for a person. Only typed errors' messages are shown verbatim; they hold no secrets. */
export function printError(e: unknown): void {
  if (isOmniAuthError(e)) {
    process.stderr.write(`${red('error:')} ${e.message} ${dim(`[${e.code}]`)}\n`);
    if (e.hint) process.stderr.write(`${dim('hint:')} ${e.hint}\n`);
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`${red('internal error:')} ${err.name}: ${err.message}\n`);
  if (process.env.OMNI_AUTH_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
}
