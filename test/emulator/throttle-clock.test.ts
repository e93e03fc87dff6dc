/**
 * The emulator's Suspicious IP Throttling bucket and its token-exchange rate window, on an injected
 * clock: the refill and window arithmetic exactly, with no wall-clock wait (the e2e tests in
 * throttle.e2e.test.ts keep only what holds at any speed).
 */
import { describe, expect, it } from 'vitest';
import { FixedWindow, TokenBucket } from '../../src/emulator/ratelimit.js';
import type { SuspiciousIpThrottling } from '../../src/emulator/state.js';
import { IpThrottle } from '../../src/emulator/throttle.js';

const STAGE = 'pre-custom-token-exchange';
const config = (max_attempts: number, rate: number): SuspiciousIpThrottling => ({
  enabled: true, shields: ['block'], allowlist: [], stage: { [STAGE]: { max_attempts, rate } },
});

describe('IpThrottle on an injected clock', () => {
  it('refills one attempt per `rate` milliseconds, never above max_attempts', () => {
    let now = 1_000_000;
    const t = new IpThrottle(STAGE, () => now);
    const c = config(2, 300);
    const attempt = (): boolean => {
      if (!t.allows('127.0.0.1', c)) return false;
      t.consume('127.0.0.1', c);
      return true;
    };
    expect([attempt(), attempt(), attempt()]).toEqual([true, true, false]);
    now += 299;
    expect(attempt()).toBe(false); // not a whole attempt yet
    now += 1;
    expect([attempt(), attempt()]).toEqual([true, false]); // exactly one came back
    now += 10 * 300;
    expect([attempt(), attempt(), attempt()]).toEqual([true, true, false]); // capped at max_attempts
  });

  it('counts per IP, and IPv4 on a dual-stack socket as the IPv4 address', () => {
    const now = 0;
    const t = new IpThrottle(STAGE, () => now);
    const c = config(1, 60_000);
    t.consume('::ffff:10.0.0.1', c);
    expect(t.allows('10.0.0.1', c)).toBe(false);
    expect(t.allows('10.0.0.2', c)).toBe(true);
  });
});

describe('FixedWindow on an injected clock', () => {
  it('allows `limit` per second, resets at the next second, and reports Reset as that second', () => {
    let now = 5_000_250;
    const w = new FixedWindow(() => now);
    const burst = Array.from({ length: 5 }, () => w.take(3));
    expect(burst.map((s) => s.allowed)).toEqual([true, true, true, false, false]);
    expect(burst.map((s) => s.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(new Set(burst.map((s) => s.reset))).toEqual(new Set([5_001]));
    now = 5_000_999;
    expect(w.take(3).allowed).toBe(false);
    now = 5_001_000;
    expect(w.take(3)).toEqual({ allowed: true, limit: 3, remaining: 2, reset: 5_002 });
  });
});

describe('TokenBucket on an injected clock (the token-exchange limit)', () => {
  it('allows a burst, then regains `rate` per second, never above the burst; a refusal takes nothing', () => {
    let now = 7_000_000;
    const b = new TokenBucket(() => now);
    const burst = Array.from({ length: 6 }, () => b.take(4, 4));
    expect(burst.map((s) => s.allowed)).toEqual([true, true, true, true, false, false]);
    expect(burst.map((s) => s.remaining)).toEqual([3, 2, 1, 0, 0, 0]);
    expect(burst.every((s) => s.limit === 4)).toBe(true);
    now += 249;
    expect(b.take(4, 4).allowed).toBe(false); // 0.996 of a request
    now += 1;
    expect(b.take(4, 4)).toMatchObject({ allowed: true, remaining: 0 }); // exactly one came back
    now += 60_000;
    expect(Array.from({ length: 5 }, () => b.take(4, 4).allowed)).toEqual([true, true, true, true, false]); // capped at the burst
  });

  it('Reset is the epoch second by which one whole request is back: the next second when there is one now', () => {
    let now = 9_000_100;
    const b = new TokenBucket(() => now);
    expect(b.take(2, 1)).toEqual({ allowed: true, limit: 2, remaining: 1, reset: 9_001 });
    expect(b.take(2, 1)).toEqual({ allowed: true, limit: 2, remaining: 0, reset: 9_002 }); // the next one at 9 001.1
    now = 9_000_900;
    expect(b.take(2, 1)).toEqual({ allowed: false, limit: 2, remaining: 0, reset: 9_002 }); // 0.8 back: the rest by 9 001.1
    now = 9_001_100;
    expect(b.take(2, 1).allowed).toBe(true);
  });

  it('burst and rate apart (a burst of 15 regained at 15/s, or a small burst at a high rate)', () => {
    let now = 0;
    const b = new TokenBucket(() => now);
    expect(Array.from({ length: 16 }, () => b.take(15, 15).allowed).filter(Boolean)).toHaveLength(15);
    now += 200; // 3 back
    expect(Array.from({ length: 5 }, () => b.take(15, 15).allowed).filter(Boolean)).toHaveLength(3);
    b.reset();
    expect(Array.from({ length: 5 }, () => b.take(2, 1000).allowed).filter(Boolean)).toHaveLength(2);
  });
});
