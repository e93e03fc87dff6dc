import { randomBytes } from 'node:crypto';
import { http, HttpResponse } from 'msw';
import type { Transport } from '../../src/exchange/transport.js';

/**
 * A transport on the global fetch, which msw intercepts (it does not intercept the npm undici
 * package). It ignores connectTimeoutMs: fetch has no such knob; the total timeout still applies.
 */
export const fetchTransport: Transport = async ({ url, headers, body, signal }) => {
  const response = await fetch(url, { method: 'POST', headers, body, signal });
  return { status: response.status, headers: Object.fromEntries(response.headers), bodyText: await response.text() };
};

/** A clock that only moves when the code under test sleeps: no test waits for real. */
export function fakeTime(startMs = 1_800_000_000_000): { now: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let t = startMs;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

/** Subject tokens shaped like the real local token (a compact JWS), each one different. */
export function subjectTokenMinter(): { mint: () => Promise<string>; minted: string[] } {
  const minted: string[] = [];
  return {
    minted,
    mint: async () => {
      const payload = Buffer.from(JSON.stringify({ jti: randomBytes(16).toString('base64url') })).toString('base64url');
      const token = `eyJhbGciOiJFUzI1NiIsInR5cCI6Im9tbmktbG9jYWwrand0In0.${payload}.${randomBytes(64).toString('base64url')}`;
      minted.push(token);
      return token;
    },
  };
}

export interface Recorded {
  body: string;
  headers: Headers;
}

/**
 * A handler for POST `url` that answers with `replies` in order (the last one repeats) and records
 * each request.
 */
export function sequence(url: string, ...replies: Array<() => Response>): { handler: ReturnType<typeof http.post>; calls: Recorded[] } {
  const calls: Recorded[] = [];
  const handler = http.post(url, async ({ request }) => {
    calls.push({ body: await request.text(), headers: request.headers });
    const reply = replies[Math.min(calls.length, replies.length) - 1]!;
    return reply();
  });
  return { handler, calls };
}

export const tokenBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  access_token: `at-${randomBytes(24).toString('base64url')}`,
  token_type: 'Bearer',
  expires_in: 86_400,
  issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  ...overrides,
});

export const ok = (overrides: Record<string, unknown> = {}) => (): Response => HttpResponse.json(tokenBody(overrides));
export const oauthError = (status: number, error: string, description?: string, headers: Record<string, string> = {}) => (): Response =>
  HttpResponse.json({ error, ...(description !== undefined ? { error_description: description } : {}) }, { status, headers });
