/**
 * The command lines the warm entry answers itself: `token` with its own options in the forms commander
 * gives them (`--flag value`, `--flag=value`; the last one wins; every value parsed by the same
 * function, so a bad one anywhere is the full CLI's to report). Anything else — help, version, short or
 * unknown options, a value that looks like an option, positionals, other commands — is undefined: the
 * full CLI (commander) parses it.
 *
 * `exec` is not answered here: it always opens the token file ($AUTH0_TOKEN_FILE, src/exec/token-file.ts)
 * and renews it while the child runs — an exchange the warm entry cannot make and can no longer hand
 * off once the child has started — and it may open the browser sign-in. The full CLI runs every `exec`.
 */
import { parseFormat, parseMinTtl, type TokenFormat } from '../cli/token.js';
import type { SettingsFlags } from '../config/settings.js';

export type WarmCommand = { name: 'token'; opts: SettingsFlags & { minTtl: number; format: TokenFormat; caFile?: string } };

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

/** src/cli/main.ts: the token command's own options, their parsers and defaults. */
const OWN: Record<string, string> = { '--min-ttl': 'minTtl', '--format': 'format' };
const DEFAULTS = { minTtl: 300, format: 'raw' } as const;

const PARSERS: Record<string, (value: string) => unknown> = { minTtl: parseMinTtl, format: parseFormat };

export function parseWarmArgs(args: readonly string[]): WarmCommand | undefined {
  const [name, ...rest] = args;
  if (name !== 'token') return undefined;
  const opts: Record<string, unknown> = { ...DEFAULTS };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 2 ? arg.slice(0, eq) : arg;
    const key = OWN[flag] ?? SETTINGS[flag];
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
  return { name, opts } as unknown as WarmCommand;
}
