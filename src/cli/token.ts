/** `omni-auth token`: stdout holds the token in the asked format and one newline — nothing else, ever. */
import { getToken } from '../broker/get-token.js';
import type { CachedToken } from '../cache/token-cache.js';
import type { SettingsFlags } from '../config/settings.js';
import { UsageError } from '../util/errors.js';
import { tenantContext } from './context.js';
import { warn } from './output.js';
import type { CiMode, CiOptions } from '../broker/ci-token.js';

/** `--ci` / `--ci-token-env` as getToken's `ci` option (absent without --ci). */
export function ciOptionsOf(flags: { ci?: CiMode; ciTokenEnv?: string }): { ci?: CiOptions } {
  if (flags.ci === undefined) return {};
  return { ci: { mode: flags.ci, ...(flags.ciTokenEnv !== undefined ? { tokenEnv: flags.ciTokenEnv } : {}) } };
}

export const TOKEN_FORMATS = ['raw', 'json', 'header', 'env', 'headers-json'] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];

export function formatToken(token: CachedToken, format: TokenFormat): string {
  switch (format) {
    case 'raw':
      return token.access_token;
    case 'json':
      return JSON.stringify({ access_token: token.access_token, token_type: token.token_type, expires_at: token.expires_at });
    case 'header':
      return `Authorization: Bearer ${token.access_token}`;
    case 'env':
      return `AUTH0_TOKEN=${token.access_token}`;
    case 'headers-json':
      return JSON.stringify({ Authorization: `Bearer ${token.access_token}` });
  }
}

export function parseFormat(value: string): TokenFormat {
  if ((TOKEN_FORMATS as readonly string[]).includes(value)) return value as TokenFormat;
  throw new UsageError('invalid_format', `--format must be one of ${TOKEN_FORMATS.join(', ')}; got "${value}"`, {
    hint: 'raw for scripts, json for the expiry, header for curl -H, env for a .env line, headers-json for header-helper commands',
  });
}

export function parseMinTtl(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError('invalid_min_ttl', `--min-ttl must be a whole number of seconds; got "${value}"`, { hint: 'e.g. --min-ttl 600 to renew tokens with less than 10 minutes left' });
  }
  return n;
}

export async function runToken(flags: SettingsFlags & { minTtl: number; format: TokenFormat; grant?: 'exchange' | 'client-credentials'; ci?: CiMode; ciTokenEnv?: string }): Promise<void> {
  const ctx = await tenantContext(flags);
  const { token } = await getToken({ ...ctx, minTtl: flags.minTtl, warn, ...ciOptionsOf(flags) });
  process.stdout.write(`${formatToken(token, flags.format)}\n`);
}
