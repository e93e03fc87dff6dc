/**
 * The one way the MCP code changes a config file: read → lock → re-read → edit → back up → write.
 *
 * - The first read lets a no-op (already wired) finish without taking a lock, and a dry run without
 *   writing anything.
 * - Under the lock (`<file>.omni-auth.lock`, src/util/lock.ts) the file is read again and the edit
 *   re-applied, so two omni-auth processes never lose each other's changes.
 * - The client itself does not take our lock (Claude Code rewrites ~/.claude.json under its own):
 *   just before writing, the file is read once more, and if it changed the edit starts over.
 * - The first change of a run to a file keeps its previous content at `<file>.omni-auth.bak` (0600),
 *   minus omni-auth's own tokens (`isOurToken`; replaced by a placeholder): the backup is there to
 *   give back what the user wrote, never to keep a copy of a token the run takes out of the file.
 *   It is written after the edit under the lock and rewritten when the file changed under us, so it
 *   is the file as the run's change found it; the file counts as backed up once that change is written.
 * - Writes go through src/util/atomic-write.ts: temporary file, fsync, rename; the mode is kept.
 *
 * A leading UTF-8 BOM is kept and hidden from the edit; a file that is not UTF-8 is never written.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OmniAuthError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { withFileLock } from '../util/lock.js';
import { BOM } from './formats/text.js';
import { configError, notUtf8 } from './errors.js';
import { withoutOurTokens } from './our-token.js';

/** Files already backed up in this run (one `omni-auth login` or `mcp …` invocation). */
export interface ApplyRun {
  readonly backedUp: Set<string>;
}

export function newRun(): ApplyRun {
  return { backedUp: new Set() };
}

/** Given the current text (undefined: no file), the new text, or undefined for "no change". */
export type Edit = (text: string | undefined) => string | undefined;

export interface ApplyOptions {
  run: ApplyRun;
  dryRun?: boolean;
  lockTimeoutMs?: number;
  onLockWait?: () => void;
  /** Tokens never copied into the backup (asked after the edit: it may name the tokens it removed). */
  isOurToken?: (token: string) => boolean;
}

export interface ApplyResult {
  changed: boolean;
  /** The content before and after (without BOM); equal when nothing changed. */
  before: string | undefined;
  after: string | undefined;
  /** Set when this call made the backup. */
  backup?: string;
}

const ATTEMPTS = 5;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export const backupPath = (path: string): string => `${path}.omni-auth.bak`;
export const lockPath = (path: string): string => `${path}.omni-auth.lock`;

export async function applyToFile(path: string, edit: Edit, options: ApplyOptions): Promise<ApplyResult> {
  const first = await readText(path);
  const planned = runEdit(path, edit, first?.text);
  if (planned === undefined || planned === first?.text) return { changed: false, before: first?.text, after: first?.text };
  if (options.dryRun) return { changed: true, before: first?.text, after: planned };

  return withFileLock(lockPath(path), async (): Promise<ApplyResult> => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await readText(path);
      const next = runEdit(path, edit, current?.text);
      if (next === undefined || next === current?.text) return { changed: false, before: current?.text, after: current?.text };
      const key = resolve(path);
      const backup = current && !options.run.backedUp.has(key) ? backupPath(path) : undefined;
      if (current && backup) await writeFileAtomic(backup, backupText(current.raw, options.isOurToken), { mode: 0o600 });
      // Changed under us: start over — the next attempt backs up what the other program wrote.
      const again = await readText(path);
      if (again?.raw !== current?.raw) continue;
      await writeFileAtomic(path, (current?.bom ? BOM : '') + next);
      if (backup) options.run.backedUp.add(key);
      return { changed: true, before: current?.text, after: next, ...(backup ? { backup } : {}) };
    }
    throw new OmniAuthError('config_busy', `${path} kept changing while omni-auth was editing it; it was left as the other program wrote it`, {
      hint: 'close the program that keeps rewriting it (e.g. the MCP client), then run the command again',
      details: { path },
    });
  }, { ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}), ...(options.onLockWait ? { onWait: options.onLockWait } : {}) });
}

interface Read {
  raw: string;
  text: string;
  bom: boolean;
}

export async function readText(path: string): Promise<Read | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OmniAuthError('config_unreadable', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      cause: e,
      hint: 'check the file permissions',
      details: { path },
    });
  }
  let raw: string;
  try {
    raw = UTF8.decode(bytes);
  } catch {
    throw notUtf8(path);
  }
  // TextDecoder drops a leading BOM by default: look at the bytes.
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { raw: bom ? BOM + raw : raw, text: raw, bom };
}

function backupText(raw: string, isOurToken: ((token: string) => boolean) | undefined): string {
  return isOurToken ? withoutOurTokens(raw, isOurToken) : raw;
}

function runEdit(path: string, edit: Edit, text: string | undefined): string | undefined {
  try {
    return edit(text);
  } catch (e) {
    throw configError(path, e);
  }
}
