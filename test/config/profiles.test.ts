/**
 * Issue 14 §3: named settings side by side in settings.json. Which profile: --profile > OMNI_AUTH_PROFILE
 * > the file's default_profile > "default"; the per-setting flags and variables still override the
 * chosen profile's values; a file without profiles is the "default" profile and keeps working.
 */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  pickSetting, profileName, profileNames, readSavedSettings, resolveSettings, selectProfile, type SavedSettings,
} from '../../src/config/settings.js';
import { saveSettings } from '../../src/config/settings-write.js';
import { UsageError } from '../../src/util/errors.js';

const A = { domain: 'https://a.eu.auth0.com', client_id: 'clientA', audience: 'https://api.a' };
const B = { domain: 'https://b.us.auth0.com', client_id: 'clientB', audience: 'https://api.b', scope: 'openid email' };
const TOP = { domain: 'https://top.auth0.com', client_id: 'clientTop', audience: 'https://api.top' };
const FILE: SavedSettings = { ...TOP, profiles: { a: A, b: B } };

async function home(text?: string): Promise<{ home: string; settings: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'omni-profiles-'));
  const files = { home: dir, settings: join(dir, 'settings.json') };
  if (text !== undefined) await writeFile(files.settings, text, { mode: 0o600 });
  return files;
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  return expect.unreachable('no error thrown') as never;
}

describe('selecting a profile', () => {
  it('--profile, then OMNI_AUTH_PROFILE, then the file\'s default_profile, then "default"', () => {
    const withDefault = { ...FILE, default_profile: 'b' };
    expect(selectProfile({ profile: 'a' }, { OMNI_AUTH_PROFILE: 'b' }, withDefault)).toEqual({ name: 'a', source: 'flag', label: '--profile' });
    expect(selectProfile({}, { OMNI_AUTH_PROFILE: 'a' }, withDefault)).toEqual({ name: 'a', source: 'env', label: 'OMNI_AUTH_PROFILE' });
    expect(selectProfile({}, {}, withDefault)).toMatchObject({ name: 'b', source: 'saved' });
    expect(selectProfile({}, {}, FILE)).toMatchObject({ name: 'default', source: 'default' });
    expect(selectProfile({}, {}, undefined)).toMatchObject({ name: 'default', source: 'default' });
    // Blank means not given, as for the other settings.
    expect(selectProfile({ profile: ' ' }, { OMNI_AUTH_PROFILE: '' }, FILE)).toMatchObject({ name: 'default' });
  });

  it('resolves the chosen profile\'s saved values', () => {
    expect(resolveSettings({ profile: 'a' }, {}, FILE)).toMatchObject({ domain: A.domain, clientId: 'clientA', audience: 'https://api.a', profile: 'a' });
    expect(resolveSettings({}, { OMNI_AUTH_PROFILE: 'b' }, FILE)).toMatchObject({ domain: B.domain, clientId: 'clientB', scope: 'openid email', profile: 'b' });
    expect(resolveSettings({}, {}, FILE)).toMatchObject({ domain: TOP.domain, clientId: 'clientTop', profile: 'default' });
    expect(resolveSettings({}, {}, { ...FILE, default_profile: 'a' })).toMatchObject({ domain: A.domain, profile: 'a' });
  });

  it('per-setting flags and variables still override the profile\'s values', () => {
    const s = resolveSettings({ profile: 'a', audience: 'https://flag' }, { OMNI_AUTH_DOMAIN: 'https://env.auth0.com', AUTH0_CLIENT_ID: 'envClient' }, FILE);
    expect(s).toMatchObject({ domain: 'https://env.auth0.com', clientId: 'envClient', audience: 'https://flag', profile: 'a' });
    expect(s.sources).toMatchObject({ domain: 'env', clientId: 'env', audience: 'flag', scope: 'default' });
    expect(pickSetting('domain', { profile: 'b' }, {}, FILE)).toEqual({ value: B.domain, source: 'saved', label: 'saved settings of profile "b"' });
  });

  it('never mixes another profile\'s values in: a profile without a value is missing it', () => {
    const e = usageError(() => resolveSettings({ profile: 'c' }, {}, FILE));
    expect(e.code).toBe('settings_missing');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('profile "c" (from --profile)');
    expect(e.hint).toContain('omni-auth login --profile c');
    expect(e.hint).toContain('saved profiles: default, a, b');
    // A profile with only some values does not borrow the default's audience.
    const partial = usageError(() => resolveSettings({ profile: 'p' }, {}, { ...FILE, profiles: { p: { domain: A.domain, client_id: 'x' } } }));
    expect(partial.message).toContain('--audience');
  });

  it.each([
    [{ profile: '../etc' }, {}, '--profile "../etc"'],
    [{ profile: 'a b' }, {}, '--profile "a b"'],
    [{ profile: '-x' }, {}, '--profile "-x"'],
    [{ profile: 'x'.repeat(65) }, {}, '--profile "xxxx'],
    [{}, { OMNI_AUTH_PROFILE: 'bad/name' }, 'OMNI_AUTH_PROFILE "bad/name"'],
    [{}, { OMNI_AUTH_PROFILE: 'a|b' }, 'OMNI_AUTH_PROFILE "a|b"'],
  ])('refuses a bad name, saying where it came from: %j %j', (flags, env, where) => {
    const e = usageError(() => resolveSettings(flags, env, FILE));
    expect(e.code).toBe('invalid_profile');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(where);
    expect(e.hint).toMatch(/letters, digits/);
  });

  it('accepts names of letters, digits, dot, underscore and dash', () => {
    for (const n of ['a', 'eu-prod', 'Team_2', 'v1.2', 'default']) expect(profileName(n, '--profile')).toBe(n);
  });
});

