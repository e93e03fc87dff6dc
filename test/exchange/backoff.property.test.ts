/**
 * The wait before a retry (`retryWaitMs`), as properties over any attempt, any rate-limit headers, any
 * budget and any random draw: never before the tenant's reset, never past the budget, and spread out
 * (full jitter) rather than the same for everyone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryWaitMs, type WaitInput } from '../../src/exchange/backoff.js';
import { rateLimitWaitMs } from '../../src/exchange/rate-limit.js';

const NOW = 1_800_000_000_000;
const base = { nowMs: NOW, baseDelayMs: 500, maxDelayMs: 8_000 };

/** X-RateLimit-Reset (epoch seconds, up to a minute ahead or a little behind), Retry-After, both or none. */
const headersArb = fc.oneof(
  fc.constant({}),
  fc.integer({ min: -5, max: 60 }).map((s) => ({ 'x-ratelimit-limit': '4', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(NOW / 1000) + s) })),
  fc.integer({ min: 0, max: 60 }).map((s) => ({ 'retry-after': String(s) })),
  fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 })).map(([a, b]) => ({ 'retry-after': String(a), 'x-ratelimit-reset': String(Math.floor(NOW / 1000) + b) })),
);
const inputArb = fc.record({
  attempt: fc.integer({ min: 1, max: 40 }),
  headers: headersArb,
  budgetLeftMs: fc.double({ min: -1_000, max: 600_000, noNaN: true }),
  r: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  minWaitMs: fc.constantFrom(0, 100),
});
const input = (x: { attempt: number; headers: Record<string, string>; budgetLeftMs: number; r: number; minWaitMs: number }): WaitInput =>
  ({ ...base, attempt: x.attempt, headers: x.headers, budgetLeftMs: x.budgetLeftMs, random: () => x.r, minWaitMs: x.minWaitMs });

describe('retryWaitMs', () => {
  it('never waits less than the tenant asks (X-RateLimit-Reset / Retry-After), nor less than the least wait', () => {
    fc.assert(fc.property(inputArb, (x) => {
      const wait = retryWaitMs(input(x));
      if (wait === undefined) return;
      expect(wait).toBeGreaterThanOrEqual(rateLimitWaitMs(x.headers, NOW) ?? 0);
      expect(wait).toBeGreaterThanOrEqual(x.minWaitMs);
    }), { numRuns: 2_000 });
  });

  it('never waits beyond the budget; gives up (undefined) exactly when the budget cannot hold what is asked', () => {
    fc.assert(fc.property(inputArb, (x) => {
      const wait = retryWaitMs(input(x));
      const asked = Math.max(rateLimitWaitMs(x.headers, NOW) ?? 0, x.minWaitMs);
      if (wait === undefined) expect(x.budgetLeftMs < 1 || asked > x.budgetLeftMs).toBe(true);
      else {
        expect(wait).toBeLessThanOrEqual(x.budgetLeftMs);
        expect(asked).toBeLessThanOrEqual(x.budgetLeftMs);
      }
    }), { numRuns: 2_000 });
  });

  it('the jitter above the reset is at most the exponential ceiling min(maxDelay, base · 2^(attempt−1))', () => {
    fc.assert(fc.property(inputArb, (x) => {
      const wait = retryWaitMs(input({ ...x, minWaitMs: 0 }));
      if (wait === undefined) return;
      const ceiling = Math.min(8_000, 500 * 2 ** (x.attempt - 1));
      expect(wait - (rateLimitWaitMs(x.headers, NOW) ?? 0)).toBeLessThanOrEqual(ceiling + 1e-6);
    }), { numRuns: 2_000 });
  });

  it('spreads a herd: callers with the same answer and different draws wait over the whole ceiling, in the order of their draws', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 0, max: 5 }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 2, maxLength: 50 }),
      (attempt, resetIn, draws) => {
        const headers = { 'x-ratelimit-reset': String(Math.floor(NOW / 1000) + resetIn) };
        const waits = draws.map((r) => retryWaitMs({ ...base, attempt, headers, budgetLeftMs: 600_000, random: () => r })!);
        const floor = rateLimitWaitMs(headers, NOW)!;
        const ceiling = Math.min(8_000, 500 * 2 ** (attempt - 1));
        // The wait is the reset plus the draw's share of the ceiling: distinct draws, distinct waits.
        for (const [i, r] of draws.entries()) expect(waits[i]).toBeCloseTo(floor + r * ceiling, 6);
        const sortedDraws = draws.map((r, i) => [r, i] as const).sort((a, b) => a[0] - b[0]);
        for (let k = 1; k < sortedDraws.length; k++) expect(waits[sortedDraws[k]![1]]!).toBeGreaterThanOrEqual(waits[sortedDraws[k - 1]![1]]!);
      },
    ));
  });

  it('with Math.random, a herd of 200 lands spread over the ceiling: every tenth of it gets some, none gets most', () => {
    const headers = { 'x-ratelimit-reset': String(Math.floor(NOW / 1000) + 1) };
    const attempt = 5; // ceiling 8 s
    const floor = rateLimitWaitMs(headers, NOW)!;
    const waits = Array.from({ length: 200 }, () => retryWaitMs({ ...base, attempt, headers, budgetLeftMs: 600_000, random: Math.random })!);
    const buckets = new Array<number>(10).fill(0);
    for (const w of waits) buckets[Math.min(9, Math.floor(((w - floor) / 8_000) * 10))]!++;
    // Uniform: 20 expected per tenth; the chance of a tenth with none, or one with 60+, is negligible (< 1e-8).
    expect(Math.min(...buckets)).toBeGreaterThan(0);
    expect(Math.max(...buckets)).toBeLessThan(60);
  });

  it('a Retry-After wins over X-RateLimit-Reset, as before', () => {
    const wait = retryWaitMs({ ...base, attempt: 1, headers: { 'retry-after': '2', 'x-ratelimit-reset': String(Math.floor(NOW / 1000) + 9) }, budgetLeftMs: 60_000, random: () => 0 });
    expect(wait).toBe(2_000);
  });
});
