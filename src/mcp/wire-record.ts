/**
 * What `mcp wire` / `login` / `mcp add` did to each entry that now holds a token (mode env, a remote
 * entry's Authorization header): which variable, which objects it created, a digest of the token
 * (wire.ts, WireRecord). Kept in `<OMNI_AUTH_HOME>/mcp-wired.json` (0600, no secret in it), so that a
 * later `unwire` — without `--env-var`, without the tenant's settings — takes out exactly that and
 * gives back the original bytes. An entry without a record is unwired as before (the tenant's check,
 * the client's usual shape).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { withFileLock } from '../util/lock.js';
import { isPlainObject } from './formats/structural.js';
import type { WireRecord } from './wire.js';

export const RECORD_FILE = 'mcp-wired.json';

/** The record file of the home a launcher path belongs to (`<home>/bin/omni-auth.cjs`), if it is one. */
export function recordPathFor(launcherPath: string | undefined): string | undefined {
  if (!launcherPath || basename(dirname(launcherPath)) !== 'bin') return undefined;
  return join(dirname(dirname(launcherPath)), RECORD_FILE);
}

export const recordKey = (file: string, location: readonly string[], name: string): string => JSON.stringify([resolve(file), ...location, name]);

export async function loadRecords(path: string | undefined): Promise<Map<string, WireRecord>> {
  if (!path) return new Map();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return new Map();
  }
  try {
    const doc: unknown = JSON.parse(text);
    const entries = isPlainObject(doc) && isPlainObject(doc.entries) ? doc.entries : {};
    return new Map(Object.entries(entries).filter(([, v]) => isRecord(v)) as Array<[string, WireRecord]>);
  } catch {
    // A damaged record file only costs exactness on unwire: start over.
    return new Map();
  }
}

/** Applies `changes` (undefined: forget the entry) under a lock, re-reading the file first. */
export async function saveRecords(path: string | undefined, changes: ReadonlyMap<string, WireRecord | undefined>): Promise<void> {
  if (!path || changes.size === 0) return;
  // Exec wiring records nothing: forgetting what was never recorded needs no lock and no write.
  const nothing = (records: Map<string, WireRecord>): boolean => [...changes].every(([k, v]) => v === undefined && !records.has(k));
  if (nothing(await loadRecords(path))) return;
  await ensurePrivateDir(dirname(path));
  await withFileLock(`${path}.lock`, async () => {
    const records = await loadRecords(path);
    for (const [k, v] of changes) {
      if (v) records.set(k, v);
      else records.delete(k);
    }
    const doc = { version: 1, entries: Object.fromEntries([...records].sort(([a], [b]) => (a < b ? -1 : 1))) };
    await writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  });
}

function isRecord(v: unknown): v is WireRecord {
  if (!isPlainObject(v)) return false;
  return (v.envVar === undefined || typeof v.envVar === 'string')
    && (v.token === undefined || typeof v.token === 'string')
    && (v.created === undefined || (Array.isArray(v.created) && v.created.every((c) => typeof c === 'string')));
}
