/**
 * A herd in virtual time: N clients, each running the real `withRetry` (so the real `retryWaitMs`:
 * full jitter over the backoff ceiling, on top of X-RateLimit-Reset, within the budget) against the
 * emulator's real `TokenBucket`, on one virtual clock. Deterministic (a seeded generator), and as fast
 * as the CPU: no timer of the machine is used. For choosing backoff parameters and for property tests
 * ("200 clients drain within 1.3× of the physical limit, none fails") without a wall clock.
 */
import type { HttpResult } from '../../src/exchange/http.js';
import { withRetry, type RetryOptions } from '../../src/exchange/retry.js';
import { rateLimitHeaders, TokenBucket } from '../../src/emulator/ratelimit.js';

export interface HerdOptions {
  clients: number;
  burst: number;
  ratePerSecond: number;
  /** When each client makes its first attempt, ms after the start (default: all at 0). */
  arrivalMs?: (index: number, random: () => number) => number;
  /** One request's round trip, ms (the bucket is taken half-way). Default 20. */
  roundTripMs?: number;
  /** Overrides of the client's retry options (the budget, the ceilings). */
  retry?: Partial<RetryOptions>;
  seed?: number;
  /** The epoch ms the virtual clock starts at (X-RateLimit-Reset is read against it). */
  startMs?: number;
}

export interface HerdResult {
  /** From the start to the last client's success (ms). */
  drainMs: number;
  /** clients / rate: the least time the limit allows for all of them (less the burst). */
  physicalMs: number;
  succeeded: number;
  failed: number;
  rateLimited: number;
  /** The most 429s the tenant answered in any one second. */
  peak429PerSecond: number;
  /** Mean 429s per second over the drain. */
  mean429PerSecond: number;
}

/** mulberry32: small, seeded, good enough for jitter. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A clock whose time moves only from one pending sleep to the next. */
class VirtualClock {
  #t: number;
  #seq = 0;
  readonly #queue: Array<{ at: number; seq: number; wake: () => void }> = [];

  constructor(startMs: number) {
    this.#t = startMs;
  }

  now = (): number => this.#t;

  sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      const item = { at: this.#t + Math.max(0, ms), seq: this.#seq++, wake };
      // Insert in order of time, then of scheduling.
      let lo = 0;
      let hi = this.#queue.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const q = this.#queue[mid]!;
        if (q.at < item.at || (q.at === item.at && q.seq < item.seq)) lo = mid + 1;
        else hi = mid;
      }
      this.#queue.splice(lo, 0, item);
    });

  /** Runs until nothing is pending; `done` resolves when every client has finished. */
  async run(done: Promise<unknown>): Promise<void> {
    let finished = false;
    void done.then(() => (finished = true));
    for (;;) {
      // Let every promise chain run to its next sleep (nothing here does real I/O).
      await new Promise((r) => setImmediate(r));
      if (finished) return;
      const next = this.#queue.shift();
      if (!next) return;
      this.#t = next.at;
      next.wake();
    }
  }
}

export async function simulateHerd(o: HerdOptions): Promise<HerdResult> {
  const startMs = o.startMs ?? 1_800_000_000_000;
  const clock = new VirtualClock(startMs);
  const random = seeded(o.seed ?? 1);
  const bucket = new TokenBucket(clock.now);
  const roundTrip = o.roundTripMs ?? 20;
  const limitedAt: number[] = [];
  let lastSuccess = startMs;

  const request = async (): Promise<HttpResult> => {
    await clock.sleep(roundTrip / 2);
    const state = bucket.take(o.burst, o.ratePerSecond);
    const headers = Object.fromEntries(Object.entries(rateLimitHeaders(state)).map(([k, v]) => [k.toLowerCase(), v]));
    if (!state.allowed) limitedAt.push(clock.now());
    await clock.sleep(roundTrip / 2);
    return state.allowed ? { status: 200, headers, body: {} } : { status: 429, headers, body: { error: 'too_many_requests' } };
  };

  const client = async (index: number): Promise<boolean> => {
    await clock.sleep(o.arrivalMs ? o.arrivalMs(index, random) : 0);
    const { result } = await withRetry(request, (r) => (r.status === 200 ? 'stop' : 'rate_limit'), {
      ...o.retry,
      sleep: clock.sleep,
      now: clock.now,
      random,
    });
    if (result.status !== 200) return false;
    lastSuccess = Math.max(lastSuccess, clock.now());
    return true;
  };

  const all = Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  await clock.run(all);
  const outcomes = await all;
  const succeeded = outcomes.filter(Boolean).length;
  const perSecond = new Map<number, number>();
  for (const t of limitedAt) perSecond.set(Math.floor((t - startMs) / 1000), (perSecond.get(Math.floor((t - startMs) / 1000)) ?? 0) + 1);
  const drainMs = lastSuccess - startMs;
  return {
    drainMs,
    physicalMs: (o.clients / o.ratePerSecond) * 1000,
    succeeded,
    failed: o.clients - succeeded,
    rateLimited: limitedAt.length,
    peak429PerSecond: Math.max(0, ...perSecond.values()),
    mean429PerSecond: drainMs > 0 ? limitedAt.length / (drainMs / 1000) : 0,
  };
}
