/**
 * What `login` and `exec` share about the browser sign-in: the flags, when a refusal may start a
 * sign-in by itself, and the `signIn` the broker's use case gets — src/signin, imported here
 * dynamically through its index so the build compiles it on first use (scripts/build.mjs).
 */
import type { Readable } from 'node:stream';
import type { SignInFn } from '../broker/browser-login.js';
import type { DeviceSignInFn } from '../broker/device-login.js';
import { isOmniAuthError } from '../util/errors.js';
import type { SignInFlags } from './signin-options.js';
import { info } from './output.js';

// The sign-in flags' defaults and parsers: their own module, which the warm entry's exec parser imports without this one's sign-in code.
export { DEFAULT_CALLBACK_PORT, DEFAULT_SIGNIN_TIMEOUT, parseCallbackPort, parseTimeout, type SignInFlags } from './signin-options.js';

/** OMNI_AUTH_NO_BROWSER=1 (or true/yes): never open a browser by ourselves. */
export function noBrowserFromEnv(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env.OMNI_AUTH_NO_BROWSER?.trim() ?? '');
}

/** The tenant wants a person and this key is not (or no longer) bound to one. */
export function isBindingRequired(e: unknown): boolean {
  return isOmniAuthError(e) && e.code === 'binding_required';
}

/** A person at a terminal: seamless `login` may start a sign-in; in CI (no TTY) it never does. */
export function atTerminal(): boolean {
  return process.stdin.isTTY === true || process.stderr.isTTY === true;
}

export interface SignInChoice {
  mode: 'browser' | 'paste';
  /** Where a pasted address is read from (a terminal, or --no-browser's stdin). */
  input?: Readable;
  /** When the browser cannot open and nothing can be pasted: fail at once instead of waiting. */
  failWithoutBrowser?: boolean;
}

export function signInWith(flags: SignInFlags, env: NodeJS.ProcessEnv, choice: SignInChoice): SignInFn {
  return async (p) => {
    const { signIn } = await import('../signin/index.js');
    return signIn({
      ...p,
      port: flags.callbackPort,
      timeoutSeconds: flags.timeout,
      mode: choice.mode,
      ...(choice.input ? { input: choice.input } : {}),
      say: info,
      env,
      ...(choice.failWithoutBrowser ? { failWithoutBrowser: true } : {}),
    });
  };
}

/** How long to wait for another process's sign-in: its whole wait, and some. */
export const signInLockMs = (flags: SignInFlags): number => (flags.timeout + 30) * 1000;

/** The device flow's sign-in (login --device), src/signin loaded on first use like the browser's. */
export function deviceSignInWith(flags: SignInFlags): DeviceSignInFn {
  return async (p) => {
    const { deviceSignIn } = await import('../signin/index.js');
    return deviceSignIn({ ...p, timeoutSeconds: flags.timeout, say: info });
  };
}
