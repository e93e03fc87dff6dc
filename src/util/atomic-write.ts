/**
 * The one way omni-auth writes a file. Caches written in place get torn by parallel or interrupted
 * runs (aws-cli #5528, gh #5949); this writes a temporary file next to the target, fsyncs it, renames
 * it over the target and fsyncs the directory, so a reader — or the next run after a kill -9 or a
 * power cut — sees the complete old content or the complete new one, never a mix.
 *
 * It never writes where it was not asked to (a cloned repository may commit a symbolic link named
 * like any file omni-auth writes, issue 9 §1):
 *  - the target is looked at with lstat(2): a symbolic link is refused (`symlink_refused`) unless the
 *    caller allows the user's own links (`links: 'own'`, see WriteOptions), and anything but a regular
 *    file (`not_a_regular_file`), a file of another user (`foreign_owner`) or one its owner may not
 *    write (`read_only`, e.g. 0444) is refused — never replaced silently;
 *  - the temporary file is created O_CREAT|O_EXCL|O_NOFOLLOW under a random name, so nothing someone
 *    prepared at that name (a file, a link) is ever opened;
 *  - rename(2) replaces the name itself: if the target is swapped for a link after the lstat, the link
 *    is replaced, its destination is not written.
 *
 * Not `write-file-atomic`: it opens its temporary file without O_EXCL, creates new files 0666 & umask,
 * and does not fsync the directory.
 *
 * Only node: built-ins here — the warm `token` path imports this module.
 */
import { randomBytes } from 'node:crypto';
import { constants, existsSync, writeFileSync } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import type { Stats } from 'node:fs';
import { OmniAuthError, UsageError } from './errors.js';

const isWindows = process.platform === 'win32';
/** 0 where the platform has none (Windows): there, lstat is the only guard. */
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Temporary files are named `.<target name>.omni-tmp-<pid>-<random>`: recognizable, so a write can
 * remove those a killed writer left behind. Only those older than this are removed — a younger one may
 * belong to a writer that is still running.
 */
const TMP_MARK = '.omni-tmp-';
const STRAY_TMP_AGE_MS = 10 * 60_000;

export interface WriteOptions {
  /** The file's mode. Default: the existing file's mode, else 0o600. Applied whatever the umask. */
  mode?: number;
  /** Create the file only if it does not exist yet (atomically: link(2) refuses an existing name). */
  exclusive?: boolean;
  /**
   * A symbolic link at the target: `'refuse'` (the default) throws `symlink_refused`. `'own'` follows
   * it when the link and the file it leads to are both this user's, that file is a regular file, and
   * both lie inside the user's home directory (dotfiles managed by stow or chezmoi: ~/.claude.json →
   * ~/dotfiles/claude.json); `onFollow` is told, so the caller can say so. Anything else is refused.
   */
  links?: 'refuse' | 'own';
  onFollow?: (link: string, target: string) => void;
  /**
   * false: no fsync of the file and its directory. For files that mean nothing after a crash (exec's
   * token file, removed when its child exits): the rename still makes every write atomic for readers.
   * Default true.
   */
  durable?: boolean;
}

/**
 * Writes `data` to `path` atomically. Returns true, or — with `exclusive` — false when the file already
 * existed and was left untouched. Throws a UsageError (`symlink_refused`, `not_a_regular_file`,
 * `foreign_owner`, `read_only`) for a target it will not write, and an OmniAuthError `write_failed`
 * naming the file when the write itself fails; the data never appears in either.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, options: WriteOptions = {}): Promise<boolean> {
  const checked = await checkWriteTarget(path, options);
  if (!checked) return false;
  const { target, existing } = checked;
  const dir = dirname(target);
  const tmpPrefix = `.${basename(target)}${TMP_MARK}`;
  const tmp = join(dir, `${tmpPrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
  let tmpExists = false;
  try {
    const mode = options.mode ?? (existing ? existing.mode & 0o777 : undefined) ?? 0o600;
    // O_EXCL|O_NOFOLLOW: never open a file or a link someone else prepared. The final mode from the
    // start: the content never exists under looser permissions than the target will have.
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, mode);
    tmpExists = true;
    try {
      // The umask may have removed bits the caller asked for (never added any); give them back.
      if (!isWindows) await handle.chmod(mode);
      await handle.writeFile(data);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await pauseForTests(target);
    if (options.exclusive) {
      try {
        await link(tmp, target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    } else {
      await rename(tmp, target);
      tmpExists = false;
    }
  } catch (e) {
    throw writeError(target, e);
  } finally {
    if (tmpExists) await unlink(tmp).catch(() => {});
  }
  if (options.durable !== false) await syncDir(dir);
  await removeStrayTemps(dir, tmpPrefix);
  return true;
}

/**
 * Creates `path` holding `data`, with `mode` whatever the umask, in one exclusive open
 * (O_CREAT|O_EXCL|O_NOFOLLOW): an existing file or link at that name is never opened (EEXIST). No
 * temporary file and no rename: only for a file nobody can be reading yet — the first content of a
 * file in a directory the caller has just created for itself (exec's token file, src/exec/token-file.ts).
 * Not durable. Throws the same `write_failed` error as writeFileAtomic (and leaves no file); the data
 * never appears in it.
 */
