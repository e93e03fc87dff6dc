/**
 * The one way omni-auth writes a file. Caches written in place get torn by parallel or interrupted
 * runs (aws-cli #5528, gh #5949); this writes a temporary file next to the target, fsyncs it, renames
 * it over the target and fsyncs the directory, so a reader — or the next run after a kill -9 or a
 * power cut — sees the complete old content or the complete new one, never a mix.
 *
 * Not `write-file-atomic`: it opens its temporary file without O_EXCL, creates new files 0666 & umask,
 * and does not fsync the directory.
 *
 * Only node: built-ins here — the warm `token` path imports this module.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { OmniAuthError, UsageError } from './errors.js';

const isWindows = process.platform === 'win32';

/**
 * Temporary files are named `.<target name>.omni-tmp-<pid>-<random>`: recognizable, so a write can
 * remove those a killed writer left behind. Only those older than this are removed — a younger one may
 * belong to a writer that is still running.
 */
const TMP_MARK = '.omni-tmp-';
const STRAY_TMP_AGE_MS = 10 * 60_000;

export interface WriteOptions {
  /** The file's mode. Default: the existing file's mode, else 0o600. */
  mode?: number;
  /** Create the file only if it does not exist yet (atomically: link(2) refuses an existing name). */
  exclusive?: boolean;
}

/**
 * Writes `data` to `path` atomically. Returns true, or — with `exclusive` — false when the file already
 * existed and was left untouched. A symbolic link is written through (the link stays, its target gets
 * the new content). Throws an OmniAuthError `write_failed` naming the file; the data never appears in it.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, options: WriteOptions = {}): Promise<boolean> {
  const target = await realpath(path).catch(() => resolve(path));
  const dir = dirname(target);
  const tmpPrefix = `.${basename(target)}${TMP_MARK}`;
  const tmp = join(dir, `${tmpPrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
  let tmpExists = false;
  try {
    const mode = options.mode ?? (await existingMode(target)) ?? 0o600;
    // O_EXCL: never reuse a file someone else prepared. The final mode from the start: the content
    // never exists under looser permissions than the target will have.
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    tmpExists = true;
    try {
      // The umask may have removed bits the caller asked for (never added any); give them back.
      if (!isWindows) await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
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
  await syncDir(dir);
  await removeStrayTemps(dir, tmpPrefix);
  return true;
}

async function existingMode(file: string): Promise<number | undefined> {
  const st = await stat(file).catch(() => undefined);
  return st ? st.mode & 0o777 : undefined;
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
    const st = await stat(file).catch(() => undefined);
    if (st && st.mtimeMs < cutoff) await unlink(file).catch(() => {});
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

export async function ensurePrivateDir(path: string): Promise<void> {
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
