/**
 * `omni-auth exec`'s token file (issue 11 §3): the child gets `$AUTH0_TOKEN_FILE` (the name is
 * `--token-file-var`), a file holding the current access token, rewritten atomically before the token
 * expires for as long as the child runs — the pattern of Kubernetes projected service-account tokens
 * and `AWS_WEB_IDENTITY_TOKEN_FILE`. A long-running server reads the file per request and never holds
 * an expired token; `$AUTH0_TOKEN` stays for servers that read their environment once.
 *
 * Where: a directory of its own per exec, `exec-<pid>-<time>` (0700), under `$XDG_RUNTIME_DIR/omni-auth`
 * (a tmpfs only this user can enter, emptied at logout) or else `<omni-auth home>/run` (0700); the file
 * is `token` (0600, the raw token, no newline). It and its directory are removed when the child exits;
 * directories left by an exec that was killed (its pid gone) are removed by the next one, once its
 * child has started (`sweep`): every MCP server start waits for what comes before.
 */
import { readdirSync, rmdirSync, rmSync, unlinkSync, type Dirent } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { CachedToken } from '../cache/token-cache.js';
import { createFileExclusive, ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { OmniAuthError, UsageError } from '../util/errors.js';

export const DEFAULT_TOKEN_FILE_VAR = 'AUTH0_TOKEN_FILE';
export const TOKEN_FILE_NAME = 'token';

/** Never renew more often than this, whatever the token's lifetime (a clock or a tenant gone wrong). */
const MIN_DELAY_MS = 1_000;
/** After a failed renewal, try again at least this soon (and sooner when the token ends earlier). */
const RETRY_MAX_MS = 30_000;

/** The directory the per-exec directories go in. */
export function runtimeBase(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_RUNTIME_DIR?.trim();
  return xdg && isAbsolute(xdg) ? join(xdg, 'omni-auth') : join(home, 'run');
}

/**
 * How long the renewal margin is: `minTtl` seconds before expiry, but never more than 90% of the
 * token's lifetime — a token that lives 30 s under the default --min-ttl of 300 would otherwise be
 * "due" the moment it arrives, and be renewed in a loop.
 */
export function renewMarginSeconds(token: CachedToken, minTtl: number): number {
  const lifetime = Math.max(1, token.expires_at - token.obtained_at);
  return Math.max(0, Math.min(minTtl, Math.floor(lifetime * 0.9)));
}

/** Milliseconds until the token is due for renewal (at least MIN_DELAY_MS). */
export function renewDelayMs(token: CachedToken, minTtl: number, nowMs: number): number {
  const dueMs = (token.expires_at - renewMarginSeconds(token, minTtl)) * 1000;
  return Math.max(MIN_DELAY_MS, dueMs - nowMs);
}

export interface TokenFileOptions {
  env: NodeJS.ProcessEnv;
  /** omni-auth's home (the `run/` fallback). */
  home: string;
  /** The token the child starts with (also in `$AUTH0_TOKEN`). */
  token: CachedToken;
  /** Gets a token with more than `minTtl` seconds left (the broker's getToken: cache, lock, refresh, exchange). */
  renew: (minTtl: number) => Promise<CachedToken>;
  /** --min-ttl: renew this many seconds before expiry (bounded by renewMarginSeconds). */
  minTtl: number;
  /** Diagnostics for a person (stderr); never a token. */
  warn: (message: string) => void;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
  /**
   * How the first renewal's timer is set: at once (default), or handed to this (the warm exec passes
   * process.nextTick: with its synchronous fs calls that is after the child has been spawned, so the
   * first setTimeout's set-up is not on the way to the child). Never late for a renewal: none is due
   * sooner than MIN_DELAY_MS, and a file closed before then is never scheduled.
   */
  deferSchedule?: (schedule: () => void) => void;
}

export class TokenFile {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** How many times the file was rewritten with a new token (tests, diagnostics). */
  renewals = 0;

  private constructor(
    readonly dir: string,
    readonly path: string,
    private token: CachedToken,
    private readonly options: TokenFileOptions,
  ) {}

  /**
   * Creates the private directory and the file, and schedules the first renewal. Directories of execs
   * that are gone are left for `sweep`, once the child runs.
   */
  static async open(options: TokenFileOptions): Promise<TokenFile> {
    const base = runtimeBase(options.env, options.home);
    await ensureBase(base);
    const dir = await newExecDir(base, (options.now ?? Date.now)());
    const file = new TokenFile(dir, join(dir, TOKEN_FILE_NAME), options.token, options);
    try {
      // The first token: the directory is new and ours (0700), nobody can be reading the file yet — one
      // exclusive create (no temporary file, no rename). Renewals replace it atomically (write below).
      await createFileExclusive(file.path, options.token.access_token, 0o600);
    } catch (e) {
      file.close();
      throw e;
    }
    if (options.deferSchedule) options.deferSchedule(() => file.schedule());
    else file.schedule();
    return file;
  }

  /**
   * Removes the directories of execs that are gone (killed before they could clean up). Synchronous and
   * never throws: called once the child has been started (src/exec/child.ts runChild's `started`), so
   * it is done before exec can end, and no MCP server start waits for it.
   */
  sweep(): void {
    removeStale(dirname(this.dir));
  }

  /** The variable to hand the child. */
  envFor(name: string): Record<string, string> {
    return { [name]: this.path };
  }

  /** Stops renewing and removes the file and its directory. Synchronous: it runs on the way out of exit paths. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // The file and its directory, else (a stray temporary file, something the child left) all of it.
    try {
      unlinkSync(this.path);
      rmdirSync(this.dir);
    } catch {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** A renewed token, replacing the file atomically (a server may be reading it). */
  private async write(token: CachedToken): Promise<void> {
    // Not durable: the file means nothing after a crash (the next exec removes it).
    await writeFileAtomic(this.path, token.access_token, { mode: 0o600, durable: false });
  }

  private schedule(delayMs = renewDelayMs(this.token, this.options.minTtl, this.now())): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renewNow(), delayMs);
    // The child keeps exec alive; a pending renewal alone must not.
    this.timer.unref();
  }

  /** Renews when due (a cached token with enough time left is kept), rewrites the file when it changed. */
  async renewNow(): Promise<void> {
    if (this.closed) return;
    try {
      const margin = renewMarginSeconds(this.token, this.options.minTtl);
      const next = await this.options.renew(margin);
      if (this.closed) return;
      if (next.access_token !== this.token.access_token) {
        await this.write(next);
        this.renewals++;
      }
      this.token = next;
      this.schedule();
    } catch (e) {
      if (this.closed) return;
      const says = e instanceof Error ? e.message : String(e);
      const leftMs = this.token.expires_at * 1000 - this.now();
      this.options.warn(`omni-auth exec: could not renew the token file (${says}); trying again`);
      this.schedule(Math.max(MIN_DELAY_MS, Math.min(RETRY_MAX_MS, leftMs / 2)));
    }
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `exec`'s one call: checks the variable's name (`--token-file-var`, default AUTH0_TOKEN_FILE), opens
 * the file, and returns the child's extra environment and the clean-up (synchronous, for exit paths).
 */
export async function openExecTokenFile(variable: string | undefined, options: TokenFileOptions): Promise<{ env: Record<string, string>; close(): void; sweep(): void }> {
  const name = variable ?? DEFAULT_TOKEN_FILE_VAR;
  if (!ENV_NAME.test(name)) {
    throw new UsageError('invalid_env_var', `--token-file-var "${name}" is not a valid environment variable name`, {
      hint: 'use letters, digits and _ (not starting with a digit), e.g. --token-file-var MCP_TOKEN_FILE',
    });
  }
  const file = await TokenFile.open(options);
  return { env: file.envFor(name), close: () => file.close(), sweep: () => file.sweep() };
}

/**
 * ensurePrivateDir(base, { noFollow: true }), answered by one lstat when `base` is already what it
 * would leave: a directory (not a link) of this user that no one else may enter. Anything else — missing,
 * a link, another owner, open permissions — goes through ensurePrivateDir, which creates, tightens or refuses.
 */
async function ensureBase(base: string): Promise<void> {
  const st = await lstat(base).catch(() => undefined);
  const uid = process.getuid?.();
  if (st?.isDirectory() && process.platform !== 'win32' && uid !== undefined && st.uid === uid && (st.mode & 0o077) === 0) return;
  await ensurePrivateDir(base, { noFollow: true });
}

/**
 * `exec-<pid>-<ms, hex>`: no live exec has this pid, and the time tells it from a directory a dead exec
 * with the same pid left (sweep removes those); a name taken anyway is stepped past. Not random: the
 * base is this user's alone (0700), and reading the random source cost a warm exec 0.3 ms (issue 13).
 */
async function newExecDir(base: string, nowMs: number): Promise<string> {
  for (let n = 0; ; n++) {
    const dir = join(base, `exec-${process.pid}-${(nowMs + n).toString(16)}`);
    try {
      await mkdir(dir, { mode: 0o700 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && n < 16) continue;
      throw new OmniAuthError('token_file_failed', `could not create the token file's directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        cause: e,
        hint: `check that ${base} is writable by this user`,
      });
    }
  }
}

/** Removes the directories of execs that are gone (killed before they could clean up). */
function removeStale(base: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(base, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = /^exec-(\d+)-[0-9a-f]+$/.exec(entry.name);
    if (!m || !entry.isDirectory() || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    try {
      rmSync(join(base, entry.name), { recursive: true, force: true });
    } catch {
      // Another exec removing it too, or not ours to remove: the next one tries again.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
