/** The sign-in's small parts: callback matching, password hashing, HTML escaping. */
import { describe, expect, it } from 'vitest';
import { callbackAllowed } from '../../src/emulator/signin/callbacks.js';
import { errorPage, signinPage } from '../../src/emulator/signin/page.js';
import { hashPassword, verifyPassword } from '../../src/emulator/signin/passwords.js';

describe('callbackAllowed (Auth0: exact match, wildcards only as a subdomain label)', () => {
  const callbacks = ['http://127.0.0.1:8765/callback', 'https://*.example.com/cb'];
  it.each([
    ['http://127.0.0.1:8765/callback', true],
    ['http://127.0.0.1:8766/callback', false],
    ['http://127.0.0.1/callback', false],
    ['http://localhost:8765/callback', false],
    ['http://127.0.0.1:8765/callback/', false],
    ['http://127.0.0.1:8765/callback?x=1', false],
    ['https://app.example.com/cb', true],
    ['https://a.b.example.com/cb', false],
    ['https://example.com/cb', false],
    ['http://app.example.com/cb', false],
    ['https://app.example.com:444/cb', false],
    ['https://evil.com/x.example.com/cb', false],
  ])('%s → %s', (uri, allowed) => {
    expect(callbackAllowed(callbacks, uri)).toBe(allowed);
  });
});

describe('passwords', () => {
  it('verifies the right password only, and never an unknown user or a damaged hash', async () => {
    const stored = await hashPassword('pässword');
    expect(await verifyPassword('pässword', stored)).toBe(true);
    expect(await verifyPassword('pässword'.normalize('NFD'), stored)).toBe(true);
    expect(await verifyPassword('password', stored)).toBe(false);
    expect(await verifyPassword('pässword', undefined)).toBe(false);
    expect(await verifyPassword('pässword', stored.slice(0, -4))).toBe(false);
    expect(await verifyPassword('pässword', 'plain-text')).toBe(false);
    expect(await hashPassword('pässword')).not.toBe(stored);
  });
});

describe('pages', () => {
  it('escape what they show', () => {
    const html = signinPage({ tx: 'a"b', clientName: '<script>x</script>', email: '"><img>' });
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('value="a&quot;b"');
    expect(html).not.toContain('"><img>');
    expect(errorPage('t', 'https://x/?a=<b>')).toContain('a=&lt;b&gt;');
    expect(html).not.toMatch(/<script/i);
  });
});
