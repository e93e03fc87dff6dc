import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateMachineKey, type MachineKey } from '../../src/identity/keys.js';
import type { LocalTokenAlg } from '../../src/identity/local-token.js';
import { CACHE_LIMITS, FakeCache } from './fake-api.js';
import { expectDenied, expectRejected, runMachine } from './run.js';
import { goodClaims, keyPairs, mintGood, nowSeconds, signWith } from './tokens.js';

const REPLAY_KEY = 'omni-auth:jti';
/** The Action's bound on live tokens per key (MAX_LIVE_PER_KEY). */
const PER_KEY = 10;

let keys: Record<LocalTokenAlg, MachineKey>;
beforeAll(async () => {
  keys = await keyPairs();
});
afterEach(() => {
  vi.useRealTimers();
});

async function manyKeys(count: number): Promise<MachineKey[]> {
  return Promise.all(Array.from({ length: count }, () => generateMachineKey('EdDSA')));
}

describe('replay protection', () => {
  it('refuses the second use of a token', async () => {
    const cache = new FakeCache();
    const token = await mintGood(keys.ES256);
    expect((await runMachine(token, { cache })).result.kind).toBe('setUser');
    expectRejected(await runMachine(token, { cache }), /already used/, token);
  });

  it('accepts fresh tokens of the same key, and the same jti under two different keys', async () => {
    const cache = new FakeCache();
    expect((await runMachine(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    expect((await runMachine(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    const jti = 'shared-jti-shared-jti-shared-jti';
    for (const key of [keys.ES256, keys.EdDSA]) {
      const run = await runMachine(await signWith(key, { ...goodClaims(key), jti }), { cache });
      expect(run.result.kind).toBe('setUser');
    }
  });

  it('keeps every live jti in ONE cache entry that lives until the last exp + 30 s', async () => {
    const cache = new FakeCache();
    const now = nowSeconds();
    await runMachine(await signWith(keys.ES256, { ...goodClaims(keys.ES256, now), exp: now + 50 }), { cache });
    await runMachine(await signWith(keys.EdDSA, { ...goodClaims(keys.EdDSA, now), exp: now + 100 }), { cache });
    expect(cache.keys()).toEqual([REPLAY_KEY]);
    expect(cache.get(REPLAY_KEY)!.expires_at).toBe((now + 100 + 30) * 1000);
    expect(cache.get(REPLAY_KEY)!.value).toMatch(/^v2:(?:[A-Za-z0-9_-]{22}[0-9a-z]{7}){2}$/);
  });

  it('still refuses a replay after 100 other tokens of 10 other keys (no loss to the 20-entry limit)', async () => {
    const cache = new FakeCache();
    const token = await mintGood(keys.ES256);
    expect((await runMachine(token, { cache })).result.kind).toBe('setUser');
    for (const key of await manyKeys(10)) {
      for (let i = 0; i < PER_KEY; i += 1) expect((await runMachine(await mintGood(key), { cache })).result.kind).toBe('setUser');
    }
    expectRejected(await runMachine(token, { cache }), /already used/, token);
    expect(cache.keys()).toEqual([REPLAY_KEY]);
  });

  it('remembers a token for as long as it can be accepted (exp + 30 s leeway)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const cache = new FakeCache();
    const token = await mintGood(keys.ES256, { lifetimeSeconds: 60 });
    expect((await runMachine(token, { cache })).result.kind).toBe('setUser');
    vi.setSystemTime(start + 88_000);
    expectRejected(await runMachine(token, { cache }), /already used/, token);
    vi.setSystemTime(start + 91_000);
    expectRejected(await runMachine(token, { cache }), /expired/, token);
  });

  it('is best effort: when Auth0 forgets the entry, a replay passes — but only within the token’s short life', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    // The CLI's own token: 60 s. A cache that forgot everything between executions (Auth0 allows it).
    const token = await mintGood(keys.ES256);
    expect((await runMachine(token, { cache: new FakeCache() })).result.kind).toBe('setUser');
    vi.setSystemTime(start + 89_000);
    expect((await runMachine(token, { cache: new FakeCache() })).result.kind).toBe('setUser');
    // exp (60) + leeway (30): from then on the token is refused whatever the cache remembers.
    vi.setSystemTime(start + 90_000);
    expectRejected(await runMachine(token, { cache: new FakeCache() }), /expired/, token);
  });

  it('starts afresh from an entry of the previous layout (no v2: prefix) instead of failing every exchange', async () => {
    const cache = new FakeCache();
    const exp = (nowSeconds() + 60).toString(36).padStart(7, '0');
    cache.set(REPLAY_KEY, `AAAAAAAAAAAA${exp}BBBBBBBBBBBB${exp}`);
    expect((await runMachine(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    expect(cache.get(REPLAY_KEY)!.value).toMatch(/^v2:[A-Za-z0-9_-]{22}[0-9a-z]{7}$/);
  });
});

describe('replay store under a flood (issue 9 §3)', () => {
  it('one key flooding hundreds of exchanges is refused (access_denied, that key only) while another key still gets its token', async () => {
    const cache = new FakeCache();
    const [flooder, victim] = await manyKeys(2) as [MachineKey, MachineKey];
    const earlier = await mintGood(victim);
    expect((await runMachine(earlier, { cache })).result.kind).toBe('setUser');

    const kinds = new Map<string, number>();
    let lastDenied;
    for (let i = 0; i < 300; i += 1) {
      const token = await mintGood(flooder);
      const run = await runMachine(token, { cache });
      kinds.set(run.result.kind, (kinds.get(run.result.kind) ?? 0) + 1);
      if (run.result.kind !== 'setUser') {
        // Not a throttled rejection (that would block every machine behind the flooder's IP), not server_error.
        expectDenied(run, 'access_denied', /more than 10 token exchanges.*retry in about \d+ s/, token);
        lastDenied = run;
      }
    }
    expect(Object.fromEntries(kinds)).toEqual({ setUser: PER_KEY, deny: 300 - PER_KEY });
    // The refusal names the flooding key, so an admin can find it.
    expect(lastDenied!.result.kind === 'deny' && lastDenied!.result.reason).toContain(flooder.thumbprint);

    // The other key: a fresh token works, and its earlier token is still remembered.
    expect((await runMachine(await mintGood(victim), { cache })).result.kind).toBe('setUser');
    expectRejected(await runMachine(earlier, { cache }), /already used/, earlier);
  });

  it('a key at its bound is let in again once its own tokens expire', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const cache = new FakeCache();
    for (let i = 0; i < PER_KEY; i += 1) expect((await runMachine(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
    const refused = await runMachine(await mintGood(keys.EdDSA), { cache });
    // The oldest of its tokens can be accepted until exp (60 s) + leeway (30 s).
    expect(refused.result).toMatchObject({ kind: 'deny', code: 'access_denied', reason: expect.stringMatching(/retry in about 90 s/) });
    vi.setSystemTime(start + 90_000);
    expect((await runMachine(await mintGood(keys.EdDSA), { cache })).result.kind).toBe('setUser');
  });

  it('many keys filling the store evict the heaviest key first: nobody is refused, a quiet key keeps its protection', async () => {
    const cache = new FakeCache();
    const [victim, ...flooders] = await manyKeys(31) as [MachineKey, ...MachineKey[]];
    const earlier = await mintGood(victim);
    expect((await runMachine(earlier, { cache })).result.kind).toBe('setUser');

    // 300 live tokens: more than one 4 KB entry can hold (~137), so the store must evict.
    for (const key of flooders) {
      for (let i = 0; i < PER_KEY; i += 1) expect((await runMachine(await mintGood(key), { cache })).result.kind).toBe('setUser');
    }
    const { value } = cache.get(REPLAY_KEY)!;
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(CACHE_LIMITS.valueBytes);
    expect(Buffer.byteLength(value)).toBeGreaterThan(3_900); // full: eviction, not an ever-growing value

    expectRejected(await runMachine(earlier, { cache }), /already used/, earlier);
    expect((await runMachine(await mintGood(victim), { cache })).result.kind).toBe('setUser');
  });
});
