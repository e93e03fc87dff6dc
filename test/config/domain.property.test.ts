/**
 * Issue 13: normalizeDomain answers domains already in canonical form without the URL parser
 * (canonicalOrigin, src/config/domain.ts). For every input — host names of every shape, IPv4 in every
 * spelling, ports, schemes, case, Punycode, paths — it must give exactly what the parser gives: the
 * same origin, or the same error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalOrigin, normalizeDomain, parseDomain } from '../../src/config/domain.js';

/** The origin, or the error's code, message and hint. */
function outcome(f: () => string): unknown {
  try {
    return { origin: f() };
  } catch (e) {
    const err = e as { code?: string; message: string; hint?: string };
    return { code: err.code, message: err.message, hint: err.hint };
  }
}

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/),
  fc.constantFrom('xn--bcher-kva', 'xn--', 'xn--zz', '0x1f', '0x', '0X1', '127', '0', '00', '255', '256', '09', '-', 'a-', 'localhost', 'LOCALHOST', 'é', 'a'.repeat(63), 'a'.repeat(64)),
);
const host = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.')),
  fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((o) => o.join('.')),
  fc.constantFrom('127.0.0.1', '127.000.0.1', '127.1', '0x7f.0.0.1', '2130706433', '[::1]', 'example.com.', 'a..b', '.a', ''),
);
const domain = fc.tuple(
  fc.constantFrom('', 'https://', 'http://', 'HTTPS://', 'Http://', 'ftp://', 'https:/'),
  host,
  fc.oneof(fc.constant(''), fc.constantFrom(':443', ':80', ':0', ':08080', ':65535', ':65536', ':1', ':', ':99999'), fc.nat(70000).map((p) => `:${p}`)),
  fc.constantFrom('', '', '', '/', '/path', '?q', '#f', ' ', '\t'),
  fc.constantFrom('', ' ', '\n'),
).map(([scheme, h, port, tail, pad]) => `${pad}${scheme}${h}${port}${tail}`);

describe('normalizeDomain without the URL parser', () => {
  it('gives what the parser gives, for any input', () => {
    fc.assert(fc.property(domain, (input) => {
      expect(outcome(() => normalizeDomain(input, '--domain'))).toEqual(outcome(() => parseDomain(input.trim(), '--domain')));
    }), { numRuns: 5000 });
  });

  it('answers only inputs the parser returns unchanged as their origin', () => {
    fc.assert(fc.property(domain, (input) => {
      const fast = canonicalOrigin(input);
      if (fast === undefined) return;
      expect(new URL(/^https?:\/\//.test(input) ? input : `https://${input}`).origin).toBe(fast);
      expect(fast === input || `https://${input}` === fast).toBe(true);
    }), { numRuns: 5000 });
  });

  it.each([
    ['https://tenant.eu.auth0.com', 'https://tenant.eu.auth0.com'],
    ['tenant.eu.auth0.com', 'https://tenant.eu.auth0.com'],
    ['http://127.0.0.1:36267', 'http://127.0.0.1:36267'],
    ['http://localhost:3000', 'http://localhost:3000'],
  ])('answers the forms settings hold (%s) itself', (input, origin) => {
    expect(canonicalOrigin(input)).toBe(origin);
    expect(normalizeDomain(input)).toBe(origin);
  });

  it.each(['https://Tenant.auth0.com', 'https://tenant.auth0.com:443', 'http://example.com', 'https://127.000.0.1', 'https://a.0x1f', 'https://xn--bcher-kva.example', 'https://example.com/'])(
    'leaves %s to the parser', (input) => {
      expect(canonicalOrigin(input)).toBeUndefined();
    });
});
