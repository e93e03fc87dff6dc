import { describe, expect, it } from 'vitest';
import { rateLimitWaitMs } from '../../src/exchange/rate-limit.js';

const NOW = Date.UTC(2027, 0, 15, 10, 0, 0);

describe('rateLimitWaitMs', () => {
  it('reads Retry-After in seconds', () => {
    expect(rateLimitWaitMs({ 'retry-after': '5' }, NOW)).toBe(5_000);
    expect(rateLimitWaitMs({ 'retry-after': ' 0 ' }, NOW)).toBe(0);
  });

  it('reads Retry-After as an HTTP date, relative to now', () => {
    expect(rateLimitWaitMs({ 'retry-after': new Date(NOW + 9_000).toUTCString() }, NOW)).toBe(9_000);
    expect(rateLimitWaitMs({ 'retry-after': new Date(NOW - 9_000).toUTCString() }, NOW)).toBe(0);
  });

  it('falls back to X-RateLimit-Reset (epoch seconds), relative to now', () => {
    expect(rateLimitWaitMs({ 'x-ratelimit-reset': String(NOW / 1000 + 4) }, NOW)).toBe(4_000);
    expect(rateLimitWaitMs({ 'x-ratelimit-reset': String(NOW / 1000 - 60) }, NOW)).toBe(0);
  });

  it('prefers Retry-After over X-RateLimit-Reset', () => {
    expect(rateLimitWaitMs({ 'retry-after': '2', 'x-ratelimit-reset': String(NOW / 1000 + 50) }, NOW)).toBe(2_000);
  });

  it('ignores what it cannot read', () => {
    expect(rateLimitWaitMs({}, NOW)).toBeUndefined();
    expect(rateLimitWaitMs({ 'retry-after': 'soon', 'x-ratelimit-reset': '-3' }, NOW)).toBeUndefined();
    expect(rateLimitWaitMs({ 'retry-after': 'soon', 'x-ratelimit-reset': String(NOW / 1000 + 1) }, NOW)).toBe(1_000);
  });
});
