/**
 * Retrying a call to the tenant, bounded both in attempts and in total time. A 429 waits as the
 * tenant asks (`rate-limit.ts`) plus jitter, so parallel callers do not return together; server and
 * network faults back off exponentially with full jitter (an answer of kind `once` gets one retry at
 * most, however many attempts are allowed); anything else is returned at once. A wait
 * that would end past the time budget is not started: the caller gets the last answer right away.
 */
import { TransientError, type RetryKind } from './errors.js';
import type { HttpResult } from './http.js';
import { rateLimitWaitMs } from './rate-limit.js';

export interface RetryOptions {
  maxAttempts: number;
  /** From the first attempt's start to the end of the last wait. */
  maxTotalMs: number;
  /** Backoff ceiling before jitter: base · 2^(attempt−1), at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Added (uniformly at random, up to this) to the wait a 429 asks for. */
  rateLimitJitterMs: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1). */
  random: () => number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  maxTotalMs: 30_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  rateLimitJitterMs: 1_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

export interface RetryOutcome {
  /** The first answer `decide` stopped on, or the last one when attempts or time ran out. */
  result: HttpResult;
  attempts: number;
}

/**
 * Calls `makeRequest(attempt, remainingMs)` until `decide` says stop or the bounds are reached. The
 * callback builds the whole request each time, so an exchange mints a new subject token per attempt.
 * Only a `TransientError` thrown by it is retried; when the last attempt threw one, it is rethrown.
 */
export async function withRetry(
  makeRequest: (attempt: number, remainingMs: number) => Promise<HttpResult>,
  decide: (result: HttpResult) => RetryKind,
  options: Partial<RetryOptions> = {},
): Promise<RetryOutcome> {
  const o: RetryOptions = { ...DEFAULT_RETRY, ...options };
  const start = o.now();
  const backoff = (attempt: number): number => o.random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));

  for (let attempt = 1; ; attempt++) {
    const remainingMs = Math.max(1, o.maxTotalMs - (o.now() - start));
    let waitMs: number;
    let giveUp: () => RetryOutcome;
    try {
      const result = await makeRequest(attempt, remainingMs);
      const kind = decide(result);
      if (kind === 'stop' || (kind === 'once' && attempt >= 2)) return { result, attempts: attempt };
      giveUp = () => ({ result, attempts: attempt });
      const asked = kind === 'rate_limit' ? rateLimitWaitMs(result.headers, o.now()) : undefined;
      waitMs = asked === undefined ? backoff(attempt) : asked + o.random() * o.rateLimitJitterMs;
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      giveUp = () => {
        throw e;
      };
      waitMs = backoff(attempt);
    }
    if (attempt >= o.maxAttempts || o.now() - start + waitMs > o.maxTotalMs) return giveUp();
    await o.sleep(waitMs);
  }
}
