/**
 * Every read-modify-write of settings.json — `login`, `setup`, `mcp add --url`, `omni-auth profile` —
 * holds one lock (`<home>/settings.lock`), re-reads the file under it and replaces it atomically (0600,
 * never through a link: util/atomic-write.ts), so two commands saving at the same instant cannot lose
 * one's change. Apart from config/settings.ts because the warm entry reads settings and must not
 * bundle util/lock.ts (test/cli/startup.test.ts).
 */
import { join } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { withFileLock } from '../util/lock.js';
import { readDocument, withSaved, type Settings } from './settings.js';

/** The files the settings live in: the home directory, settings.json, and the lock of its writers. */
export interface SettingsFiles {
  home: string;
  settings: string;
  /** config/home.ts homeFiles; default `<home>/settings.lock`. */
  settingsLock?: string;
}

export async function withSettingsLock<T>(files: SettingsFiles, fn: () => Promise<T>): Promise<T> {
  await ensurePrivateDir(files.home);
  return withFileLock(files.settingsLock ?? join(files.home, 'settings.lock'), fn);
}

/** Writes the whole settings document (0600, atomic, never through a link): hold withSettingsLock. */
export async function writeSettingsDocument(files: SettingsFiles, doc: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(files.settings, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
}

/** Saves `settings` to their profile's place in settings.json (settings.ts withSaved), under the lock. */
export async function saveSettings(files: SettingsFiles, settings: Settings): Promise<void> {
  await withSettingsLock(files, async () => {
    await writeSettingsDocument(files, withSaved(await readDocument(files.settings), settings));
  });
}
