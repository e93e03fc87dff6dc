/**
 * Issue 14 §3 leftovers: the settings edits of `omni-auth profile use|remove` (src/config/profiles.ts)
 * and of `login`/`setup` (saveSettings) share one lock, re-read the file under it, refuse a file that
 * does not parse, never write through a link, and leave every other profile as it was.
 */
import { lstat, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeProfileSettings, sharedWith, useProfile } from '../../src/config/profiles.js';
import { readSavedSettings, resolveSettings, selectProfile, type SavedSettings } from '../../src/config/settings.js';
import { saveSettings } from '../../src/config/settings-write.js';
import { homeFiles } from '../../src/config/home.js';

const A = { domain: 'https://a.eu.auth0.com', client_id: 'clientA', audience: 'https://api.a' };
const B = { domain: 'https://b.us.auth0.com', client_id: 'clientB', audience: 'https://api.b', scope: 'openid email' };
const TOP = { domain: 'https://top.auth0.com', client_id: 'clientTop', audience: 'https://api.top' };
const FILE: SavedSettings = { ...TOP, profiles: { a: A, b: B } };

async function home(text?: string) {
  const files = homeFiles(await mkdtemp(join(tmpdir(), 'omni-profile-store-')));
  if (text !== undefined) await writeFile(files.settings, text, { mode: 0o600 });
  return files;
}
const doc = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

async function rejection(p: Promise<unknown>): Promise<{ code: string; exitCode: number; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; exitCode: number; message: string; hint?: string };
  }
  throw new Error('expected a rejection');
}

describe('profile use', () => {
  it('saves default_profile; the other settings stay as they were; "default" drops the key (the old format)', async () => {
    const files = await home(JSON.stringify({ ...FILE, extra: { kept: true } }));
    expect(await useProfile(files, 'b')).toEqual({ name: 'b', previous: 'default' });
    expect(await doc(files.settings)).toEqual({ ...FILE, extra: { kept: true }, default_profile: 'b' });
    expect(selectProfile({}, {}, await readSavedSettings(files.settings))).toMatchObject({ name: 'b', source: 'saved' });
    expect(await useProfile(files, 'default')).toEqual({ name: 'default', previous: 'b' });
    expect(await doc(files.settings)).toEqual({ ...FILE, extra: { kept: true } });
    expect(((await lstat(files.settings)).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses an unknown profile (exit 2, the known ones in the hint), an invalid name, and a file that does not parse — writing nothing', async () => {
    const text = JSON.stringify(FILE);
    const files = await home(text);
    const unknown = await rejection(useProfile(files, 'c'));
    expect(unknown).toMatchObject({ code: 'unknown_profile', exitCode: 2 });
    expect(unknown.hint).toContain('saved profiles: default, a, b');
    expect(await rejection(useProfile(files, '../a'))).toMatchObject({ code: 'invalid_profile', exitCode: 2 });
    // "default" with no top-level settings is not a saved profile either.
    const noTop = await home(JSON.stringify({ profiles: { a: A } }));
    expect(await rejection(useProfile(noTop, 'default'))).toMatchObject({ code: 'unknown_profile' });
    expect(await readFile(files.settings, 'utf8')).toBe(text);
    const corrupt = await home('{"profiles": ');
    expect(await rejection(useProfile(corrupt, 'a'))).toMatchObject({ code: 'settings_corrupt', exitCode: 2 });
    expect(await readFile(corrupt.settings, 'utf8')).toBe('{"profiles": ');
  });

  it('never writes through a link at settings.json', async () => {
    const files = await home();
    const elsewhere = join(files.home, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify(FILE), { mode: 0o600 });
    await symlink(elsewhere, files.settings);
    expect(await rejection(useProfile(files, 'a'))).toMatchObject({ code: 'symlink_refused' });
    expect(await readFile(elsewhere, 'utf8')).toBe(JSON.stringify(FILE));
    expect((await lstat(files.settings)).isSymbolicLink()).toBe(true);
  });
});

describe('profile remove (the settings part)', () => {
  it('takes one named profile out; the others and the top level stay; the last one drops "profiles"', async () => {
    const files = await home(JSON.stringify(FILE));
    expect(await removeProfileSettings(files, 'a', false)).toEqual({ wasDefault: false });
    expect(await doc(files.settings)).toEqual({ ...TOP, profiles: { b: B } });
    await removeProfileSettings(files, 'b', false);
    expect(await doc(files.settings)).toEqual(TOP);
  });

  it('the default profile only with force, which also drops default_profile; "default" is the top-level values', async () => {
    const files = await home(JSON.stringify({ ...FILE, default_profile: 'a' }));
    expect(await rejection(removeProfileSettings(files, 'a', false))).toMatchObject({ code: 'profile_is_default', exitCode: 2 });
    expect(await doc(files.settings)).toEqual({ ...FILE, default_profile: 'a' });
    expect(await removeProfileSettings(files, 'a', true)).toEqual({ wasDefault: true });
    expect(await doc(files.settings)).toEqual({ ...TOP, profiles: { b: B } });
    expect(await rejection(removeProfileSettings(files, 'default', false))).toMatchObject({ code: 'profile_is_default' });
    await removeProfileSettings(files, 'default', true);
    expect(await doc(files.settings)).toEqual({ profiles: { b: B } });
    expect(await rejection(removeProfileSettings(files, 'default', true))).toMatchObject({ code: 'unknown_profile' });
  });
});

describe('one lock for every settings writer', () => {
  it('twelve saves of twelve profiles at once, with use and remove among them: none is lost', async () => {
    const files = await home(JSON.stringify(FILE));
    const settingsOf = (i: number) => resolveSettings({ profile: `p${i}`, domain: `https://t${i}.auth0.com`, clientId: `c${i}`, audience: 'https://api' }, {}, undefined);
    await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => saveSettings(files, settingsOf(i))),
      useProfile(files, 'b'),
      removeProfileSettings(files, 'a', false),
    ]);
    const saved = await readSavedSettings(files.settings);
    expect(Object.keys(saved!.profiles!).sort()).toEqual(['b', ...Array.from({ length: 12 }, (_, i) => `p${i}`)].sort());
    expect(saved!.default_profile).toBe('b');
    expect(saved!.domain).toBe(TOP.domain);
  });
});

describe('profiles that share a cache entry', () => {
  it('are the other profiles of the same tenant, application and API (exact: and scopes)', () => {
    const saved: SavedSettings = { ...TOP, profiles: { a: A, twin: { ...A }, wider: { ...A, scope: 'openid' }, b: B } };
    const a = resolveSettings({ profile: 'a' }, {}, saved);
    expect(sharedWith(saved, 'a', a)).toEqual(['twin', 'wider']);
    expect(sharedWith(saved, 'a', a, true)).toEqual(['twin']);
    expect(sharedWith(saved, 'b', resolveSettings({ profile: 'b' }, {}, saved))).toEqual([]);
  });
});
