/**
 * The one inter-process lock of omni-auth: parallel callers (an MCP client starting five servers at
 * once) wait for one token exchange instead of each doing their own (kubelogin #1126). Node has no
 * flock(), so this is a lock file holding {pid, hostname, created_at, token}. It never exists without
 * that content: the content is written to a temp file of the same directory, which is then hard-linked
 * to the lock path — link(2) is atomic and fails with EEXIST when the lock is held (also on NFS). A lock
 * created empty and filled after would, if its holder were killed in between, be recoverable only once
 * staleMs had passed. On a filesystem without hard links (FAT, some FUSE), the lock is created empty with
 * O_EXCL and written after, and that rare kill is recovered by age.
 *
 * A lock is abandoned ("stale") when its holder is a process of this host that no longer exists, or
 * when its mtime is older than `staleMs`: the holder touches the file every staleMs/4 while it runs, so
 * a long but live holder keeps it, and a holder killed on another host (a shared home) or whose pid
 * was reused is still recovered.
 *
 * Why two waiters that see the same stale lock cannot both break it and both get in:
 *  - a lock file is only ever created by link(2) or O_EXCL, which both fail if it exists, so at most
 *    one exists at a time;
 *  - it is only ever deleted (a) by its holder, after reading its own token back from it, or (b) by a
 *    waiter holding the breaker `<lock>.break` (also O_EXCL) — and that waiter deletes only after
 *    reading the lock again *while holding the breaker* and finding it still stale. What it saw before
 *    taking the breaker is never enough. So when the second waiter gets the breaker, the lock it
 *    judged is gone; if a new one exists, its holder is alive and its mtime fresh: it is left alone.
 *  - a holder's liveness is judged after its file was read, so the holder may have released it and
 *    another caller taken the path in between (a CI run caught two callers inside at once that way):
 *    the waiter deletes only if, after judging, the path still names the very file (dev, inode) it
 *    read. From that judgement on only a breaker removes that file, so the check cannot go stale.
 *  - the holder's own read-then-delete at release is safe because a live holder's lock is never judged
 *    stale: its pid exists (for this very process: its token is in `heldHere` from before the file
 *    exists until after it is deleted) and its heartbeat keeps the mtime fresh.
 * A process killed before unlinking its temp file (a few system calls) leaves `<lock>.<token>.tmp`
 * behind: never read by anyone, so harmless.
 * What that rests on — every lock that survives kill -9 without kernel locks is a lease: a live holder
 * is not frozen for staleMs (Ctrl-Z, a debugger), and nobody freezes for BREAKER_STALE_MS inside the
 * few system calls it holds the breaker for. If either fails, the worst outcome for omni-auth is two
 * token requests and the last cache write winning; never a torn file, since every write is atomic.
 *
 * Not reentrant: a process that asks again for a lock it holds waits for itself until the timeout.
 *
 * Lock paths may sit beside files of a cloned repository, which can commit anything at those names:
 * every file here is created O_EXCL|O_NOFOLLOW (never a file or link that was there), the lock is read
 * O_NOFOLLOW|O_NONBLOCK, and a link (dangling or not), directory or FIFO at the lock path is an error
 * at once (`lock_unsafe`, exit 2) — it is neither followed nor deleted. And whatever keeps the name
 * taken yet unreadable, the deadline holds: a waiter never spins past `timeoutMs`.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { O_NOFOLLOW } from './atomic-write.js';
import { ExitCode, OmniAuthError } from './errors.js';

/**
 * Every file this module creates (temp, lock, breaker): a new name, never a file or a link that was
 * there before (a repository may commit `<file>.omni-auth.lock` as a link to a file of the victim's).
 */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;
/** Reading a lock: never through a link, and never blocking on a FIFO someone put there. */
const READ = constants.O_RDONLY | O_NOFOLLOW | (constants.O_NONBLOCK ?? 0);

export interface LockOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** A lock whose file was not touched for this long is abandoned (default 20 s). */
  staleMs?: number;
  /** Called once, when the lock is busy and we start to wait (to tell the person why it is slow). */
  onWait?: () => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_STALE_MS = 20_000;
/** The breaker is held for a few system calls; one this old was left by a killed process. */
const BREAKER_STALE_MS = 5_000;

interface LockInfo {
  pid: number;
  hostname: string;
  created_at: string;
  token: string;
}

interface Held {
  token: string;
  handle: FileHandle;
  heartbeat: NodeJS.Timeout;
}

/**
 * Tokens of the locks this process holds. A lock with our pid and another token was left by an earlier
 * process: containers give the same small pids run after run.
 */
const heldHere = new Set<string>();

