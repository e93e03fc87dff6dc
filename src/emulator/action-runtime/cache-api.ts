/**
 * `api.cache`: a trigger's cache, with Auth0's documented limits (Actions Limitations, "Cached
 * data"): at most 20 entries per trigger, keys ≤ 64 bytes, values ≤ 4 kB, keys and values ≤ 8 kB in
 * total, lifetimes ≤ 24 h (also the default).
 *
 * Auth0 documents that `set` and `delete` return a CacheWriteResult — `{type: 'success'}` or
 * `{type: 'error', code}` — but neither the error codes nor what happens when the cache is full.
 * The emulator's choices:
 * - a write that would break a limit is refused with `{type: 'error', code, message}` (codes
 *   below); nothing is evicted to make room, except entries whose lifetime is over, which are
 *   invisible anyway and purged before the limits are checked;
 * - a lifetime beyond 24 h is shortened to 24 h; with both `ttl` and `expires_at`, the earlier wins;
 * - a successful `set` returns `{type: 'success', record: {value, expires_at}}`;
 * - `get` returns `{value, expires_at}` (Auth0's cache record) or undefined;
 * - once the run has ended, writes by work the Action left behind are refused (`EXECUTION_ENDED`).
 */
import type { CacheEntry } from './types.js';

export const CACHE_LIMITS = {
  maxEntries: 20,
  maxKeyBytes: 64,
  maxValueBytes: 4096,
  maxTotalBytes: 8192,
  defaultTtlMs: 24 * 60 * 60 * 1000,
  maxTtlMs: 24 * 60 * 60 * 1000,
} as const;

export type CacheErrorCode =
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'INVALID_OPTIONS'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'TOO_MANY_ENTRIES'
  | 'CACHE_FULL'
  | 'EXECUTION_ENDED';

export type CacheWriteResult =
  | { type: 'success'; record?: CacheEntry }
  | { type: 'error'; code: CacheErrorCode; message: string };

export interface ActionCacheApi {
  get(key: string): CacheEntry | undefined;
  set(key: string, value: string, options?: { ttl?: number; expires_at?: number }): CacheWriteResult;
  delete(key: string): CacheWriteResult;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const error = (code: CacheErrorCode, message: string): CacheWriteResult => ({ type: 'error', code, message });

export function createCacheApi(store: Map<string, CacheEntry>, now: () => number, isOpen: () => boolean): ActionCacheApi {
  const purgeExpired = (at: number): void => {
    for (const [key, entry] of store) if (entry.expires_at <= at) store.delete(key);
  };

  const expiry = (options: unknown, at: number): number | CacheWriteResult => {
    if (options === undefined || options === null) return at + CACHE_LIMITS.defaultTtlMs;
    if (typeof options !== 'object') return error('INVALID_OPTIONS', 'options must be an object');
    const { ttl, expires_at } = options as { ttl?: unknown; expires_at?: unknown };
    const candidates: number[] = [];
    if (ttl !== undefined) {
      if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
        return error('INVALID_OPTIONS', 'options.ttl must be a positive number of milliseconds');
      }
      candidates.push(at + ttl);
    }
    if (expires_at !== undefined) {
      if (typeof expires_at !== 'number' || !Number.isFinite(expires_at) || expires_at <= at) {
        return error('INVALID_OPTIONS', 'options.expires_at must be a future time in milliseconds since the epoch');
      }
      candidates.push(expires_at);
    }
    const requested = candidates.length > 0 ? Math.min(...candidates) : at + CACHE_LIMITS.defaultTtlMs;
    return Math.min(requested, at + CACHE_LIMITS.maxTtlMs);
  };

  return {
    get(key) {
      if (typeof key !== 'string') return undefined;
      const entry = store.get(key);
      if (!entry) return undefined;
      if (entry.expires_at <= now()) {
        if (isOpen()) store.delete(key);
        return undefined;
      }
      return { value: entry.value, expires_at: entry.expires_at };
    },

    set(key, value, options) {
      if (!isOpen()) return error('EXECUTION_ENDED', 'the Action execution has ended');
      if (typeof key !== 'string' || key === '') return error('INVALID_KEY', 'the key must be a non-empty string');
      if (typeof value !== 'string') return error('INVALID_VALUE', 'the value must be a string');
      const keyBytes = bytes(key);
      if (keyBytes > CACHE_LIMITS.maxKeyBytes) {
        return error('KEY_TOO_LARGE', `the key is ${keyBytes} bytes; the limit is ${CACHE_LIMITS.maxKeyBytes}`);
      }
      const valueBytes = bytes(value);
      if (valueBytes > CACHE_LIMITS.maxValueBytes) {
        return error('VALUE_TOO_LARGE', `the value is ${valueBytes} bytes; the limit is ${CACHE_LIMITS.maxValueBytes}`);
      }
      const at = now();
      const expires_at = expiry(options, at);
      if (typeof expires_at !== 'number') return expires_at;

      purgeExpired(at);
      const replacing = store.has(key);
      if (!replacing && store.size >= CACHE_LIMITS.maxEntries) {
        return error('TOO_MANY_ENTRIES', `the cache already holds ${CACHE_LIMITS.maxEntries} entries`);
      }
      let total = keyBytes + valueBytes;
      for (const [k, entry] of store) if (k !== key) total += bytes(k) + bytes(entry.value);
      if (total > CACHE_LIMITS.maxTotalBytes) {
        return error('CACHE_FULL', `keys and values would total ${total} bytes; the limit is ${CACHE_LIMITS.maxTotalBytes}`);
      }
      const record = { value, expires_at };
      store.set(key, record);
      return { type: 'success', record: { ...record } };
    },

    delete(key) {
      if (!isOpen()) return error('EXECUTION_ENDED', 'the Action execution has ended');
      if (typeof key !== 'string') return error('INVALID_KEY', 'the key must be a string');
      store.delete(key);
      return { type: 'success' };
    },
  };
}

/**
 * `api.cache` as an Action sees it: the three methods, each forwarding to the store's API (the
 * Action gets functions of its own, not the emulator's object).
 */
export function actionFacingCache(cache: ActionCacheApi): ActionCacheApi {
  return {
    get: (key: string) => cache.get(key),
    set: (key: string, value: string, options?: { ttl?: number; expires_at?: number }) => cache.set(key, value, options),
    delete: (key: string) => cache.delete(key),
  };
}
