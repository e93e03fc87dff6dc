/**
 * How long to wait before the next attempt: the pure core of `retry.ts`.
 *
 * Full jitter ("Exponential Backoff and Jitter", AWS Architecture Blog): the wait is drawn uniformly
 * from [0, min(maxDelay, base · 2^(attempt−1))], so callers that failed together do not come back
 * together. A 429 adds that draw to the wait the tenant asks for (`Retry-After`, else
 * `X-RateLimit-Reset`), so no attempt starts before the limit has room again, and a herd of callers
 * spreads over the seconds after it instead of arriving on the same tick.
 *
 * The wait never leaves the budget: the draw is made within what is left of it, and when the tenant
 * asks for more than is left there is no wait at all (undefined: give up now, the budget is spent).
 */
import { rateLimitWaitMs } from './rate-limit.js';

export interface WaitInput {
  /** How many answers of this kind so far, counting the one just received (≥ 1). */
  attempt: number;
  /** The answer's headers (lower-case names); only a 429's are read, {} for any other fault. */
  headers: Record<string, string>;
  /** Milliseconds the caller may still wait (its budget, less the time the next attempt needs). */
  budgetLeftMs: number;
  /** In [0, 1). */
  random: () => number;
  /** Milliseconds since the epoch, to read X-RateLimit-Reset against. */
  nowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The least wait, when the draw is shorter (a 429 is never answered by a hot loop); default 0. */
  minWaitMs?: number;
}

/** The wait in milliseconds, or undefined when the budget cannot hold the wait the tenant asks for. */
export function retryWaitMs(input: WaitInput): number | undefined {
  const { attempt, headers, budgetLeftMs, random, nowMs, baseDelayMs, maxDelayMs } = input;
  // Less than a millisecond left: the budget is spent.
  if (!(budgetLeftMs >= 1)) return undefined;
  const floor = rateLimitWaitMs(headers, nowMs) ?? 0;
  if (floor > budgetLeftMs) return undefined;
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  const wait = floor + r * Math.max(0, Math.min(ceiling, budgetLeftMs - floor));
  const least = input.minWaitMs ?? 0;
  if (wait >= least) return wait;
  return least <= budgetLeftMs ? least : undefined;
}
