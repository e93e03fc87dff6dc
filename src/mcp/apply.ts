/**
 * The one way the MCP code changes a config file: read → lock → re-read → edit → back up → write.
 *
 * - The first read lets a no-op (already wired) finish without taking a lock, and a dry run without
 *   writing anything.
 * - Under the lock (`<file>.omni-auth.lock`, src/util/lock.ts) the file is read again and the edit
 *   re-applied, so two omni-auth processes never lose each other's changes.
 * - The client itself does not take our lock (Claude Code rewrites ~/.claude.json under its own):
 *   just before writing, the file is read once more, and if it changed the edit starts over.
 * - The first change of a run to a file keeps its previous content in omni-auth's home, never beside
 *   the file (a cloned repository could commit a link there, issue 9 §1):
 *   `<home>/backups/<sha256(path)[:16]>-<name>.bak` (0600, in a 0700 directory), with
 *   `<same>.bak.json` recording the original path and the time. It is the file minus omni-auth's own
 *   tokens (`isOurToken`; replaced by a placeholder): the backup is there to give back what the user
 *   wrote, never to keep a copy of a token the run takes out of the file. It is written after the
 *   edit under the lock and rewritten when the file changed under us, so it is the file as the run's
 *   change found it; the file counts as backed up once that change is written. Unwiring does not read
 *   backups (it undoes its own edit): they are for the user.
 * - Writes go through src/util/atomic-write.ts: temporary file, fsync, rename; never through a link
 *   inside the project (the current directory), nor into a project file whose folder leads out of it;
 *   a link of the user's own elsewhere in their home (dotfiles) is followed, and said so on stderr.
 *   The mode is kept, except that a file that holds a token after the write is 0600.
 *
 * A leading UTF-8 BOM is kept and hidden from the edit; a file that is not UTF-8 is never written.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { omniAuthHome } from '../config/home.js';
import { OmniAuthError, UsageError } from '../util/errors.js';
import { checkWriteTarget, ensurePrivateDir, isInside, writeFileAtomic, type WriteOptions } from '../util/atomic-write.js';
import { withFileLock } from '../util/lock.js';
import { looksLikeJwt } from './wire.js';
import { BOM } from './formats/text.js';
import { configError, notUtf8 } from './errors.js';
import { withoutOurTokens } from './our-token.js';

/** Files already backed up in this run (one `omni-auth login` or `mcp …` invocation). */
export interface ApplyRun {
  readonly backedUp: Set<string>;
  /** omni-auth's home, where backups go (default: omniAuthHome()). */
  readonly home?: string;
}

export function newRun(home?: string): ApplyRun {
  return { backedUp: new Set(), ...(home !== undefined ? { home } : {}) };
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
  /** Told when a write follows a link of the user's own (default: a line on stderr). */
  onNotice?: (message: string) => void;
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

/** Where the backup of `path` goes: `<home>/backups/<sha256(absolute path)[:16]>-<name>.bak`. */
export function backupPath(path: string, home: string = omniAuthHome()): string {
  const abs = resolve(path);
  const id = createHash('sha256').update(abs).digest('hex').slice(0, 16);
  return join(resolve(home), 'backups', `${id}-${basename(abs)}.bak`);
}
/** The backup's record of where it came from: `{"path": …, "backed_up_at": …}`. */
export const backupRecordPath = (backup: string): string => `${backup}.json`;
export const lockPath = (path: string): string => `${path}.omni-auth.lock`;

export async function applyToFile(path: string, edit: Edit, options: ApplyOptions): Promise<ApplyResult> {
  {
    // The plan, outside the lock; its texts are let go before the locked pass reads the file again
    // (a 5 MB ~/.claude.json: every copy held is megabytes of peak memory).
    const first = await readText(path);
    const planned = runEdit(path, edit, first?.text);
    if (planned === undefined || planned === first?.text) return { changed: false, before: first?.text, after: first?.text };
    if (options.dryRun) return { changed: true, before: first?.text, after: planned };
  }

  // Refused before anything is created: no lock, no backup for a file that will not be written.
  const links = await linkPolicy(path);
  await checkWriteTarget(path, links);
  const notice = options.onNotice ?? ((m: string) => process.stderr.write(`omni-auth: ${m}\n`));
  let told = false;
  const writeOptions = (text: string): WriteOptions => ({
    ...links,
    ...(holdsToken(text) ? { mode: 0o600 } : {}),
    onFollow: (link, target) => {
      if (!told) notice(`${link} is a symbolic link: writing to ${target}, the file it leads to`);
      told = true;
    },
  });

  return withFileLock(lockPath(path), async (): Promise<ApplyResult> => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await readText(path);
      const next = runEdit(path, edit, current?.text);
      if (next === undefined || next === current?.text) return { changed: false, before: current?.text, after: current?.text };
      const key = resolve(path);
      const backup = current && !options.run.backedUp.has(key) ? backupPath(path, options.run.home) : undefined;
      if (current && backup) await writeBackup(key, backup, backupText(current.raw, options.isOurToken));
      // Changed under us: start over — the next attempt backs up what the other program wrote. Compared
      // by digest, streamed, so no second copy of a big file is held.
      if ((await digestOf(path)) !== current?.digest) continue;
      await writeFileAtomic(path, (current?.bom ? BOM : '') + next, writeOptions(next));
      if (backup) options.run.backedUp.add(key);
      return { changed: true, before: current?.text, after: next, ...(backup ? { backup } : {}) };
    }
    throw new OmniAuthError('config_busy', `${path} kept changing while omni-auth was editing it; it was left as the other program wrote it`, {
      hint: 'close the program that keeps rewriting it (e.g. the MCP client), then run the command again',
      details: { path },
    });
  }, { ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}), ...(options.onLockWait ? { onWait: options.onLockWait } : {}) });
}

