/**
 * The warm path's key check: which key a cached token must have been obtained with. In the warm build
 * (scripts/build.mjs) this module stands in for src/identity/key-store.ts, so `getToken` runs its own
 * code — same freshness rule, same `cached.key_thumbprint === currentThumbprint(…)` test — with this
 * `currentThumbprint`, which gives exactly what key-store's does without loading node:crypto (the
 * biggest cost of a warm run):
 *
 *  - the key text (OMNI_AUTH_KEY, else the key file after key-store's own checks: a regular file, not
 *    readable by others; missing → no key) is hashed (plain-JS SHA-256, with the Node version and the
 *    key parser's build digest);
 *  - `<home>/key-thumbprints.json` maps such hashes to the thumbprint key-store's parser computed from
 *    that very text. On a hit that is the answer; on a miss the real parser runs on the text (loading
 *    node:crypto once) and the pair is recorded for the next run.
 *
 * The thumbprint is a function of the key text alone, so the recorded one is what key-store would
 * compute. Anything key-store would refuse (permissions, not a file, unreadable, an invalid key) is not
 * answered here: it throws, and the warm entry hands the command to the full CLI, which says what is
 * wrong exactly as before.
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KEY_ENV, parsePrivateKey } from '../identity/key-store.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { HandOff } from './hand-off.js';
import { sha256 } from './sha256.js';
import { warmUnusual } from './code-cache.js';

export { KEY_ENV };

declare const __OMNI_AUTH_KEY_CHECK__: string | undefined;
/** A digest of the key parser's sources (scripts/build.mjs): a changed parser never trusts old records. */
const PARSER = typeof __OMNI_AUTH_KEY_CHECK__ === 'string' ? __OMNI_AUTH_KEY_CHECK__ : 'dev';

export const KEY_RECORDS_FILE = 'key-thumbprints.json';
const RECORDS_VERSION = 1;
/** Records kept: the key file and OMNI_AUTH_KEY of a few pipelines; older ones are dropped. */
const MAX_RECORDS = 8;

/** key-store's `currentThumbprint`, answered from the records when they know the key text. */
export async function currentThumbprint(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const home = dirname(file);
  const fromEnv = env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return thumbprintOfText(fromEnv, home);
  let text: string;
  try {
    // key-store's readKeyFile, step by step; what it would refuse is the full CLI's to report.
    if (process.platform !== 'win32') {
      const st = statSync(file);
      if (!st.isFile() || (st.mode & 0o077) !== 0) throw new HandOff('the key file is not a private regular file');
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof HandOff) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HandOff('the key file cannot be read');
  }
  return thumbprintOfText(text, home);
}

/** The record's name for a key text. */
export function keyTextDigest(text: string): string {
  return sha256(Buffer.from(`omni-auth key thumbprint\0${process.version}\0${PARSER}\0${text}`, 'utf8')).toString('base64url');
}

async function thumbprintOfText(text: string, home: string): Promise<string> {
  const digest = keyTextDigest(text);
  const records = readRecords(home);
  const known = records[digest];
  if (known !== undefined) return known;
  // The real parser (node:crypto); a key it refuses throws, and the full CLI reports it.
  warmUnusual();
  const { thumbprint } = parsePrivateKey(text, KEY_ENV);
  await writeRecords(home, { ...records, [digest]: thumbprint });
  return thumbprint;
}

/** The records, or none when the file is missing, not a private regular file of ours, or malformed. */
export function readRecords(home: string): Record<string, string> {
  const file = join(home, KEY_RECORDS_FILE);
  try {
    const st = lstatSync(file);
    if (!st.isFile()) return {};
    if (process.platform !== 'win32' && ((st.mode & 0o077) !== 0 || st.uid !== process.getuid?.())) return {};
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; keys?: unknown };
    if (doc.version !== RECORDS_VERSION || typeof doc.keys !== 'object' || doc.keys === null || Array.isArray(doc.keys)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.keys)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return {};
  }
}

async function writeRecords(home: string, records: Record<string, string>): Promise<void> {
  const kept = Object.fromEntries(Object.entries(records).slice(-MAX_RECORDS));
  // Best effort: without the record the next run checks the key with the parser again.
  await writeFileAtomic(join(home, KEY_RECORDS_FILE), `${JSON.stringify({ version: RECORDS_VERSION, keys: kept }, null, 2)}\n`, { mode: 0o600 }).catch(() => undefined);
}
