/**
 * The emulator's Suspicious IP Throttling bucket and its token-exchange rate window, on an injected
 * clock: the refill and window arithmetic exactly, with no wall-clock wait (the e2e tests in
 * throttle.e2e.test.ts keep only what holds at any speed).
 */
import { describe, expect, it } from 'vitest';
import { FixedWindow } from '../../src/emulator/ratelimit.js';
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
