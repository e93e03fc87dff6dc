import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKeyOf, normalizeScope, parseCacheKey } from '../../src/cache/key.js';

const base = { domain: 'https://tenant.eu.auth0.com', clientId: 'abc123', audience: 'https://api.example.com', scope: 'openid email' };

describe('cache keys', () => {
  it('are readable', () => {
    expect(cacheKeyOf(base)).toBe('https://tenant.eu.auth0.com|abc123|https://api.example.com|email openid');
  });

  it('treat scopes as a set: order, repeats and spacing do not matter', () => {
    expect(normalizeScope('  profile openid\temail openid  ')).toBe('email openid profile');
    expect(cacheKeyOf({ ...base, scope: 'email openid' })).toBe(cacheKeyOf({ ...base, scope: 'openid  email openid' }));
    expect(normalizeScope('')).toBe('');
  });

  it('differ when any other part differs', () => {
    const keys = [
      base,
      { ...base, domain: 'https://other.eu.auth0.com' },
      { ...base, clientId: 'abc124' },
      { ...base, audience: 'https://api.example.com/' },
      { ...base, scope: 'openid' },
    ].map(cacheKeyOf);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('parse back, whatever the parts contain (| and % included)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.array(fc.stringMatching(/^[^\s]+$/)), (domain, clientId, audience, scopes) => {
        const key = { domain, clientId, audience, scope: scopes.join(' ') };
        expect(parseCacheKey(cacheKeyOf(key))).toEqual({ ...key, scope: normalizeScope(key.scope) });
      }),
    );
    expect(parseCacheKey(cacheKeyOf({ ...base, audience: 'a|b%7C' }))?.audience).toBe('a|b%7C');
  });

  it('refuse text cacheKeyOf would not produce', () => {
    expect(parseCacheKey('__proto__')).toBeUndefined();
    expect(parseCacheKey('a|b|c')).toBeUndefined();
    expect(parseCacheKey('a|b|c|d|e')).toBeUndefined();
    expect(parseCacheKey('a|b|c|openid email')).toBeUndefined(); // scopes not normalized
    expect(parseCacheKey('a%7c|b|c|d')).toBeUndefined(); // not the canonical escape
  });
});

describe('client-credentials cache keys (issue 12 §4)', () => {
  const base = { domain: 'https://t.eu.auth0.com', clientId: 'abc', audience: 'https://api.example.com', scope: '' };
  it('are a separate entry from the exchange key of the same application, and parse back with the grant', () => {
    const cc = cacheKeyOf({ ...base, grant: 'client-credentials' });
    expect(cc).not.toBe(cacheKeyOf(base));
    expect(cc).toBe('https://t.eu.auth0.com|abc|https://api.example.com||client-credentials');
    expect(parseCacheKey(cc)).toEqual({ ...base, grant: 'client-credentials' });
    expect(parseCacheKey(cacheKeyOf(base))).toEqual(base);
  });
  it('a fifth part other than the grant is not a key', () => {
    expect(parseCacheKey('https://t.eu.auth0.com|abc|https://api.example.com||password')).toBeUndefined();
  });
});
