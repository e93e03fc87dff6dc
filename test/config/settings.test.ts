import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, normalizeDomain } from '../../src/config/domain.js';
import { DEFAULT_SCOPE, readSavedSettings, resolveSettings, toSaved } from '../../src/config/settings.js';
import { UsageError } from '../../src/util/errors.js';

describe('normalizeDomain', () => {
  it.each([
    ['tenant.eu.auth0.com', 'https://tenant.eu.auth0.com'],
    ['https://tenant.eu.auth0.com/', 'https://tenant.eu.auth0.com'],
    ['HTTPS://Tenant.EU.auth0.com', 'https://tenant.eu.auth0.com'],
    ['http://127.0.0.1:4545', 'http://127.0.0.1:4545'],
    ['http://localhost:1', 'http://localhost:1'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
    ['auth.example.com:8443', 'https://auth.example.com:8443'],
  ])('%s → %s', (input, origin) => {
    expect(normalizeDomain(input)).toBe(origin);
  });

  it.each([
    ['http://tenant.auth0.com', 'insecure_domain'],
    ['http://10.0.0.5', 'insecure_domain'],
    ['http://127.0.0.1.nip.io', 'insecure_domain'],
    ['ftp://tenant.auth0.com', 'invalid_domain'],
    ['https://tenant.auth0.com/path', 'invalid_domain'],
    ['https://user:pw@tenant.auth0.com', 'invalid_domain'],
    ['', 'invalid_domain'],
    ['not a domain', 'invalid_domain'],
  ])('refuses %s with %s (exit 2)', (input, code) => {
    try {
      normalizeDomain(input);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).code).toBe(code);
      expect((e as UsageError).exitCode).toBe(2);
      expect((e as UsageError).hint).toBeTruthy();
    }
  });

  it('knows loopback', () => {
    expect(isLoopbackHost('127.8.9.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
    expect(isLoopbackHost('localhost.evil.com')).toBe(false);
  });
});

describe('resolveSettings', () => {
  const saved = { domain: 'saved.auth0.com', client_id: 'saved-client', audience: 'https://saved/api' };

  it('prefers flags, then OMNI_AUTH_*, then AUTH0_*, then saved', () => {
    const env = { OMNI_AUTH_CLIENT_ID: 'omni-client', AUTH0_CLIENT_ID: 'seed-client', AUTH0_AUDIENCE: 'https://seed/api', AUTH0_DOMAIN: 'seed.auth0.com' };
    const s = resolveSettings({ domain: 'flag.auth0.com' }, env, saved);
    expect(s.domain).toBe('https://flag.auth0.com');
    expect(s.issuer).toBe('https://flag.auth0.com/');
    expect(s.clientId).toBe('omni-client');
    expect(s.audience).toBe('https://seed/api');
    expect(s.sources).toMatchObject({ domain: 'flag', clientId: 'env', audience: 'env', scope: 'default' });
    expect(resolveSettings({}, {}, saved).sources.domain).toBe('saved');
  });

  it('defaults scope and subject token type', () => {
    const s = resolveSettings({}, {}, saved);
    expect(s.scope).toBe(DEFAULT_SCOPE);
    expect(s.subjectTokenType).toBe('urn:omnispindle:local-auth');
    expect(toSaved(s)).toEqual({ ...saved, domain: 'https://saved.auth0.com' });
  });

  it('names every missing setting', () => {
    expect(() => resolveSettings({ domain: 'x.auth0.com' }, {}, undefined)).toThrow(/--client-id.*--audience/);
  });

  it('names the source of a bad domain', () => {
    expect(() => resolveSettings({}, { OMNI_AUTH_DOMAIN: 'http://evil.example' }, saved)).toThrow(/OMNI_AUTH_DOMAIN/);
  });
});

describe('readSavedSettings', () => {
  it('is undefined when missing and refuses a corrupt file without touching it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-settings-'));
    expect(await readSavedSettings(join(dir, 'settings.json'))).toBeUndefined();
    await writeFile(join(dir, 'settings.json'), '{"domain": ');
    await expect(readSavedSettings(join(dir, 'settings.json'))).rejects.toMatchObject({ code: 'settings_corrupt', exitCode: 2 });
  });
});

describe('omniAuthHome', () => {
  it('OMNI_AUTH_HOME first; then the home a launcher sits in; then the OS config directory', async () => {
    const { omniAuthHome, homeOfLauncher } = await import('../../src/config/home.js');
    expect(omniAuthHome({ OMNI_AUTH_HOME: '/x/home' }, '/y/home/bin/omni-auth.cjs')).toBe('/x/home');
    expect(omniAuthHome({}, '/y/home/bin/omni-auth.cjs')).toBe('/y/home');
    expect(omniAuthHome({ XDG_CONFIG_HOME: '/cfg' }, '/repo/dist/omni-auth.cjs')).not.toBe('/repo');
    expect(homeOfLauncher('/y/home/lib/omni-auth.cjs')).toBeUndefined();
    expect(homeOfLauncher('/y/home/bin/other.cjs')).toBeUndefined();
  });
});
