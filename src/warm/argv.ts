/**
 * The command lines the warm entry answers itself: `token` and `exec … -- <command>` with their own
 * options in the forms commander gives them (`--flag value`, `--flag=value`; the last one wins; every
 * value parsed by the same function, so a bad one anywhere is the full CLI's to report). Anything
 * else — help, version, short or unknown options, a value that looks like an option, positionals,
 * other commands — is undefined: the full CLI (commander) parses it.
 */
import { parseFormat, parseMinTtl, type TokenFormat } from '../cli/token.js';
import type { SettingsFlags } from '../config/settings.js';

export type WarmCommand =
  | { name: 'token'; opts: SettingsFlags & { minTtl: number; format: TokenFormat } }
  | { name: 'exec'; command: string[]; opts: SettingsFlags & { envVar: string; minTtl: number } };

/** src/cli/context.ts addSettingsOptions. */
const SETTINGS: Record<string, keyof SettingsFlags> = {
  '--domain': 'domain',
  '--client-id': 'clientId',
  '--audience': 'audience',
  '--scope': 'scope',
  '--subject-token-type': 'subjectTokenType',
};

/** src/cli/main.ts: each command's own options, their parsers and defaults. */
const COMMANDS = {
  token: { options: { '--min-ttl': 'minTtl', '--format': 'format' }, defaults: { minTtl: 300, format: 'raw' } },
  exec: { options: { '--env-var': 'envVar', '--min-ttl': 'minTtl' }, defaults: { envVar: 'AUTH0_TOKEN', minTtl: 300 } },
} as const;

const PARSERS: Record<string, (value: string) => unknown> = { minTtl: parseMinTtl, format: parseFormat };

export function parseWarmArgs(args: readonly string[]): WarmCommand | undefined {
  const [name, ...rest] = args;
  if (name !== 'token' && name !== 'exec') return undefined;
  const spec = COMMANDS[name];
  const own: Record<string, string> = spec.options;
  const opts: Record<string, unknown> = { ...spec.defaults };
  let i = 0;
  for (; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--') break;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 2 ? arg.slice(0, eq) : arg;
    const key = own[flag] ?? SETTINGS[flag];
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
  if (name === 'token') return i === rest.length ? ({ name, opts } as unknown as WarmCommand) : undefined;
  const command = rest.slice(i + 1);
  return i < rest.length && command.length > 0 ? ({ name, command, opts } as unknown as WarmCommand) : undefined;
}
