/**
 * A fake of the `event` and `api` objects Auth0 hands a `custom-token-exchange` Action (v1), for
 * calling an Action's handler directly. Every api call is recorded; `outcome()` names the one that
 * decides the exchange. `api.cache` enforces Auth0's documented cache limits (20 entries per
 * trigger, key ≤ 64 bytes, value ≤ 4 KB, keys + values ≤ 8 KB, default lifetime 15 min, at most
 * 24 h). Auth0 does not document its error codes; the `CACHE_*` codes here are this fake's own.
 *
 * `api.authentication.setUserById(user_id)` is recorded as the deciding call; what Auth0 does after
 * the Action with it ("fails if the user does not exist or is blocked", CTE "API Object") is the
 * emulator's to model, not this fake's. Actions also get the runtime's global `fetch` (Node 22's):
 * tests do not fake it — the Action's real global fetch reaches a loopback fake tenant that publishes
 * a JWKS (binding.ts, FakeTenant), or a test stubs `globalThis.fetch` to see what it is called with.
 */

export interface CteEvent {
  client: { client_id: string; name: string; metadata: Record<string, string> };
  request: {
    ip: string;
    method: string;
    hostname?: string;
    language?: string;
    user_agent?: string;
    geoip: Record<string, unknown>;
    body: Record<string, unknown>;
  };
  resource_server: { identifier: string };
  tenant: { id: string };
  secrets: Record<string, string>;
  transaction: {
    subject_token: string;
    subject_token_type: string;
    requested_scopes: string[];
    requested_token_type: string | null;
  };
}

export interface CacheRecord {
  value: string;
  expires_at: number;
}
export type CacheWriteResult = { type: 'success'; record?: CacheRecord } | { type: 'error'; code: string };

export interface UserAttributes {
  user_id: string;
  name?: string;
  nickname?: string;
  [attribute: string]: unknown;
}
export interface SetUserOptions {
  creationBehavior: 'create_if_not_exists' | 'none';
  updateBehavior: 'replace' | 'none';
}

export interface CteApi {
  access: {
    rejectInvalidSubjectToken(reason: string): CteApi;
    deny(code: string, reason: string): CteApi;
  };
  authentication: {
    setUserById(userId: string): CteApi;
    setUserByConnection(connection: string, attributes: UserAttributes, options: SetUserOptions): CteApi;
  };
  user: {
    setAppMetadata(key: string, value: unknown): CteApi;
    setUserMetadata(key: string, value: unknown): CteApi;
  };
  cache: {
    get(key: string): CacheRecord | undefined;
    set(key: string, value: string, options?: { ttl?: number; expires_at?: number }): CacheWriteResult;
    delete(key: string): CacheWriteResult;
  };
}

export type CteHandler = (event: CteEvent, api: CteApi) => Promise<void>;

export interface RecordedCall {
  method: string;
  args: unknown[];
}

export type Outcome =
  | { kind: 'reject'; reason: string }
  | { kind: 'deny'; code: string; reason: string }
  | { kind: 'setUser'; connection: string; attributes: UserAttributes; options: SetUserOptions }
  | { kind: 'setUserById'; userId: string }
  | { kind: 'none' }
  | { kind: 'several'; calls: RecordedCall[] };

export const CACHE_LIMITS = {
  entries: 20,
  keyBytes: 64,
  valueBytes: 4096,
  totalBytes: 8192,
  defaultTtlMs: 15 * 60_000,
  maxTtlMs: 24 * 3_600_000,
} as const;

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** One trigger's cache. Share an instance between FakeApis to model executions of one tenant. */
export class FakeCache {
  readonly #entries = new Map<string, CacheRecord>();
  readonly #now: () => number;
  /** When set, every set() answers `{type:'error', code: failSetWith}` (a store outage). */
  failSetWith: string | undefined;
  /** When set, get() throws it. */
  failGetWith: Error | undefined;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  get(key: string): CacheRecord | undefined {
    if (this.failGetWith) throw this.failGetWith;
    this.#prune();
    const record = this.#entries.get(key);
    return record ? { ...record } : undefined;
  }