export async function createFileExclusive(path: string, data: string | Buffer, mode: number): Promise<void> {
  let created = false;
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, mode);
    created = true;
    try {
      // The umask may have removed bits the caller asked for (never added any); give them back.
      if (!isWindows) await handle.chmod(mode);
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  } catch (e) {
    // Nothing half-written is left behind.
    if (created) await unlink(path).catch(() => {});
    throw writeError(resolve(path), e);
  }
}

/**
 * What writeFileAtomic checks before it writes, for a caller that wants to refuse early (before a
 * backup, a lock): the file that would be written and its current state, or undefined for an
 * `exclusive` write whose name is taken. Throws the same refusals.
 */
export async function checkWriteTarget(path: string, options: WriteOptions = {}): Promise<{ target: string; existing: Stats | undefined } | undefined> {
  let target = resolve(path);
  let existing = await lstatOrUndefined(target);
  if (existing && options.exclusive) return undefined;
  if (existing?.isSymbolicLink()) {
    const followed = await followOwnLink(target, existing, options);
    target = followed.target;
    existing = followed.stats;
  }
  if (existing) checkWritable(target, existing);
  return { target, existing };
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw writeError(path, e);
  }
}

const myUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/** Refuses what is not a regular file of this user that its owner may write. */
function checkWritable(target: string, st: Stats): void {
  if (!st.isFile()) {
    throw new UsageError('not_a_regular_file', `${target} is not a regular file; omni-auth writes only regular files`, {
      hint: `move ${target} aside (or remove it) and run the command again`,
      details: { path: target },
    });
  }
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid) {
    throw new UsageError('foreign_owner', `${target} belongs to another user (uid ${st.uid}); omni-auth does not write other users' files`, {
      hint: `edit ${target} as its owner, or copy it to a file of your own`,
      details: { path: target, owner_uid: st.uid },
    });
  }
  if (!isWindows && (st.mode & 0o200) === 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new UsageError('read_only', `${target} is read-only (mode ${mode}); omni-auth does not replace a file its owner made read-only`, {
      hint: `if omni-auth may change it, run: chmod u+w ${target}`,
      details: { path: target },
    });
  }
}

/** The file a link of the user's own leads to (links: 'own'), or a `symlink_refused` error. */
async function followOwnLink(link: string, st: Stats, options: WriteOptions): Promise<{ target: string; stats: Stats | undefined }> {
  const real = await realpath(link).catch(() => undefined);
  const refuse = (why: string): never => {
    throw new UsageError('symlink_refused', `${link} is a symbolic link${real ? ` to ${real}` : ' (dangling)'}; ${why}`, {
      hint: real
        ? `omni-auth does not write through symbolic links; edit ${real} directly or pass it explicitly`
        : `omni-auth does not write through symbolic links; remove ${link} or point it at a file of your own`,
      details: { path: link, ...(real ? { target: real } : {}) },
    });
  };
  if (options.links !== 'own') refuse('omni-auth does not write through it');
  if (!real) refuse('it leads nowhere');
  const stats = await lstatOrUndefined(real as string);
  const uid = myUid();
  if (!stats || !stats.isFile()) refuse('it does not lead to a regular file');
  if (uid !== undefined && (st.uid !== uid || stats!.uid !== uid)) refuse('it or the file it leads to belongs to another user');
  const home = await realpath(homedir()).catch(() => resolve(homedir()));
  const linkDir = await realpath(dirname(link)).catch(() => dirname(link));
  if (!isInside(home, linkDir) || !isInside(home, real as string)) refuse('it leads out of your home directory');
  options.onFollow?.(link, real as string);
  return { target: real as string, stats };
}

/** Whether `path` is `root` or below it (both absolute, resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * For the kill-during-write tests only: with OMNI_AUTH_TEST_PAUSE_DIR set, each write, once its
 * temporary file is complete and before the rename, creates `<dir>/<pid>-<n>.paused` (holding the
 * target's path) and waits until `<dir>/<pid>-<n>.resume` exists — so a test can SIGKILL the writer at
 * a moment it knows. Pausing one's own process is all this can do.
 */