/** What a waiter sees of an existing lock; `info` is undefined for an empty one (see noHardLinks) or a foreign one. */
interface Seen {
  info: LockInfo | undefined;
  mtimeMs: number;
  /** Which file was read: a waiter deletes the lock only while the path still names this one. */
  dev: number;
  ino: number;
}

/** Runs `fn` while holding the lock `lockPath` (whose directory must exist), and releases it after. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const held = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    await release(lockPath, held);
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<Held> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const deadline = Date.now() + timeoutMs;
  let waiting = false;
  for (let attempt = 0; ; attempt++) {
    const held = await tryCreate(lockPath, staleMs);
    if (held) return held;
    const seen = await look(lockPath);
    if (!seen) {
      // Released between our attempt and our look: try again at once — but not past the deadline,
      // whatever keeps the name taken and yet unreadable.
      if (Date.now() >= deadline) throw timeoutError(lockPath, undefined, timeoutMs);
      continue;
    }
    if (isStale(seen, staleMs) && (await breakStale(lockPath, staleMs))) continue;
    if (Date.now() >= deadline) throw timeoutError(lockPath, seen.info, timeoutMs);
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    // Jittered backoff, 10 ms growing to ~100 ms, so waiters do not poll in step.
    const base = Math.min(10 * 1.5 ** attempt, 100);
    await new Promise((r) => setTimeout(r, Math.min(base * (0.5 + Math.random()), Math.max(deadline - Date.now(), 1))));
  }
}

/** On Windows a file being deleted refuses a new open with EPERM for a moment: that is contention too. */
function isBusy(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EEXIST' || (process.platform === 'win32' && code === 'EPERM');
}

async function tryCreate(lockPath: string, staleMs: number): Promise<Held | undefined> {
  const info: LockInfo = { pid: process.pid, hostname: hostname(), created_at: new Date().toISOString(), token: randomBytes(16).toString('hex') };
  const content = `${JSON.stringify(info)}\n`;
  // Known as ours before anyone can read it, or a waiter of this process would take it for a leftover.
  heldHere.add(info.token);
  let handle: FileHandle | undefined;
  try {
    handle = await createLinked(lockPath, info.token, content);
  } catch (e) {
    heldHere.delete(info.token);
    throw lockError(lockPath, e);
  }
  if (!handle) {
    heldHere.delete(info.token);
    return undefined;
  }
  // Touch through our own descriptor: if the lock was ever taken from us, we refresh our orphaned
  // file, never the new holder's.
  const heartbeat = setInterval(() => {
    const now = new Date();
    handle.utimes(now, now).catch(() => {});
  }, Math.max(Math.floor(staleMs / 4), 10));
  heartbeat.unref();
  return { token: info.token, handle, heartbeat };
}

/**
 * Creates the lock with its content in one step: a private temp file, hard-linked to the lock path.
 * Returns an open handle on it, or undefined when the lock is held.
 */
async function createLinked(lockPath: string, token: string, content: string): Promise<FileHandle | undefined> {
  const temp = `${lockPath}.${token}.tmp`;
  const handle = await open(temp, CREATE, 0o600);
  let outcome: 'linked' | 'busy' | 'no-links';
  try {
    await handle.writeFile(content);
    outcome = await link(temp, lockPath).then(
      () => 'linked' as const,
      (e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'busy' as const;
        if (noHardLinks(e)) return 'no-links' as const;
        throw e;
      },
    );
  } catch (e) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw e;
  }
  await unlink(temp).catch(() => {});
  if (outcome === 'linked') return handle;
  await handle.close().catch(() => {});
  return outcome === 'busy' ? undefined : createEmptyThenWrite(lockPath, content);
}

/**
 * Errors of a filesystem without hard links (EPERM on FAT, ENOTSUP, ENOSYS). Windows also answers
 * EPERM for a lock being deleted: the fallback's own O_EXCL open then says whether it is busy.
 */
function noHardLinks(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS';
}

/** The fallback without hard links: exclusive but briefly empty, so a kill here is recovered by age. */
async function createEmptyThenWrite(lockPath: string, content: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(lockPath, CREATE, 0o600);
  } catch (e) {
    if (isBusy(e)) return undefined;
    throw e;
  }
  try {
    await handle.writeFile(content);
  } catch (e) {
    await handle.close().catch(() => {});
    await unlink(lockPath).catch(() => {});
    throw e;
  }
  return handle;
}

/** Deletes the lock only if it is still ours: after a freeze it may have been broken and retaken. */
async function release(lockPath: string, held: Held): Promise<void> {
  clearInterval(held.heartbeat);
  // Close before deleting: on Windows an open file lingers, and blocks the next holder, until closed.
  await held.handle.close().catch(() => {});
  const seen = await look(lockPath).catch(() => undefined);
  if (seen?.info?.token === held.token) await unlink(lockPath).catch(() => {});
  heldHere.delete(held.token);
}

