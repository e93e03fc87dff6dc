/** The browser sign-in's flags, their defaults and parsers (`login`, `exec`; re-exported by ./signin.ts). */
import { UsageError } from '../util/errors.js';

export const DEFAULT_CALLBACK_PORT = 8765;
export const DEFAULT_SIGNIN_TIMEOUT = 300;

export interface SignInFlags {
  callbackPort: number;
  timeout: number;
}

export function parseTimeout(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 86_400) {
    throw new UsageError('invalid_timeout', `--timeout must be a whole number of seconds (1..86400); got "${value}"`, { hint: 'e.g. --timeout 600' });
  }
  return n;
}

export function parseCallbackPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError('invalid_callback_port', `--callback-port must be an integer 1..65535; got "${value}"`, {
      hint: 'use a port listed in the application\'s Allowed Callback URLs as http://127.0.0.1:<port>/callback (default 8765)',
    });
  }
  return n;
}