let pauses = 0;
async function pauseForTests(target: string): Promise<void> {
  const dir = process.env.OMNI_AUTH_TEST_PAUSE_DIR;
  if (!dir) return;
  const name = join(dir, `${process.pid}-${++pauses}`);
  writeFileSync(`${name}.paused`, target);
  while (!existsSync(`${name}.resume`)) await new Promise((r) => setTimeout(r, 5));
}

/** Makes the rename itself durable. Best effort: some file systems refuse to fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  if (isWindows) return;
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close().catch(() => {});
}

async function removeStrayTemps(dir: string, tmpPrefix: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const cutoff = Date.now() - STRAY_TMP_AGE_MS;
  for (const name of names) {
    if (!name.startsWith(tmpPrefix)) continue;
    const file = join(dir, name);
    const st = await lstat(file).catch(() => undefined);
    if (st?.isFile() && st.mtimeMs < cutoff) await unlink(file).catch(() => {});
  }
}

function writeError(target: string, e: unknown): OmniAuthError {
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(target);
  const hints: Record<string, string> = {
    ENOENT: `the directory ${dir} does not exist`,
    EACCES: `check that ${dir} is writable by this user`,
    EPERM: `check that ${dir} is writable by this user`,
    EROFS: `${dir} is on a read-only file system; set OMNI_AUTH_HOME to a writable directory`,
    ENOSPC: 'free some disk space and run the command again',
    EDQUOT: 'free some disk space (you are over quota) and run the command again',
  };
  return new OmniAuthError('write_failed', `could not write ${target}: ${code ?? (e as Error).message}`, {
    cause: e,
    ...(code && hints[code] ? { hint: hints[code] } : {}),
  });
}

/**
 * Creates a directory for omni-auth's own files (its home) with mode 0700, parents included. An
 * existing one that group or others can read or enter is tightened to 0700: it holds the machine key
 * and the token cache. Two exceptions, left as they are because omni-auth does not own them: the
 * user's home directory and a file system root (OMNI_AUTH_HOME may be pointed at either). Not for
 * directories of other programs (MCP client configs): their owner chose those permissions.
 */
/**
 * `mkdir -p` with 0700, one level at a time. Not `mkdir(…, {recursive: true})`: on Node 20 it spins
 * forever where a parent cannot be created but reports ENOENT (e.g. under /proc).
 */
async function mkdirParents(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw e;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw e;
    await mkdirParents(parent);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (again) {
      // The parent now exists; still ENOENT means it cannot hold directories (/proc): give up.
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

export interface PrivateDirOptions {
  /**
   * The directory itself must not be a symbolic link, and must be this user's (`unsafe_directory`
   * otherwise): for directories inside omni-auth's home that it alone creates (backups/).
   */
  noFollow?: boolean;
}

export async function ensurePrivateDir(path: string, options: PrivateDirOptions = {}): Promise<void> {
  const dir = resolve(path);
  try {
    await mkdirParents(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new UsageError('not_a_directory', `${dir} exists and is not a directory`, {
        hint: 'move that file aside, or set OMNI_AUTH_HOME to a directory',
      });
    }
    throw new OmniAuthError('mkdir_failed', `could not create the directory ${dir}: ${code ?? (e as Error).message}`, {
      cause: e,
      hint: `check that ${dirname(dir)} is writable by this user, or set OMNI_AUTH_HOME`,
    });
  }
  if (options.noFollow) await checkOwnDir(dir);
  if (isWindows || dir === resolve(homedir()) || dirname(dir) === dir) return;
  const st = await stat(dir);
  if ((st.mode & 0o077) === 0) return;
  try {
    await chmod(dir, 0o700);
  } catch (e) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new UsageError('dir_permissions', `${dir} is open to other users (mode ${mode}) and cannot be made private`, {
      cause: e,
      hint: `run: chmod 700 ${dir} (as its owner), or set OMNI_AUTH_HOME to a directory of your own`,
    });
  }
}

async function checkOwnDir(dir: string): Promise<void> {
  const st = await lstat(dir);
  const uid = myUid();
  const why = st.isSymbolicLink() ? 'is a symbolic link' : !st.isDirectory() ? 'is not a directory' : uid !== undefined && st.uid !== uid ? `belongs to another user (uid ${st.uid})` : undefined;
  if (!why) return;
  throw new UsageError('unsafe_directory', `${dir} ${why}; omni-auth keeps its own files only in a directory of its own`, {
    hint: `remove ${dir} (omni-auth creates it again, 0700)`,
    details: { path: dir },
  });
}
