/** The retry policy on its own: bounded attempts for faults, bounded time for all, waits chosen by the answer. */
import { describe, expect, it } from 'vitest';
import { TransientError, type RetryKind } from '../../src/exchange/errors.js';
import type { HttpResult } from '../../src/exchange/http.js';
import { withRetry } from '../../src/exchange/retry.js';
import { OmniAuthError } from '../../src/util/errors.js';
import { fakeTime } from './helpers.js';

const answer = (status: number, headers: Record<string, string> = {}): HttpResult => ({ status, headers, body: undefined });
const decide = (r: HttpResult): RetryKind => (r.status === 429 ? 'rate_limit' : r.status >= 500 ? 'backoff' : 'stop');
const transient = () => new TransientError('tenant_unreachable', 'could not reach t: reset', { exitCode: 4 });

/** Answers from a script, one per attempt; records attempt numbers and the remaining budget. */
function script(...steps: Array<HttpResult | Error>) {
  const seen: Array<{ attempt: number; remainingMs: number }> = [];
  const makeRequest = async (attempt: number, remainingMs: number): Promise<HttpResult> => {
    seen.push({ attempt, remainingMs });
    const step = steps[Math.min(attempt, steps.length) - 1]!;
    if (step instanceof Error) throw step;
    return step;
  };
  return { makeRequest, seen };
}

describe('withRetry', () => {
  it('returns the first answer decide stops on', async () => {
    const time = fakeTime();
    const { makeRequest, seen } = script(answer(200));
    expect(await withRetry(makeRequest, decide, time)).toEqual({ result: answer(200), attempts: 1 });
    expect(seen).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('backs off exponentially with full jitter, capped, and stops after maxAttempts', async () => {
    const time = fakeTime();
    const { makeRequest, seen } = script(answer(500));
    const out = await withRetry(makeRequest, decide, { ...time, random: () => 0.999_999, maxAttempts: 6, maxTotalMs: 600_000, maxDelayMs: 4_000 });
    expect(out.attempts).toBe(6);
    expect(out.result.status).toBe(500);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(time.sleeps.map(Math.round)).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
  });

  it('full jitter: the wait is random × ceiling, down to zero', async () => {
    const time = fakeTime();
    const randoms = [0, 0.25];
    const { makeRequest } = script(answer(503), answer(503), answer(200));
    await withRetry(makeRequest, decide, { ...time, random: () => randoms.shift()! });
    expect(time.sleeps).toEqual([0, 250]);
  });

  it('draws each wait within what is left of the time budget (keeping back attemptReserveMs), and tells each attempt what is left', async () => {
    const time = fakeTime();
    const { makeRequest, seen } = script(answer(500));
    const out = await withRetry(makeRequest, decide, { ...time, random: () => 0.999_999, maxAttempts: 10, maxTotalMs: 3_000, attemptReserveMs: 1_000 });
    // Ceilings 500, 1000, 2000: the third is cut to the 500 ms left before the reserve; then nothing is left.
    expect(time.sleeps.map(Math.round)).toEqual([500, 1_000, 500]);
    expect(out).toMatchObject({ attempts: 4, budgetSpent: true });
    expect(seen.map((s) => Math.round(s.remainingMs))).toEqual([3_000, 2_500, 1_500, 1_000]);
  });

  it('429: waits Retry-After plus full jitter over the backoff ceiling (base for the first 429)', async () => {
    const time = fakeTime();
    const { makeRequest } = script(answer(429, { 'retry-after': '2' }), answer(200));
    await withRetry(makeRequest, decide, { ...time, random: () => 0.75, baseDelayMs: 400 });
    expect(time.sleeps).toEqual([2_300]);
  });

  it('429s are retried past maxAttempts until the budget is spent: the ceiling doubles per 429', async () => {
    const time = fakeTime();
    const { makeRequest, seen } = script(answer(429));
    const out = await withRetry(makeRequest, decide, { ...time, random: () => 0.5, maxAttempts: 2, maxTotalMs: 20_000, maxDelayMs: 4_000 });
    // Ceilings 500, 1000, 2000, then 4000 (capped); near the end the draws are made within the 19 s
    // (20 s less the 1 s reserve) that are left, down to minRateLimitWaitMs (100 ms).
    expect(time.sleeps).toEqual([250, 500, 1_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 1_625, 812.5, 406.25, 203.125, 101.5625, 100]);
    expect(seen).toHaveLength(17);
    expect(out).toMatchObject({ attempts: 17, budgetSpent: true });
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(19_000);
  });

  it('429 without rate-limit headers: the jittered backoff alone, but never under minRateLimitWaitMs', async () => {
    const time = fakeTime();
    const { makeRequest } = script(answer(429), answer(429), answer(200));
    const randoms = [0.5, 0];
    await withRetry(makeRequest, decide, { ...time, random: () => randoms.shift()! });
    expect(time.sleeps).toEqual([250, 100]);
  });

  it('429 asking for more than the budget: the 429 comes back at once', async () => {
    const time = fakeTime();
    const { makeRequest, seen } = script(answer(429, { 'retry-after': '31' }), answer(200));
    const out = await withRetry(makeRequest, decide, { ...time, random: () => 0 });
    expect(out).toEqual({ result: answer(429, { 'retry-after': '31' }), attempts: 1, budgetSpent: true });
    expect(seen).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('retries a TransientError and rethrows the last one when attempts run out', async () => {
    const time = fakeTime();
    const last = transient();
    const { makeRequest, seen } = script(transient(), transient(), transient(), last);
    await expect(withRetry(makeRequest, decide, { ...time, random: () => 0 })).rejects.toBe(last);
    expect(seen).toHaveLength(4);
  });

  it('recovers from a TransientError', async () => {
    const time = fakeTime();
    const { makeRequest } = script(transient(), answer(200));
    expect((await withRetry(makeRequest, decide, time)).attempts).toBe(2);
  });

  it('never retries any other error', async () => {
    const time = fakeTime();
    const fatal = new OmniAuthError('insecure_url', 'no', { exitCode: 2 });
    const { makeRequest, seen } = script(fatal, answer(200));
    await expect(withRetry(makeRequest, decide, time)).rejects.toBe(fatal);
    const bug = new TypeError('a bug');
    const second = script(bug, answer(200));
    await expect(withRetry(second.makeRequest, decide, time)).rejects.toBe(bug);
    expect(seen).toHaveLength(1);
    expect(second.seen).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('an answer of kind "once" is retried one time at most, even with attempts to spare', async () => {
    const time = fakeTime();
    const { makeRequest, seen } = script(answer(500));
    const out = await withRetry(makeRequest, () => 'once', { ...time, random: () => 0.5, maxAttempts: 6, maxTotalMs: 600_000 });
    expect(out.attempts).toBe(2);
    expect(seen).toHaveLength(2);
    expect(time.sleeps).toEqual([250]);
  });

  it('"once", then success: the second answer is returned', async () => {
    const time = fakeTime();
    const { makeRequest } = script(answer(500), answer(200));
    const out = await withRetry(makeRequest, (r) => (r.status === 200 ? 'stop' : 'once'), time);
    expect(out).toEqual({ result: answer(200), attempts: 2 });
  });
});
