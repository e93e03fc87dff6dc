import { describe, expect, it } from 'vitest';
import { CACHE_LIMITS, createFakeApi, FakeCache } from './fake-api.js';

/** The fake stands in for Auth0 in other tests too, so its limits must be right. */
describe('FakeCache enforces Auth0’s Action cache limits', () => {
  it('stores, reads and deletes a value', () => {
    const cache = new FakeCache({ now: () => 1_000 });
    expect(cache.set('k', 'v', { ttl: 500 })).toEqual({ type: 'success', record: { value: 'v', expires_at: 1_500 } });
    expect(cache.get('k')).toEqual({ value: 'v', expires_at: 1_500 });
    expect(cache.delete('k').type).toBe('success');
    expect(cache.get('k')).toBeUndefined();
  });

  it('expires entries: default 15 min, earliest of ttl and expires_at, at most 24 h', () => {
    let now = 0;
    const cache = new FakeCache({ now: () => now });
    expect(cache.set('default', 'v')).toMatchObject({ record: { expires_at: CACHE_LIMITS.defaultTtlMs } });
    expect(cache.set('both', 'v', { ttl: 100, expires_at: 50 })).toMatchObject({ record: { expires_at: 50 } });
    expect(cache.set('long', 'v', { ttl: 48 * 3_600_000 })).toMatchObject({ record: { expires_at: CACHE_LIMITS.maxTtlMs } });
    now = 50;
    expect(cache.get('both')).toBeUndefined();
    expect(cache.keys()).toEqual(['default', 'long']);
  });

  it('refuses a key over 64 bytes and a value over 4 KB (in UTF-8 bytes)', () => {
    const cache = new FakeCache();
    expect(cache.set('k'.repeat(64), 'v').type).toBe('success');
    expect(cache.set('é'.repeat(33), 'v')).toEqual({ type: 'error', code: 'CACHE_KEY_TOO_LARGE' });
    expect(cache.set('big', 'x'.repeat(4097))).toEqual({ type: 'error', code: 'CACHE_VALUE_TOO_LARGE' });
  });

  it('refuses a 21st entry but lets an existing key be replaced', () => {
    const cache = new FakeCache();
    for (let i = 0; i < 20; i += 1) expect(cache.set(`k${i}`, 'v').type).toBe('success');
    expect(cache.set('k20', 'v')).toEqual({ type: 'error', code: 'CACHE_TOO_MANY_ENTRIES' });
    expect(cache.set('k0', 'w').type).toBe('success');
  });

  it('refuses to grow keys + values past 8 KB in total', () => {
    const cache = new FakeCache();
    expect(cache.set('a', 'x'.repeat(4000)).type).toBe('success');
    expect(cache.set('b', 'x'.repeat(4000)).type).toBe('success');
    expect(cache.set('c', 'x'.repeat(200))).toEqual({ type: 'error', code: 'CACHE_FULL' });
    expect(cache.set('a', 'x'.repeat(4096)).type).toBe('success'); // replacing does not count twice
  });

  it('can be told to fail', () => {
    const cache = new FakeCache();
    cache.failSetWith = 'CACHE_UNAVAILABLE';
    expect(cache.set('k', 'v')).toEqual({ type: 'error', code: 'CACHE_UNAVAILABLE' });
    cache.failGetWith = new Error('down');
    expect(() => cache.get('k')).toThrow('down');
  });
});

describe('createFakeApi records calls and names the outcome', () => {
  it('reports none, one, or several deciding calls', () => {
    const fake = createFakeApi();
    expect(fake.outcome()).toEqual({ kind: 'none' });
    fake.api.user.setAppMetadata('k', 1);
    expect(fake.outcome()).toEqual({ kind: 'none' });
    expect(fake.api.access.deny('access_denied', 'no')).toBe(fake.api);
    expect(fake.outcome()).toEqual({ kind: 'deny', code: 'access_denied', reason: 'no' });
    fake.api.access.rejectInvalidSubjectToken('bad');
    expect(fake.outcome().kind).toBe('several');
  });
});