/** The backup and its record, in omni-auth's home: 0600 files in a 0700 directory that is no link. */
async function writeBackup(original: string, backup: string, text: string): Promise<void> {
  const dir = dirname(backup);
  await ensurePrivateDir(dirname(dir));
  await ensurePrivateDir(dir, { noFollow: true });
  await writeFileAtomic(backup, text, { mode: 0o600 });
  await writeFileAtomic(backupRecordPath(backup), `${JSON.stringify({ path: original, backed_up_at: new Date().toISOString() }, null, 2)}\n`, { mode: 0o600 });
}

/**
 * How links are treated for `path`. Inside the project (the current directory, unless that is the
 * home directory or above it): never followed, and the file's folder must not lead out of the project
 * (`.vscode` committed as a link to `~/.ssh`). Elsewhere: a link of the user's own inside their home
 * is followed (atomic-write.ts, `links: 'own'`).
 */
async function linkPolicy(path: string): Promise<Pick<WriteOptions, 'links'>> {
  const abs = resolve(path);
  const cwd = resolve(process.cwd());
  if (!isInside(cwd, abs) || isInside(cwd, resolve(homedir()))) return { links: 'own' };
  const realCwd = await realpath(cwd).catch(() => cwd);
  const realDir = await realpath(dirname(abs)).catch(() => undefined);
  if (realDir !== undefined && !isInside(realCwd, realDir)) {
    throw new UsageError('symlink_refused', `${dirname(abs)} leads out of the project (to ${realDir}) through a symbolic link; omni-auth does not write there`, {
      hint: `omni-auth does not write through symbolic links; edit ${join(realDir, basename(abs))} directly or pass it explicitly`,
      details: { path: abs, target: join(realDir, basename(abs)) },
    });
  }
  return { links: 'refuse' };
}

/**
 * Whether `text` holds a token: a JWT (its header is JSON, so it starts `eyJ`) as one whole run of
 * base64url and dots — how a token stands in every format we edit. Host names (a.b.c) do not count.
 */
function holdsToken(text: string): boolean {
  for (const run of text.match(/eyJ[A-Za-z0-9_.-]+/g) ?? []) if (looksLikeJwt(run)) return true;
  return false;
}

interface Read {
  raw: string;
  text: string;
  bom: boolean;
  /** SHA-256 of the bytes read (hex). */
  digest: string;
}

/** SHA-256 (hex) of the file's bytes as they are now, read in chunks; undefined when it is gone. */
async function digestOf(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return hash.digest('hex');
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
  return { raw: bom ? BOM + raw : raw, text: raw, bom, digest: createHash('sha256').update(bytes).digest('hex') };
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