  set(key: string, value: string, options: { ttl?: number; expires_at?: number } = {}): CacheWriteResult {
    if (this.failSetWith) return { type: 'error', code: this.failSetWith };
    if (typeof key !== 'string' || typeof value !== 'string') return { type: 'error', code: 'CACHE_INVALID_ARGUMENT' };
    if (bytes(key) > CACHE_LIMITS.keyBytes) return { type: 'error', code: 'CACHE_KEY_TOO_LARGE' };
    if (bytes(value) > CACHE_LIMITS.valueBytes) return { type: 'error', code: 'CACHE_VALUE_TOO_LARGE' };
    this.#prune();
    if (!this.#entries.has(key) && this.#entries.size >= CACHE_LIMITS.entries) {
      return { type: 'error', code: 'CACHE_TOO_MANY_ENTRIES' };
    }
    const others = [...this.#entries].filter(([k]) => k !== key);
    const total = others.reduce((sum, [k, record]) => sum + bytes(k) + bytes(record.value), 0);
    if (total + bytes(key) + bytes(value) > CACHE_LIMITS.totalBytes) return { type: 'error', code: 'CACHE_FULL' };

    const now = this.#now();
    const candidates = [now + CACHE_LIMITS.maxTtlMs];
    if (options.ttl !== undefined) candidates.push(now + options.ttl);
    if (options.expires_at !== undefined) candidates.push(options.expires_at);
    if (options.ttl === undefined && options.expires_at === undefined) candidates.push(now + CACHE_LIMITS.defaultTtlMs);
    const record = { value, expires_at: Math.min(...candidates) };
    this.#entries.set(key, record);
    return { type: 'success', record: { ...record } };
  }

  delete(key: string): CacheWriteResult {
    this.#entries.delete(key);
    return { type: 'success' };
  }

  /** Live keys, for assertions. */
  keys(): string[] {
    this.#prune();
    return [...this.#entries.keys()];
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, record] of this.#entries) if (record.expires_at <= now) this.#entries.delete(key);
  }
}

export interface FakeApi {
  api: CteApi;
  calls: RecordedCall[];
  cache: FakeCache;
  /** The call that decides the exchange; `several` when more than one was made (always a bug). */
  outcome(): Outcome;
}

const DECIDING = new Set([
  'access.rejectInvalidSubjectToken',
  'access.deny',
  'authentication.setUserById',
  'authentication.setUserByConnection',
]);

export function createFakeApi(options: { cache?: FakeCache } = {}): FakeApi {
  const calls: RecordedCall[] = [];
  const cache = options.cache ?? new FakeCache();
  const record = (method: string, args: unknown[]): CteApi => {
    calls.push({ method, args });
    return api;
  };
  const api: CteApi = {
    access: {
      rejectInvalidSubjectToken: (...args) => record('access.rejectInvalidSubjectToken', args),
      deny: (...args) => record('access.deny', args),
    },
    authentication: {
      setUserById: (...args) => record('authentication.setUserById', args),
      setUserByConnection: (...args) => record('authentication.setUserByConnection', args),
    },
    user: {
      setAppMetadata: (...args) => record('user.setAppMetadata', args),
      setUserMetadata: (...args) => record('user.setUserMetadata', args),
    },
    cache: {
      get: (key) => cache.get(key),
      set: (key, value, opts) => cache.set(key, value, opts),
      delete: (key) => cache.delete(key),
    },
  };
  const outcome = (): Outcome => {
    const deciding = calls.filter((call) => DECIDING.has(call.method));
    if (deciding.length === 0) return { kind: 'none' };
    if (deciding.length > 1) return { kind: 'several', calls: deciding };
    const [call] = deciding as [RecordedCall];
    switch (call.method) {
      case 'access.rejectInvalidSubjectToken':
        return { kind: 'reject', reason: call.args[0] as string };
      case 'access.deny':
        return { kind: 'deny', code: call.args[0] as string, reason: call.args[1] as string };
      case 'authentication.setUserById':
        return { kind: 'setUserById', userId: call.args[0] as string };
      default:
        return {
          kind: 'setUser',
          connection: call.args[0] as string,
          attributes: call.args[1] as UserAttributes,
          options: call.args[2] as SetUserOptions,
        };
    }
  };
  return { api, calls, cache, outcome };
}

export interface EventOptions {
  subjectToken: string;
  clientId?: string;
  /** `null` leaves `request.hostname` out. */
  hostname?: string | null;
  secrets?: Record<string, string>;
}

/** An event as Auth0 builds it for `POST /oauth/token` with grant_type token-exchange. */
export function createEvent(options: EventOptions): CteEvent {
  const request: CteEvent['request'] = { ip: '127.0.0.1', method: 'POST', geoip: {}, body: {} };
  if (options.hostname !== null) request.hostname = options.hostname ?? 'tenant.example.auth0.com';
  return {
    client: { client_id: options.clientId ?? 'cli-client-id', name: 'omni-auth CLI', metadata: {} },
    request,
    resource_server: { identifier: 'https://mcp.example.com/' },
    tenant: { id: 'tenant' },
    secrets: { ...options.secrets },
    transaction: {
      subject_token: options.subjectToken,
      subject_token_type: 'urn:omnispindle:local-auth',
      requested_scopes: [],
      requested_token_type: null,
    },
  };
}
