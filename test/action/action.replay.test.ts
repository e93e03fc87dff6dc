import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MachineKey } from '../../src/identity/keys.js';
import type { LocalTokenAlg } from '../../src/identity/local-token.js';
import { CACHE_LIMITS, FakeCache } from './fake-api.js';
import { expectDenied, expectRejected, runAction } from './run.js';
import { goodClaims, keyPairs, mintGood, nowSeconds, signWith } from './tokens.js';

const REPLAY_KEY = 'omni-auth:jti';

let keys: Record<LocalTokenAlg, MachineKey>;
beforeAll(async () => {
  keys = await keyPairs();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('replay protection', () => {
  it('refuses the second use of a token', async () => {
    const cache = new FakeCache();
    const token = await mintGood(keys.ES256);
    expect((await runAction(token, { cache })).result.kind).toBe('setUser');
    expectRejected(await runAction(token, { cache }), /already used/, token);
  });

  it('accepts fresh tokens of the same key, and the same jti under two different keys', async () => {
    const cache = new FakeCache();
    expect((await runAction(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    expect((await runAction(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    const jti = 'shared-jti-shared-jti-shared-jti';
    for (const key of [keys.ES256, keys.EdDSA]) {
      const run = await runAction(await signWith(key, { ...goodClaims(key), jti }), { cache });
      expect(run.result.kind).toBe('setUser');
    }
  });

  it('keeps every live jti in ONE cache entry that lives until the last exp + 30 s', async () => {
    const cache = new FakeCache();
    const now = nowSeconds();
    await runAction(await signWith(keys.ES256, { ...goodClaims(keys.ES256, now), exp: now + 100 }), { cache });
    await runAction(await signWith(keys.ES256, { ...goodClaims(keys.ES256, now), exp: now + 200 }), { cache });
    expect(cache.keys()).toEqual([REPLAY_KEY]);
    expect(cache.get(REPLAY_KEY)!.expires_at).toBe((now + 200 + 30) * 1000);
  });

  it('still refuses a replay after 100 other tokens (no loss to the 20-entry limit)', async () => {
    const cache = new FakeCache();
    const token = await mintGood(keys.ES256);
    expect((await runAction(token, { cache })).result.kind).toBe('setUser');
    for (let i = 0; i < 100; i += 1) {
      expect((await runAction(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    }
    expectRejected(await runAction(token, { cache }), /already used/, token);
    expect(cache.keys()).toEqual([REPLAY_KEY]);
  });

  it('fails closed (server_error) when the live tokens fill the entry, and recovers once they expire', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const cache = new FakeCache();
    let accepted = 0;
    let last;
    let token;
    for (;;) {
      token = await mintGood(keys.EdDSA);
      last = await runAction(token, { cache });
      if (last.result.kind !== 'setUser') break;
      accepted += 1;
      expect(accepted).toBeLessThan(1000);
    }
    expectDenied(last, 'server_error', /too many token exchanges/, token);
    // ~210 fit in the 4 KB value; the fake would have refused any value over Auth0's limits.
    expect(accepted).toBeGreaterThanOrEqual(200);
    expect(Buffer.byteLength(cache.get(REPLAY_KEY)!.value)).toBeLessThanOrEqual(CACHE_LIMITS.valueBytes);

    // The tokens were minted for 120 s; 151 s later none can be accepted any more, so all are pruned.
    vi.setSystemTime(start + 151_000);
    const fresh = await runAction(await mintGood(keys.EdDSA), { cache });
    expect(fresh.result.kind).toBe('setUser');
    expect(cache.get(REPLAY_KEY)!.value).toHaveLength(19);
  });

  it('remembers a token for as long as it can be accepted (exp + 30 s leeway)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const cache = new FakeCache();
    const token = await mintGood(keys.ES256, { lifetimeSeconds: 60 });
    expect((await runAction(token, { cache })).result.kind).toBe('setUser');
    vi.setSystemTime(start + 88_000);
    expectRejected(await runAction(token, { cache }), /already used/, token);
    vi.setSystemTime(start + 91_000);
    expectRejected(await runAction(token, { cache }), /expired/, token);
  });
});