describe('the settings file', () => {
  it('an old file (no profiles) reads and resolves exactly as before', async () => {
    const files = await home(JSON.stringify(TOP));
    const saved = await readSavedSettings(files.settings);
    expect(saved).toEqual(TOP);
    expect(profileNames(saved)).toEqual(['default']);
    expect(resolveSettings({}, {}, saved)).toMatchObject({ domain: TOP.domain, clientId: 'clientTop', audience: 'https://api.top', profile: 'default' });
  });

  it('reads profiles; ignores names no command could select; refuses a bad default_profile naming the file', async () => {
    const files = await home(JSON.stringify({ ...TOP, profiles: { a: A, 'bad name': B, default: B, n: 'not an object' } }));
    const saved = await readSavedSettings(files.settings);
    expect(saved?.profiles).toEqual({ a: A });
    const bad = await home(JSON.stringify({ ...TOP, default_profile: '../x' }));
    const e = await readSavedSettings(bad.settings).then(() => undefined, (err: unknown) => err as UsageError);
    expect(e).toBeInstanceOf(UsageError);
    expect(e?.code).toBe('invalid_profile');
    expect(e?.exitCode).toBe(2);
    expect(e?.message).toContain(`"default_profile" in ${bad.settings}`);
  });

  it('saving a profile keeps the default settings and the other profiles; saving the default keeps the profiles', async () => {
    const files = await home(`${JSON.stringify({ ...TOP, profiles: { a: A }, default_profile: 'a' })}\n`);
    const b = resolveSettings({ profile: 'b', domain: B.domain, clientId: B.client_id, audience: B.audience }, {}, await readSavedSettings(files.settings));
    await saveSettings(files, b);
    expect(JSON.parse(await readFile(files.settings, 'utf8'))).toEqual({
      ...TOP, profiles: { a: A, b: { domain: B.domain, client_id: B.client_id, audience: B.audience } }, default_profile: 'a',
    });
    const top = resolveSettings({ profile: 'default', domain: 'https://new.auth0.com', clientId: 'n', audience: 'https://api.n', scope: 'openid' }, {}, await readSavedSettings(files.settings));
    await saveSettings(files, top);
    const doc = JSON.parse(await readFile(files.settings, 'utf8')) as Record<string, unknown>;
    expect(doc).toEqual({
      domain: 'https://new.auth0.com', client_id: 'n', audience: 'https://api.n', scope: 'openid',
      profiles: { a: A, b: { domain: B.domain, client_id: B.client_id, audience: B.audience } }, default_profile: 'a',
    });
    expect(Object.keys(doc).slice(0, 3)).toEqual(['domain', 'client_id', 'audience']);
    expect((await stat(files.settings)).mode & 0o777).toBe(0o600);
  });

  it('saving the default profile of an old file writes the old format (no "profiles" key)', async () => {
    const files = await home(JSON.stringify(TOP));
    await saveSettings(files, resolveSettings({ audience: 'https://api.changed' }, {}, await readSavedSettings(files.settings)));
    expect(JSON.parse(await readFile(files.settings, 'utf8'))).toEqual({ ...TOP, audience: 'https://api.changed' });
  });

  it('a profile saved into a fresh home resolves back, and the default profile stays empty', async () => {
    const files = await home();
    await saveSettings(files, resolveSettings({ profile: 'b', domain: B.domain, clientId: 'clientB', audience: B.audience }, {}, undefined));
    const saved = await readSavedSettings(files.settings);
    expect(profileNames(saved)).toEqual(['b']);
    expect(resolveSettings({ profile: 'b' }, {}, saved)).toMatchObject({ domain: B.domain, clientId: 'clientB' });
    expect(usageError(() => resolveSettings({}, {}, saved)).code).toBe('settings_missing');
  });
});
