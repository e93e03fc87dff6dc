/**
 * The verifier's optional user info (issue 12 §1: "user info fetched from /userinfo when asked"): after a
 * token passed every check, `GET {tenant}/userinfo` with that token as the Bearer, the answer kept per
 * token until the token's `exp` (so a busy server asks once per token, not per request). The URL is the
 * tenant's origin, already https (http only on loopback, the emulator: tenant.ts). Auth0 answers
 * /userinfo only for tokens whose audience includes `https://{domain}/userinfo` (asked with `openid`).
 * A refusal there is `userinfo_refused` (401), no answer `userinfo_unavailable` (500) — never an accept.
 */
import { TokenError } from './errors.js';

export interface UserInfoCache {
  get(token: string, expiresAt: number): Promise<Record<string, unknown>>;
  /** How many times /userinfo was asked (for tests and diagnostics). */
  readonly fetches: number;
}

/** Entries kept at most; the oldest go first (a server sees few live tokens at a time). */
const MAX_ENTRIES = 1000;

export function createUserInfoCache(origin: string, options: { fetch?: typeof globalThis.fetch; now?: () => number; timeoutMs?: number } = {}): UserInfoCache {
  const url = `${origin}/userinfo`;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const entries = new Map<string, { value: Promise<Record<string, unknown>>; expiresAt: number }>();
  let fetches = 0;

  async function load(token: string): Promise<Record<string, unknown>> {
    fetches++;
    let res: Response;
    try {
      res = await doFetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new TokenError('userinfo_unavailable', `could not fetch ${url}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'check the network to the tenant', cause: e });
    }
    if (res.status === 401 || res.status === 403) {
      await res.text().catch(() => undefined);
      throw new TokenError('userinfo_refused', `${url} refused the token (HTTP ${res.status})`, {
        hint: 'the token must be for the /userinfo audience too: ask for it with the openid scope (Auth0 then adds https://{domain}/userinfo to aud)',
      });
    }
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = res.ok ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new TokenError('userinfo_unavailable', `${url} did not answer with a JSON object (HTTP ${res.status})`, { hint: 'try again later' });
    }
    return body as Record<string, unknown>;
  }

  return {
    get fetches() {
      return fetches;
    },
    async get(token: string, expiresAt: number): Promise<Record<string, unknown>> {
      const nowSec = Math.floor(now() / 1000);
      for (const [k, e] of entries) if (e.expiresAt <= nowSec) entries.delete(k);
      const hit = entries.get(token);
      if (hit) return hit.value;
      const value = load(token);
      entries.set(token, { value, expiresAt });
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      // A failure is not kept: the next request asks again.
      value.catch(() => entries.delete(token));
      return value;
    },
  };
}
