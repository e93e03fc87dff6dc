/** Suspicious IP Throttling (stage pre-custom-token-exchange) and the token-exchange rate limit. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, call, exchange, managementToken, mint, newKey, pollUntil, resetThrottle, type Answer } from './helpers.js';

let emu: Emulator;
let mgmt: string;

beforeAll(async () => {
  // A high rate limit, so that only the rate-limit test below meets it.
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  mgmt = await managementToken(emu);
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(async () => {
  await resetThrottle(emu);
});

const throttling = (body: unknown): Promise<Answer> => api(emu, mgmt, 'PATCH', '/attack-protection/suspicious-ip-throttling', body);

describe('Suspicious IP Throttling', () => {
  beforeEach(async () => {
    const res = await throttling({ enabled: true, allowlist: [], stage: { 'pre-custom-token-exchange': { max_attempts: 10, rate: 600_000 } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('blocks an IP after 10 refused tokens, even for a valid one, until reset', async () => {
    for (let i = 0; i < 10; i++) {
      const refused = await exchange(emu, 'not-a-jws');
      expect(refused.status).toBe(400);
    }
    const blocked = await exchange(emu, await mint(emu, await newKey()));
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe('too_many_attempts');

    await resetThrottle(emu);
    expect((await exchange(emu, await mint(emu, await newKey()))).status).toBe(200);
  });

  it('counts only the Action\'s rejections, not other failures', async () => {
    // 12 failures before the Action runs (unknown audience) consume no attempt…
    for (let i = 0; i < 12; i++) {
      expect((await exchange(emu, 'x', { audience: 'https://unknown.example/' })).status).toBe(403);
    }
    // …and a success consumes none either: after 9 rejections, one success, one last rejection.
    for (let i = 0; i < 9; i++) expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    expect((await exchange(emu, await mint(emu, await newKey()))).status).toBe(200);
    expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    expect((await exchange(emu, 'not-a-jws')).status).toBe(429);
  });

  it('refills attempts at the configured `rate` (the exact arithmetic, on a clock: throttle-clock.test.ts)', async () => {
    await throttling({ stage: { 'pre-custom-token-exchange': { max_attempts: 2, rate: 600_000 } } });
    expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    expect((await exchange(emu, 'not-a-jws')).status).toBe(429);
    // A short rate applies to the bucket as it is: an attempt comes back (no clock: wait for the outcome).
    await throttling({ stage: { 'pre-custom-token-exchange': { max_attempts: 2, rate: 1 } } });
    await pollUntil('an attempt to come back', async () => ((await exchange(emu, 'not-a-jws')).status === 400 ? true : undefined));
  });

  it('spares allow-listed IPs and blocks nobody when disabled', async () => {
    for (let i = 0; i < 10; i++) expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    expect((await exchange(emu, 'not-a-jws')).status).toBe(429);
    await throttling({ allowlist: ['10.0.0.0/8', '127.0.0.0/8'] });
    for (let i = 0; i < 3; i++) expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    await throttling({ allowlist: [], enabled: false });
    for (let i = 0; i < 3; i++) expect((await exchange(emu, 'not-a-jws')).status).toBe(400);
    await throttling({ enabled: true });
    expect((await exchange(emu, 'not-a-jws')).status).toBe(429);
  });
});

describe('the token-exchange rate limit', () => {
  afterAll(async () => {
    await call(emu, 'POST', '/__emulator/settings', { json: { exchangeRatePerSecond: 1000 } });
  });

  it('answers a burst over the limit with 429 too_many_requests and the X-RateLimit headers', async () => {
    // A bucket of 3 regained at 3/s (the exact arithmetic, on a clock: throttle-clock.test.ts).
    expect((await call(emu, 'POST', '/__emulator/settings', { json: { exchangeRatePerSecond: 3 } })).status).toBe(200);
    await resetThrottle(emu);
    const before = Math.floor(Date.now() / 1000);
    const statsBefore = (await call(emu, 'GET', '/__emulator/stats')).body as { exchanges: { rate_limited: number } };
    // A request without subject_token fails fast after the rate check, and costs no throttling attempt.
    const burst = await Promise.all(Array.from({ length: 10 }, () => exchange(emu, '')));
    const passed = burst.filter((r) => r.status === 400);
    const limited = burst.filter((r) => r.status === 429);
    expect(passed.length + limited.length).toBe(burst.length);
    // The full bucket lets 3 through at once (more only if the burst outlasts a third of a second).
    expect(passed.length).toBeGreaterThanOrEqual(3);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.body.error).toBe('too_many_requests');
      expect(r.headers['x-ratelimit-limit']).toBe('3');
      expect(r.headers['x-ratelimit-remaining']).toBe('0');
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThan(before);
    }
    const statsAfter = (await call(emu, 'GET', '/__emulator/stats')).body as { exchanges: { rate_limited: number } };
    expect(statsAfter.exchanges.rate_limited - statsBefore.exchanges.rate_limited).toBe(limited.length);
    // At the latest Reset a request goes through again.
    const lastReset = Math.max(...limited.map((r) => Number(r.headers['x-ratelimit-reset'])));
    await new Promise((r) => setTimeout(r, Math.max(0, lastReset * 1000 - Date.now() + 5)));
    const later = await exchange(emu, await mint(emu, await newKey()));
    expect(later.status).toBe(200);
    expect(Number(later.headers['x-ratelimit-remaining'])).toBeLessThan(3);
  });

  it('plans through the control API: essentials is a burst of 4 regained at 4/s, enterprise 15 at 15/s', async () => {
    for (const [plan, limit] of [['essentials', 4], ['professional', 4], ['enterprise', 15]] as const) {
      const set = await call(emu, 'POST', '/__emulator/settings', { json: { plan } });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({ plan, exchangeBurst: limit, exchangeRatePerSecond: limit });
      await resetThrottle(emu);
      const burst = await Promise.all(Array.from({ length: limit + 6 }, () => exchange(emu, '')));
      expect(burst.filter((r) => r.status === 400).length).toBeGreaterThanOrEqual(limit);
      expect(burst.filter((r) => r.status === 429).length).toBeGreaterThan(0);
      expect(burst.every((r) => r.headers['x-ratelimit-limit'] === String(limit))).toBe(true);
    }
    expect((await call(emu, 'POST', '/__emulator/settings', { json: { plan: 'free' } })).status).toBe(400);
    // Limits set by hand are no plan's any more; null gives the burst back to the rate.
    const manual = await call(emu, 'POST', '/__emulator/settings', { json: { exchangeRatePerSecond: 1000, exchangeBurst: null } });
    expect(manual.body).not.toHaveProperty('plan');
    expect(manual.body).not.toHaveProperty('exchangeBurst');
  });

  it('puts X-RateLimit headers on every response', async () => {
    const before = Math.floor(Date.now() / 1000);
    for (const res of [
      await call(emu, 'GET', '/.well-known/jwks.json'),
      await call(emu, 'GET', '/no/such/path'),
      await call(emu, 'POST', '/oauth/token', { form: { grant_type: 'nonsense' } }),
      await call(emu, 'GET', '/api/v2/clients'),
    ]) {
      expect(res.headers['x-ratelimit-limit']).toMatch(/^\d+$/);
      expect(res.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(before);
    }
  });
});
