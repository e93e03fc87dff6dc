/**
 * The command lines the warm entry answers itself, with their own options in the forms commander gives
 * them (`--flag value`, `--flag=value`; the last one wins; every value parsed by the same function, so
 * a bad one anywhere is the full CLI's to report):
 *  - `token`;
 *  - `exec [options] -- command args…` (src/warm/exec.ts): options, then `--`, then a command.
 * Anything else — help, version, short or unknown options, a value that looks like an option,
 * positionals (for exec: before `--`), other commands — is undefined: the full CLI (commander) parses it.
 */
import { parseFormat, parseMinTtl, type TokenFormat } from '../cli/token.js';
import type { SettingsFlags } from '../config/settings.js';
import { DEFAULT_CALLBACK_PORT, DEFAULT_SIGNIN_TIMEOUT, parseCallbackPort, parseTimeout } from '../cli/signin-options.js';

export type WarmToken = { name: 'token'; opts: SettingsFlags & { minTtl: number; format: TokenFormat; caFile?: string } };
/** src/cli/main.ts's exec options (ExecFlags), and the command after `--`. */
export type WarmExec = {
  name: 'exec';
  opts: SettingsFlags & { minTtl: number; envVar: string; tokenFileVar?: string; browser: boolean; callbackPort: number; signinTimeout: number; caFile?: string };
  command: string[];
};
export type WarmCommand = WarmToken | WarmExec;

/**
 * src/cli/context.ts addSettingsOptions. `--ca-file` only matters for a request (src/config/network.ts
 * reads it when one is made, never before): a warm answer makes none, and a cold one is handed off with
 * the flag in its argv.
 */
const SETTINGS: Record<string, string> = {
  '--profile': 'profile',
  '--domain': 'domain',
  '--client-id': 'clientId',
  '--audience': 'audience',
  '--scope': 'scope',
  '--subject-token-type': 'subjectTokenType',
  '--ca-file': 'caFile',
};

/** src/cli/main.ts: each command's own options with a value, their parsers and defaults. */
const OWN: Record<WarmCommand['name'], Record<string, string>> = {
  token: { '--min-ttl': 'minTtl', '--format': 'format' },
  exec: { '--min-ttl': 'minTtl', '--env-var': 'envVar', '--token-file-var': 'tokenFileVar', '--callback-port': 'callbackPort', '--signin-timeout': 'signinTimeout' },
};
const DEFAULTS: Record<WarmCommand['name'], Record<string, unknown>> = {
  token: { minTtl: 300, format: 'raw' },
  exec: { envVar: 'AUTH0_TOKEN', minTtl: 300, browser: true, callbackPort: DEFAULT_CALLBACK_PORT, signinTimeout: DEFAULT_SIGNIN_TIMEOUT },
};
/** Options without a value (commander's negatable `--no-browser`: browser defaults to true). */
const SWITCHES: Record<WarmCommand['name'], Record<string, [string, unknown]>> = {
  token: {},
  exec: { '--no-browser': ['browser', false] },
};

const PARSERS: Record<string, (value: string) => unknown> = {
  minTtl: parseMinTtl, format: parseFormat, callbackPort: parseCallbackPort, signinTimeout: parseTimeout,
};

export function parseWarmArgs(args: readonly string[]): WarmCommand | undefined {
  const [name, ...rest] = args;
  if (name !== 'token' && name !== 'exec') return undefined;
  const opts: Record<string, unknown> = { ...DEFAULTS[name] };
  let command: string[] | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (name === 'exec' && arg === '--') {
      command = rest.slice(i + 1);
      break;
    }
    const switched = SWITCHES[name][arg];
    if (switched) {
      opts[switched[0]] = switched[1];
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 2 ? arg.slice(0, eq) : arg;
    const key = OWN[name][flag] ?? SETTINGS[flag];
    if (key === undefined) return undefined;
    let value: string | undefined;
    if (eq > 2) value = arg.slice(eq + 1);
    else {
      value = rest[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
    }
    const parse = PARSERS[key];
    try {
      opts[key] = parse ? parse(value) : value;
    } catch {
      return undefined;
    }
  }
  if (name === 'token') return { name, opts } as unknown as WarmToken;
  if (!command || command.length === 0) return undefined;
  return { name, opts, command } as unknown as WarmExec;
}
