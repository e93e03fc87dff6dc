/**
 * The upstream `fetch` the SDK's client transports are given: each request gets `Authorization:
 * Bearer <token>` from the BearerSource; a 401 gets one retry with a renewed token (not the cached
 * one). The second 401 is returned as it is (the transport then fails the request) and remembered,
 * with its parsed challenge, for the JSON-RPC error the client gets.
 */
import { tenantText } from '../exchange/redact.js';
import { parseBearerChallenge, type BearerChallenge } from './challenge.js';
import type { BearerSource } from './tokens.js';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface Refusal {
  status: number;
  challenge: BearerChallenge;
}

export interface AuthorizedFetch {
  fetch: FetchLike;
  /** The last request that still got a 401 after the renewal, if any. */
  lastRefusal(): Refusal | undefined;
}

export function authorizedFetch(tokens: BearerSource, opts: { fetch?: FetchLike; warn: (m: string) => void; headers?: Record<string, string> }): AuthorizedFetch {
  const base: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
  let refusal: Refusal | undefined;
  const send = (url: string | URL, init: RequestInit | undefined, token: string): Promise<Response> => {
    const headers = new Headers(init?.headers);
    // The entry's own headers first: the transport's (session, protocol version) and ours win.
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (!headers.has(k)) headers.set(k, v);
    headers.set('authorization', `Bearer ${token}`);
    return base(url, { ...init, headers });
  };
  return {
    lastRefusal: () => refusal,
    fetch: async (url, init) => {
      const token = await tokens.current();
      const first = await send(url, init, token);
      if (first.status !== 401) return first;
      const challenge = cleaned(parseBearerChallenge(first.headers.get('www-authenticate')), [token]);
      await first.body?.cancel().catch(() => undefined);
      opts.warn(`the server refused the token (HTTP 401${describe(challenge)}); getting a new one and retrying once`);
      const renewed = await tokens.renew(token);
      const second = await send(url, init, renewed);
      if (second.status === 401) {
        refusal = { status: 401, challenge: cleaned(parseBearerChallenge(second.headers.get('www-authenticate')), [token, renewed]) };
        opts.warn(`the server refused the renewed token too (HTTP 401${describe(refusal.challenge)})`);
      } else refusal = undefined;
      return second;
    },
  };
}

/** The server's words, safe to show: a token it echoed (ours, or anything token-shaped) redacted, control characters blanked. */
function cleaned(c: BearerChallenge, tokens: string[]): BearerChallenge {
  const out: BearerChallenge = {};
  for (const [k, v] of Object.entries(c) as Array<[keyof BearerChallenge, string]>) {
    const text = tenantText(v, tokens);
    if (text !== undefined) out[k] = text;
  }
  return out;
}

/** `, invalid_token: expired` — the server's words, never the token. */
export function describe(c: BearerChallenge): string {
  const parts = [c.error, c.error_description].filter(Boolean);
  return parts.length > 0 ? `, ${parts.join(': ')}` : '';
}
