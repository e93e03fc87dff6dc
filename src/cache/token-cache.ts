/**
 * The token cache: `<home>/tokens.json`, mode 0600, `{"version": 1, "entries": {<key>: CachedToken}}`.
 * A file that does not parse or has the wrong shape is treated as empty — never trusted, never fatal
 * (botocore #3106) — and the caller gets a warning to print; the next write replaces it. Writes go
 * through the atomic-write helper; read-modify-write callers hold the cache lock (config/home.ts
 * `tokensLock`).
 *
 * On the warm `token` path: only node:fs and the atomic-write helper are imported.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';
import { parseCacheKey, type CacheKey } from './key.js';

export { cacheKeyOf, normalizeScope, parseCacheKey, type CacheKey } from './key.js';

export interface CachedToken {
  access_token: string;
  token_type: string;
  /** Epoch seconds. */
  expires_at: number;
  /** Epoch seconds. */
  obtained_at: number;
  /** The scopes granted (may differ from those asked for). */
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  /** The Auth0 user id (`sub`); not secret. */
  subject?: string;
  /** RFC 7638 thumbprint of the machine key that obtained the token; not secret. */
  key_thumbprint?: string;
}

/** Entries by cacheKeyOf(...). */
export type CacheEntries = Record<string, CachedToken>;

export interface CacheRead {
  entries: CacheEntries;
  /** For a person (stderr): why some or all of the file was ignored. Never quotes the file. */
  warning?: string;
}

const VERSION = 1;

export async function readCache(file: string): Promise<CacheRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { entries: {} };
    throw new UsageError('cache_unreadable', `cannot read the token cache ${file} (${code ?? (e as Error).message})`, {
      cause: e,
      hint: `check that ${file} belongs to this user and has mode 0600, or delete it (you will get new tokens)`,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which may hold tokens.
    return ignored(file, text.trim() === '' ? 'is empty' : 'is not valid JSON');
  }
  if (!isRecord(doc)) return ignored(file, 'is not a JSON object');
  if (doc.version !== VERSION) {
    return ignored(file, typeof doc.version === 'number' && doc.version > VERSION
      ? `was written by a newer omni-auth (format version ${doc.version})`
      : 'has no known format version');
  }
  if (!isRecord(doc.entries)) return ignored(file, 'has no "entries" object');

  const entries: CacheEntries = {};
  let dropped = 0;
  for (const [key, value] of Object.entries(doc.entries)) {
    if (parseCacheKey(key) && isCachedToken(value)) entries[key] = value;
    else dropped++;
  }
  if (dropped === 0) return { entries };
  return { entries, warning: `ignored ${dropped} malformed ${dropped === 1 ? 'entry' : 'entries'} of the token cache ${file}` };
}

function ignored(file: string, why: string): CacheRead {
  return { entries: {}, warning: `the token cache ${file} ${why}; treating it as empty (it is rewritten with the next token)` };
}

export async function getEntry(file: string, key: string): Promise<{ token: CachedToken | undefined; warning?: string }> {
  const { entries, warning } = await readCache(file);
  return { token: entries[key], ...(warning ? { warning } : {}) };
}

/** Stores `token` under `key` (read-modify-write: hold the cache lock). */
export async function putEntry(file: string, key: string, token: CachedToken): Promise<void> {
  if (!parseCacheKey(key)) throw new Error(`not a cache key (use cacheKeyOf): ${key}`);
  const { entries } = await readCache(file);
  entries[key] = token;
  await writeCache(file, entries);
}

/**
 * Removes the entries `predicate` selects (all of them without one) and returns them, so `logout` can
 * revoke their refresh tokens. A corrupt file is rewritten empty; an absent one is not created.
 */
export async function deleteEntries(
  file: string,
  predicate: (key: CacheKey, token: CachedToken) => boolean = () => true,
): Promise<CacheEntries> {
  const { entries, warning } = await readCache(file);
  const removed: CacheEntries = {};
  for (const [key, token] of Object.entries(entries)) {
    if (!predicate(parseCacheKey(key) as CacheKey, token)) continue;
    removed[key] = token;
    delete entries[key];
  }
  if (Object.keys(removed).length > 0 || warning) await writeCache(file, entries);
  return removed;
}

/** True when the token is valid for more than `minTtlSeconds` after `now` (epoch seconds). */
export function isFresh(token: CachedToken, minTtlSeconds: number, now: number): boolean {
  return token.expires_at - now > minTtlSeconds;
}

async function writeCache(file: string, entries: CacheEntries): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ version: VERSION, entries }, null, 2)}\n`, { mode: 0o600 });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const OPTIONAL_STRINGS = ['scope', 'refresh_token', 'id_token', 'subject', 'key_thumbprint'] as const;

function isCachedToken(v: unknown): v is CachedToken {
  return (
    isRecord(v) &&
    typeof v.access_token === 'string' && v.access_token !== '' &&
    typeof v.token_type === 'string' &&
    Number.isFinite(v.expires_at) &&
    Number.isFinite(v.obtained_at) &&
    OPTIONAL_STRINGS.every((name) => v[name] === undefined || typeof v[name] === 'string')
  );
}