/**
 * Reads content and mtime through one descriptor, so both describe the same file. Something at the
 * lock path that omni-auth never makes (a symbolic link — dangling or not —, a directory, a FIFO) is
 * an error at once: waiting would not make it go away.
 */
async function look(lockPath: string): Promise<Seen | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(lockPath, READ);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // O_NOFOLLOW on a link: ELOOP (Linux, macOS), EMLINK (FreeBSD), EFTYPE (NetBSD).
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') throw unsafeLock(lockPath, 'a symbolic link');
    throw lockError(lockPath, e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unsafeLock(lockPath, st.isDirectory() ? 'a directory' : 'not a regular file');
    const text = await handle.readFile('utf8');
    return { info: parseInfo(text), mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino };
  } finally {
    await handle.close().catch(() => {});
  }
}

function parseInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    // pid must be positive: kill(0) and kill(-1) address process groups, not one process.
    if (Number.isInteger(v.pid) && (v.pid as number) > 0 && typeof v.hostname === 'string' && typeof v.token === 'string') {
      return { pid: v.pid as number, hostname: v.hostname, created_at: String(v.created_at ?? ''), token: v.token };
    }
  } catch {
    // Empty (created without hard links; its holder is between open and write, or was killed there)
    // or not ours: judged by age.
  }
  return undefined;
}

function isStale(seen: Seen, staleMs: number): boolean {
  const { info } = seen;
  if (info && info.hostname === hostname()) {
    const gone = info.pid === process.pid ? !heldHere.has(info.token) : !processExists(info.pid);
    if (gone) return true;
  }
  return Date.now() - seen.mtimeMs > staleMs;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, as another user's process.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Deletes the lock if, looked at again under the breaker, it is still stale. True when it is gone. */
async function breakStale(lockPath: string, staleMs: number): Promise<boolean> {
  const breaker = `${lockPath}.break`;
  let handle: FileHandle;
  try {
    handle = await open(breaker, CREATE, 0o600);
  } catch (e) {
    if (!isBusy(e)) return false;
    const st = await lstat(breaker).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > BREAKER_STALE_MS) await unlink(breaker).catch(() => {});
    return false;
  }
  try {
    await handle.close();
    const seen = await look(lockPath);
    if (!seen) return true;
    if (!isStale(seen, staleMs)) return false;
    // Judged after the read, so what we read may since have been released by its holder and the
    // path taken by a new one. Once its holder is judged gone, only a breaker (us) removes the file
    // we read: if the path still names it now, it is still there when we delete it.
    const now = await lstat(lockPath).catch(() => undefined);
    if (now && now.dev === seen.dev && now.ino === seen.ino) await unlink(lockPath);
    return true;
  } catch {
    // Cannot read or delete it (permissions): we keep waiting, and the timeout's hint names the file.
    return false;
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

function lockError(lockPath: string, e: unknown): OmniAuthError {
  const code = (e as NodeJS.ErrnoException).code;
  return new OmniAuthError('lock_failed', `could not use the lock file ${lockPath}: ${code ?? (e as Error).message}`, {
    cause: e,
    hint: `check that ${dirname(lockPath)} exists and is writable by this user`,
  });
}

function unsafeLock(lockPath: string, what: string): OmniAuthError {
  return new OmniAuthError('lock_unsafe', `the lock file ${lockPath} is ${what}; omni-auth's locks are regular files it creates, and it does not follow links`, {
    exitCode: ExitCode.usage,
    hint: `nothing of omni-auth's is there: remove ${lockPath} (check first where it came from — e.g. a cloned repository), then run the command again`,
    details: { lock: lockPath },
  });
}

/**
 * Exit code 1 (internal: "an unexpected local failure"), not 4: the tenant was never contacted — what
 * is stuck is another local process, or a lock file left behind, and the hint says how to clear it.
 */
function timeoutError(lockPath: string, holder: LockInfo | undefined, timeoutMs: number): OmniAuthError {
  const who = holder
    ? `it is held by process ${holder.pid} on ${holder.hostname}${holder.created_at ? ` since ${holder.created_at}` : ''}`
    : 'its holder is unknown';
  return new OmniAuthError('lock_timeout', `timed out after ${duration(timeoutMs)} waiting for the lock ${lockPath}`, {
    exitCode: ExitCode.internal,
    hint: `${who}; wait for it to finish, or, if no omni-auth process is running${holder ? ` (check: ps -p ${holder.pid})` : ''}, delete ${lockPath}`,
    details: { lock: lockPath, ...(holder ? { holder_pid: holder.pid, holder_hostname: holder.hostname } : {}) },
  });
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
