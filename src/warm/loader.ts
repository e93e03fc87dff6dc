/**
 * The first lines of dist/omni-auth.cjs (issue 13). The warm entry's code (src/warm/main.ts, built by
 * scripts/build.mjs) follows in the same file inside a comment, so Node's own loader only scans past
 * it; this loader compiles it with V8's code cache, which holds the bytecode of every function a warm
 * run calls. Parsing and compiling them took a third of a warm run's own CPU time.
 *
 * The cache lives beside the entry, in `.code-cache/` (0700, this user's, never through a link), one
 * file per build, Node, platform, V8 flags and command (`token` or `exec`: each run's set of
 * functions). A missing, foreign or rejected cache (V8 checks its version, flags and the source's length) only
 * means compiling as Node would; when a warm run has answered (src/warm/code-cache.ts), it writes a
 * new one at exit, atomically. Nothing here may throw: the code runs whatever the cache's state.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { Script } from 'node:vm';

declare const __WARM_AT__: string;
declare const __WARM_ID__: string;
/** What src/warm/code-cache.ts calls once the warm entry has answered. */
const HOOK = Symbol.for('omni-auth.code-cache');
const TAIL = '\n*/\n';

// utf8 (the file is ASCII, checked by the build): Node reads it natively; latin1 took 0.5 ms more.
const self = readFileSync(__filename, 'utf8');
const at = Number(__WARM_AT__);
const source = self.slice(at, self.length - TAIL.length);
const dir = `${__dirname}/.code-cache`;
const file = `${dir}/${__WARM_ID__}-${process.version}-${process.platform}-${process.arch}-${flagsKey()}-${process.argv.includes('exec') ? 'exec' : 'token'}.v8`;

let cachedData: Buffer | undefined;
const usable = privateDir(lstatQuiet(dir));
if (usable) {
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      cachedData = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // No cache yet.
  }
}
// No lineOffset: with one, V8 kept 4 MiB more after taking the cache. Stack frames in this code count lines from the comment's first.
const script = new Script(source, { filename: __filename, cachedData });
if (cachedData === undefined || script.cachedDataRejected === true) {
  (globalThis as Record<symbol, unknown>)[HOOK] = () => process.once('exit', save);
}
(script.runInThisContext() as (e: unknown, r: NodeRequire, m: NodeModule, f: string, d: string) => void)(exports, require, module, __filename, __dirname);

/** V8 rejects a cache made under other flags; a key per set of flags keeps two sets from overwriting each other's. */
function flagsKey(): string {
  const flags = `${process.execArgv.join(' ')}\n${process.env.NODE_OPTIONS ?? ''}`;
  let h = 5381;
  for (let i = 0; i < flags.length; i++) h = ((h * 33) ^ flags.charCodeAt(i)) >>> 0;
  return flags === '\n' ? '0' : h.toString(36);
}

function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** A real directory of this user that nobody else can write into: the cache is code. */
function privateDir(st: Stats | undefined): boolean {
  if (!st?.isDirectory() || (st.mode & 0o077) !== 0) return false;
  return process.getuid === undefined || st.uid === process.getuid();
}

/** The cache of this run's functions, written beside the others through a new temporary file and a rename. */
function save(): void {
  let tmp: string | undefined;
  try {
    if (!lstatQuiet(dir)) mkdirSync(dir, { mode: 0o700 });
    if (!privateDir(lstatQuiet(dir))) return;
    // Caches of other builds are dead weight.
    const prefix = `${__WARM_ID__}-`;
    for (const name of readdirSync(dir)) if (!name.startsWith(prefix)) unlinkQuiet(`${dir}/${name}`);
    const data = script.createCachedData();
    tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for (let done = 0; done < data.length;) done += writeSync(fd, data, done);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    tmp = undefined;
  } catch {
    // A cache is an optimisation: without one the next run compiles as Node would.
  } finally {
    if (tmp !== undefined) unlinkQuiet(tmp);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or not ours to remove.
  }
}
