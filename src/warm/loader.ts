/**
 * The first lines of dist/omni-auth.cjs (issue 13). The warm entry's code (src/warm/main.ts, built by
 * scripts/build.mjs) follows in the same file inside a comment, so Node's own loader only scans past
 * it; this loader compiles it with V8's code cache, which holds the bytecode of every function a warm
 * run calls. Parsing and compiling them took a third of a warm run's own CPU time.
 *
 * The cache lives beside the entry, in `.code-cache/`: a directory of this user's that nobody else may
 * write into, never through a link, holding files of this user's that nobody else may write, with one
 * link each — the cache is code. One file per build, state of this very file (inode, size, change
 * time: an edit in place never meets an old cache), Node, platform, V8 flags and command (`token` or
 * `exec`: each run's set of functions). A missing, foreign or rejected cache (V8 checks its version,
 * flags and the source's length) only means compiling as Node would. When a warm run has answered
 * (src/warm/code-cache.ts) it writes a new one: fsynced, through an exclusive temporary file and a
 * rename. V8 does not checksum a cache it accepts, so `OMNI_AUTH_CODE_CACHE=0` turns all of it off.
 * Not on Windows, where no directory mode says "this user's only".
 */
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { Script } from 'node:vm';

declare const __WARM_AT__: string;
declare const __WARM_LINE__: string;
declare const __WARM_ID__: string;
/** What src/warm/code-cache.ts calls once the warm entry has answered (`soon`: now, not only at exit). */
const HOOK = Symbol.for('omni-auth.code-cache');
/** How the code starts and ends (scripts/build.mjs withCodeCacheLoader). */
const HEAD = '/*\n(function (exports, require, module, __filename, __dirname) {';
const TAIL = '\n})\n*/\n';

const fd = openSync(__filename, 'r');
let entry: Stats;
let self: string;
try {
  entry = fstatSync(fd);
  // utf8 (the file is ASCII, checked by the build): Node reads it natively; latin1 took 0.5 ms more.
  self = readFileSync(fd, 'utf8');
} finally {
  closeSync(fd);
}
const at = Number(__WARM_AT__);
const intact = self.startsWith(HEAD, at - 3) && self.endsWith(TAIL);
const source = intact ? self.slice(at, self.length - 4) : located(self);
const useCache = intact && process.platform !== 'win32' && process.env.OMNI_AUTH_CODE_CACHE !== '0';
const dir = `${__dirname}/.code-cache`;
const prefix = `${__WARM_ID__}-${hash(`${entry.ino}:${entry.size}:${entry.ctimeMs}`)}-`;
const file = `${dir}/${prefix}${process.version}-${process.platform}-${process.arch}-${flagsKey()}-${process.argv.includes('exec') ? 'exec' : 'token'}.v8`;

const cachedData = useCache && privateDir(lstatQuiet(dir)) ? readCache() : undefined;
// lineOffset: stack frames in this code name the file's own lines.
const script = new Script(source, { filename: __filename, lineOffset: intact ? Number(__WARM_LINE__) : 0, cachedData });
if (useCache && (cachedData === undefined || script.cachedDataRejected === true)) {
  (globalThis as Record<symbol, unknown>)[HOOK] = (soon: boolean) => {
    // A warm exec's child may run for hours, or end it by a signal (no 'exit' event): save once it has
    // started, and again at a normal exit with the functions that ran since.
    if (soon) setImmediate(save);
    process.once('exit', save);
  };
}
(script.runInThisContext() as (e: unknown, r: NodeRequire, m: NodeModule, f: string, d: string) => void)(exports, require, module, __filename, __dirname);

/**
 * The code of a file that is not as built — line ends rewritten (CRLF), lines added to the loader:
 * from the code's first line to the comment's end, run without a cache.
 */
function located(text: string): string {
  const start = text.lastIndexOf(HEAD.slice(3));
  const end = text.lastIndexOf('*/');
  if (start < 0 || end < start) throw new Error(`${__filename} is damaged: reinstall omni-auth`);
  return text.slice(start, end);
}

function hash(text: string): string {
  let h = 5381;
  for (let i = 0; i < text.length; i++) h = ((h * 33) ^ text.charCodeAt(i)) >>> 0;
  return h.toString(36);
}

/** V8 rejects a cache made under other flags; a key per set of flags keeps two sets from overwriting each other's. */
function flagsKey(): string {
  const flags = `${process.execArgv.join(' ')}\n${process.env.NODE_OPTIONS ?? ''}`;
  return flags === '\n' ? '0' : hash(flags);
}

function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function mine(st: Stats): boolean {
  return process.getuid === undefined || st.uid === process.getuid();
}

/** A real directory of this user that nobody else can enter or write into. */
function privateDir(st: Stats | undefined): boolean {
  return st !== undefined && st.isDirectory() && (st.mode & 0o077) === 0 && mine(st);
}

/** The cache file's bytes, when it is a regular file of this user's, writable by nobody else, with one link. */
function readCache(): Buffer | undefined {
  let cacheFd: number | undefined;
  try {
    cacheFd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(cacheFd);
    if (!st.isFile() || !mine(st) || (st.mode & 0o022) !== 0 || st.nlink !== 1) return undefined;
    return readFileSync(cacheFd);
  } catch {
    return undefined; // No cache yet.
  } finally {
    if (cacheFd !== undefined) closeSync(cacheFd);
  }
}

/** The cache of the functions run so far, written beside the others through a new temporary file and a rename. */
function save(): void {
  let tmp: string | undefined;
  try {
    if (!lstatQuiet(dir)) mkdirSync(dir, { mode: 0o700 });
    if (!privateDir(lstatQuiet(dir))) return;
    for (const name of readdirSync(dir)) if (stale(name)) unlinkQuiet(`${dir}/${name}`);
    const data = script.createCachedData();
    const path = `${file}.${process.pid}.tmp`;
    const out = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    tmp = path;
    try {
      for (let done = 0; done < data.length;) done += writeSync(out, data, done);
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    renameSync(tmp, file);
    tmp = undefined;
  } catch {
    // A cache is an optimisation: without one the next run compiles as Node would.
  } finally {
    if (tmp !== undefined) unlinkQuiet(tmp);
  }
}

/** Caches of other builds or other states of this file, and temporary files of processes that are gone. */
function stale(name: string): boolean {
  const tmp = /\.(\d+)\.tmp$/.exec(name);
  if (!tmp) return !name.startsWith(prefix);
  try {
    process.kill(Number(tmp[1]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or not ours to remove.
  }
}
