/**
 * Retrying a call to the tenant within a total time budget. The wait before each new attempt comes
 * from `backoff.ts`: full jitter over an exponential ceiling, added to what a 429 asks for
 * (`X-RateLimit-Reset` / `Retry-After`), drawn within what is left of the budget. A 429 is retried
 * until the budget is spent — Custom Token Exchange allows only a few per second per tenant, and a
 * fleet of CI jobs starting together has to queue — while server and network faults also stop after
 * `maxAttempts` (an answer of kind `once` gets one retry at most). Anything else is returned at once.
 */
import { retryWaitMs } from './backoff.js';
import { TransientError, type RetryKind } from './errors.js';
import type { HttpResult } from './http.js';

export interface RetryOptions {
  /** Attempts at most when the answers are faults (network, 5xx); 429s are bounded by time only. */
  maxAttempts: number;
  /** The total patience: from the first attempt's start to the end of the last attempt. */
  maxTotalMs: number;
  /** Kept back from the budget for the attempt after a wait: no attempt starts with less time than this. */
  attemptReserveMs: number;
  /** Backoff ceiling before jitter: base · 2^(n−1) for the n-th answer of a kind, at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The least wait after a 429 (its reset may be past, or absent, and the jitter may draw 0). */
  minRateLimitWaitMs: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1). */
  random: () => number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  maxTotalMs: 30_000,
  attemptReserveMs: 1_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  minRateLimitWaitMs: 100,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

export interface RetryOutcome {
  /** The first answer `decide` stopped on, or the last one when attempts or time ran out. */
  result: HttpResult;
  attempts: number;
  /** True when the answer is returned because the time budget could not hold another wait. */
  budgetSpent?: boolean;
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
  let faults = 0;
  let limited = 0;

  for (let attempt = 1; ; attempt++) {
    const remainingMs = Math.max(1, o.maxTotalMs - (o.now() - start));
    let giveUp: (budgetSpent: boolean) => RetryOutcome;
    let headers: Record<string, string> = {};
    let kindCount: number;
    let minWaitMs = 0;
    try {
      const result = await makeRequest(attempt, remainingMs);
      const kind = decide(result);
      if (kind === 'stop' || (kind === 'once' && attempt >= 2)) return { result, attempts: attempt };
      giveUp = (budgetSpent) => ({ result, attempts: attempt, ...(budgetSpent ? { budgetSpent } : {}) });
      if (kind === 'rate_limit') {
        headers = result.headers;
        kindCount = ++limited;
        minWaitMs = o.minRateLimitWaitMs;
      } else {
        kindCount = ++faults;
      }
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      giveUp = () => {
        throw e;
      };
      kindCount = ++faults;
    }
    if (faults >= o.maxAttempts) return giveUp(false);
    const nowMs = o.now();
    const waitMs = retryWaitMs({
      attempt: kindCount,
      headers,
      budgetLeftMs: o.maxTotalMs - (nowMs - start) - o.attemptReserveMs,
      random: o.random,
      nowMs,
      baseDelayMs: o.baseDelayMs,
      maxDelayMs: o.maxDelayMs,
      minWaitMs,
    });
    if (waitMs === undefined) return giveUp(true);
    await o.sleep(waitMs);
  }
}
