/**
 * The tenant's signing keys: fetched on first use, kept, and fetched again when a token names a
 * key (`kid`) the cached set does not have — how Auth0's key rotation reaches a running server —
 * at most once per cool-down, so tokens with made-up `kid`s cannot make the server hammer the tenant.
 * The set is also refreshed when older than `maxAgeMs`, so a revoked key stops being trusted.
 * A failed fetch is `jwks_unavailable`: the token is neither accepted nor blamed.
 */
import { createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { TokenError } from './errors.js';

type KeyFn = ReturnType<typeof createLocalJWKSet>;
type Key = Awaited<ReturnType<KeyFn>>;

export interface JwksCacheOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Milliseconds since the epoch; for tests. */
  now?: () => number;
  /** Least time between two fetches caused by unknown `kid`s (default 30 s). */
  cooldownMs?: number;
  /** Age after which the set is fetched again before use (default 10 min). */
  maxAgeMs?: number;
  /** Per fetch (default 5 s). */
  timeoutMs?: number;
}

export interface JwksCache {
  /** For jose's `compactVerify`: the key the header names. */
  key(header: JWSHeaderParameters, input: FlattenedJWSInput): Promise<Key>;
  /** How many times the set was fetched (for tests and diagnostics). */
  readonly fetches: number;
}

export function createJwksCache(jwksUri: string, options: JwksCacheOptions = {}): JwksCache {
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  let current: { set: KeyFn; fetchedAt: number } | undefined;
  let inflight: Promise<{ set: KeyFn; fetchedAt: number }> | undefined;
  let fetches = 0;

  async function load(): Promise<{ set: KeyFn; fetchedAt: number }> {
    fetches += 1;
    let body: unknown;
    try {
      const res = await doFetch(jwksUri, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (e) {
      throw new TokenError('jwks_unavailable', `could not fetch the tenant's signing keys from ${jwksUri}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e, hint: 'check that the domain is right and the tenant reachable from this server',
      });
    }
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) {
      throw new TokenError('jwks_unavailable', `${jwksUri} did not answer with a JSON Web Key Set`, { hint: 'check that the domain is the Auth0 tenant (or its custom domain)' });
    }
    return { set: createLocalJWKSet(body as JSONWebKeySet), fetchedAt: now() };
  }

  function refresh(): Promise<{ set: KeyFn; fetchedAt: number }> {
    inflight ??= load().then(
      (loaded) => { current = loaded; inflight = undefined; return loaded; },
      (e: unknown) => { inflight = undefined; throw e; },
    );
    return inflight;
  }

  return {
    get fetches() { return fetches; },
    async key(header, input) {
      const fresh = current && now() - current.fetchedAt < maxAgeMs ? current : await refresh();
      try {
        return await fresh.set(header, input);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw e;
        // Another request may have refreshed the set meanwhile; else refresh once per cool-down.
        const latest = current && current !== fresh ? current : now() - fresh.fetchedAt >= cooldownMs ? await refresh() : undefined;
        if (!latest) throw e;
        return latest.set(header, input);
      }
    },
  };
}
