import { readFileSync } from 'node:fs';
import { lstat, lutimes, mkdir, mkdtemp, readFile, readdir, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OmniAuthError } from '../../src/util/errors.js';
import { withFileLock } from '../../src/util/lock.js';
import { bundleWorker, killWorker, runWorker, startWorker, type Worker } from './fixtures/processes.js';

// link(2) stays real unless a test makes it fail like a filesystem without hard links; `unseen` makes
// a lock path taken (link: EEXIST) and yet unreadable (open: ENOENT), whatever may cause that.
// `gate` holds back a read of a lock made while its breaker exists (a look under the breaker) until
// the test lets it go, to replay an interleaving a slow machine produces at random.
const { noHardLinks, unseen, gate } = vi.hoisted(() => ({
  noHardLinks: { on: false },
  unseen: { path: '' },
  gate: { path: '', opened: undefined as undefined | (() => void), release: undefined as undefined | Promise<void> },
}));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const fail = (code: string) => Promise.reject(Object.assign(new Error(`${code}: injected`), { code }));
  const link: typeof fs.link = (from, to) =>
    to === unseen.path ? fail('EEXIST') : noHardLinks.on ? fail('EPERM') : fs.link(from, to);
  const open = (async (path: string, ...rest: unknown[]) => {
    if (path === unseen.path) return fail('ENOENT');
    const underBreaker = path === gate.path && rest[0] !== undefined && ((rest[0] as number) & fs.constants.O_CREAT) === 0 &&
      (await fs.lstat(`${path}.break`).then(() => true, () => false));
    const handle = await (fs.open as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
    if (underBreaker && gate.release) {
      const release = gate.release;
      gate.path = '';
      gate.opened?.();
      await release;
    }
    return handle;
  }) as typeof fs.open;
  return { ...fs, default: { ...fs, link, open }, link, open };
});

let script: string;
beforeAll(async () => {
  script = await bundleWorker();
});

const live: Worker[] = [];
afterEach(async () => {
  noHardLinks.on = false;
  unseen.path = '';
  gate.path = '';
  await Promise.all(live.splice(0).map(killWorker));
});

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'omni-lock-'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks that critical sections never overlapped: every "+pid" is followed by its own "-pid". */
function assertNoOverlap(log: string, sections: number): void {
  const lines = log.trim().split('\n');
  expect(lines).toHaveLength(2 * sections);
  for (let i = 0; i < lines.length; i += 2) {
    expect(lines[i]).toMatch(/^\+\d+$/);
    expect(lines[i + 1]).toBe(`-${lines[i]!.slice(1)}`);
  }
}

/** Runs `processes` workers that each increment a shared counter `times` times, all starting together. */
async function countInProcesses(dir: string, processes: number, times: number, mode?: 'nolock') {
  const lock = join(dir, 'tokens.lock');
  const counter = join(dir, 'counter');
  const log = join(dir, 'log');
  await writeFile(counter, '0');
  await writeFile(log, '');
  const startAt = String(Date.now() + 2_000);
  const args = ['count', lock, counter, log, String(times), startAt, ...(mode ? [mode] : [])];
  await Promise.all(Array.from({ length: processes }, () => runWorker(script, args)));
  return { count: Number(await readFile(counter, 'utf8')), log: await readFile(log, 'utf8') };
}

/** A pid that existed a moment ago and does not any more. */
async function deadPid(): Promise<number> {
  const w = startWorker(script, ['hold', join(await tempDir(), 'x.lock')]);
  await w.firstLine;
  const pid = w.child.pid!;
  await killWorker(w);
  return pid;
}

async function writeLock(path: string, fields: { pid: number; hostname: string }, ageMs = 0): Promise<void> {
  await writeFile(path, JSON.stringify({ ...fields, created_at: new Date().toISOString(), token: 'someone-else' }), { mode: 0o600 });
  const t = new Date(Date.now() - ageMs);
  await utimes(path, t, t);
}

describe('withFileLock across processes', () => {
  it('8 processes incrementing a counter 20 times each under the lock lose no update and never overlap', async () => {
    const dir = await tempDir();
    const { count, log } = await countInProcesses(dir, 8, 20);
    expect(count).toBe(160);
    assertNoOverlap(log, 160);
    expect(await readdir(dir)).toEqual(['counter', 'log']); // no lock, no breaker left
  }, 60_000);

  it('(control) the same processes without the lock do lose updates, so the test above can fail', async () => {
    const { count } = await countInProcesses(await tempDir(), 4, 20, 'nolock');
    expect(count).toBeLessThan(80);
  }, 60_000);

  it('recovers at once a lock whose holder was killed (same host, pid gone), long before staleMs', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    const holder = startWorker(script, ['hold', lock]);
    expect(await holder.firstLine).toBe('locked');
    await killWorker(holder);
    expect(JSON.parse(await readFile(lock, 'utf8')).pid).toBe(holder.child.pid); // it was left behind

    // Got at all: long before staleMs, which is past the timeout.
    const result = await withFileLock(lock, async () => 'got it', { staleMs: 60_000, timeoutMs: 10_000 });
    expect(result).toBe('got it');
  });

  it('times out on a lock held by a live process, with an error naming the lock and its holder', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    const holder = startWorker(script, ['hold', lock]);
    live.push(holder);
    await holder.firstLine;
    let waits = 0;
    let ran = false;
    const error = await withFileLock(lock, async () => (ran = true), { timeoutMs: 700, onWait: () => waits++ }).catch((e: unknown) => e);

    expect(ran).toBe(false);
    expect(waits).toBe(1);
    expect(error).toBeInstanceOf(OmniAuthError);
    const e = error as OmniAuthError;
    expect(e.code).toBe('lock_timeout');
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(lock);
    expect(e.hint).toContain(`process ${holder.child.pid}`);
    expect(e.hint).toContain(`delete ${lock}`);
    expect(e.details).toMatchObject({ lock, holder_pid: holder.child.pid });
  });

  it('a lock file is never seen without its content, while 2 processes take and release it in a loop', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'tokens.lock');
    await writeFile(join(dir, 'counter'), '0');
    const args = ['count', lock, join(dir, 'counter'), join(dir, 'log'), '300', String(Date.now() + 1_000)];
    const workers = [startWorker(script, args), startWorker(script, args)];
    live.push(...workers);
    let running = workers.length;
    for (const w of workers) void w.exited.then(() => running--);

    const seen = { held: 0, bad: [] as string[] };
    while (running > 0) {
      // Bursts of synchronous reads poll far faster than a timer could; the yield lets exits be noticed.
      const burstEnd = Date.now() + 20;
      while (Date.now() < burstEnd) {
        let text: string;
        try {
          text = readFileSync(lock, 'utf8');
        } catch {
          continue; // no lock at this instant
        }
        let pid: unknown;
        try {
          pid = (JSON.parse(text) as { pid?: unknown }).pid;
        } catch {
          // not JSON: counted below
        }
        if (workers.some((w) => w.child.pid === pid)) seen.held++;
        else seen.bad.push(text);
      }
      await new Promise((r) => setImmediate(r));
    }
    for (const w of workers) expect(await w.exited, w.stderr()).toBe(0);
    expect(Number(await readFile(join(dir, 'counter'), 'utf8'))).toBe(600);
    expect(seen.held).toBeGreaterThan(100); // it really watched the lock being held
    expect(seen.bad.slice(0, 3), `${seen.bad.length} reads without a holder's content`).toEqual([]);
  }, 60_000);

  it('6 processes that all find the same abandoned lock take turns: one breaks it, nobody overlaps', async () => {
    for (let round = 0; round < 2; round++) {
      const dir = await tempDir();
      await writeLock(join(dir, 'tokens.lock'), { pid: await deadPid(), hostname: hostname() });
      const { count, log } = await countInProcesses(dir, 6, 3);
      expect(count).toBe(18);
      assertNoOverlap(log, 18);
    }
  }, 60_000);
});

describe('withFileLock in one process', () => {
  it('holds a 0600 lock file with pid, hostname, created_at and token, and removes it after', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    await withFileLock(lock, async () => {
      expect((await stat(lock)).mode & 0o777).toBe(0o600);
      const info = JSON.parse(await readFile(lock, 'utf8'));
      expect(info).toMatchObject({ pid: process.pid, hostname: hostname() });
      expect(Number.isNaN(Date.parse(info.created_at))).toBe(false);
      expect(info.token).toMatch(/^[0-9a-f]{32}$/);
    });
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('releases the lock when fn throws, and rethrows', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    await expect(withFileLock(lock, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not delete a lock that is no longer its own (broken and retaken while it was frozen)', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    await withFileLock(lock, async () => {
      await writeLock(lock, { pid: process.pid, hostname: hostname() });
    });
    expect(JSON.parse(await readFile(lock, 'utf8')).token).toBe('someone-else');
  });

  it('many concurrent callers finding the same abandoned lock never overlap', async () => {
    for (let round = 0; round < 5; round++) {
      const lock = join(await tempDir(), 'tokens.lock');
      await writeLock(lock, { pid: await deadPid(), hostname: hostname() });
      let inside = 0;
      let most = 0;
      await Promise.all(Array.from({ length: 10 }, () => withFileLock(lock, async () => {
        most = Math.max(most, ++inside);
        await sleep(2);
        inside--;
      })));
      expect(most).toBe(1);
    }
  }, 30_000);

  it('a waiter that judged a lock abandoned never deletes the next holder\'s lock in its place', async () => {
    // The waiter opens the abandoned lock under the breaker; before it reads it, the lock goes away
    // (its holder released it) and another caller takes the lock. What the waiter read is abandoned
    // indeed — but the file now at the path is the new holder's, and must be left alone.
    const lock = join(await tempDir(), 'tokens.lock');
    await writeLock(lock, { pid: process.pid, hostname: hostname() }); // ours, not held: abandoned
    let go!: () => void;
    const opened = new Promise<void>((r) => (gate.opened = r));
    gate.release = new Promise<void>((r) => (go = r));
    gate.path = lock;
    const events: string[] = [];
    const waiter = withFileLock(lock, async () => { events.push('waiter in'); await sleep(5); events.push('waiter out'); });
    await opened; // the waiter holds the breaker and an open descriptor on the abandoned lock
    await unlink(lock); // as its holder would have on release
    let holderIn!: () => void;
    const inside = new Promise<void>((r) => (holderIn = r));
    const holder = withFileLock(lock, async () => {
      events.push('holder in');
      holderIn();
      await sleep(50);
      events.push('holder out');
    });
    await inside;
    go();
    await Promise.all([waiter, holder]);
    expect(events).toEqual(['holder in', 'holder out', 'waiter in', 'waiter out']);
  });

  it('takes at once a lock with our own pid that we do not hold (an earlier run in a container)', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    await writeLock(lock, { pid: process.pid, hostname: hostname() });
    await expect(withFileLock(lock, async () => 'ok', { timeoutMs: 500 })).resolves.toBe('ok');
  });

  it('breaks a lock of another host only once its mtime is older than staleMs', async () => {
    const dir = await tempDir();
    const old = join(dir, 'old.lock');
    await writeLock(old, { pid: 1, hostname: 'elsewhere.example' }, 5_000);
    await expect(withFileLock(old, async () => 'ok', { staleMs: 2_000, timeoutMs: 2_000 })).resolves.toBe('ok');

    // Fresh, and pid 1 on another host is not ours to check: it is a live lock.
    const fresh = join(dir, 'fresh.lock');
    await writeLock(fresh, { pid: 1, hostname: 'elsewhere.example' });
    await expect(withFileLock(fresh, async () => 'ok', { staleMs: 2_000, timeoutMs: 500 }))
      .rejects.toMatchObject({ code: 'lock_timeout' });
  });

  it('an empty lock file (its holder, without hard links, killed before writing it) is judged by its age', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    await writeFile(lock, '');
    await expect(withFileLock(lock, async () => 'ok', { staleMs: 2_000, timeoutMs: 300 })).rejects.toMatchObject({
      code: 'lock_timeout',
      hint: expect.stringContaining('holder is unknown'),
    });
    const t = new Date(Date.now() - 3_000);
    await utimes(lock, t, t);
    await expect(withFileLock(lock, async () => 'ok', { staleMs: 2_000, timeoutMs: 300 })).resolves.toBe('ok');
  });

  it('a long holder keeps its lock alive with the heartbeat: a waiter does not break it after staleMs', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    const events: string[] = [];
    const holder = withFileLock(lock, async () => {
      events.push('holder in');
      await sleep(1_000); // five times staleMs
      events.push('holder out');
    }, { staleMs: 200 });
    await sleep(50);
    const waiter = withFileLock(lock, async () => {
      events.push('waiter in');
    }, { staleMs: 200, timeoutMs: 5_000 });
    await Promise.all([holder, waiter]);
    expect(events).toEqual(['holder in', 'holder out', 'waiter in']);
  });

  it('removes a breaker left by a process killed while breaking, once it is old', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'tokens.lock');
    await writeLock(lock, { pid: await deadPid(), hostname: hostname() });
    await writeFile(`${lock}.break`, '');
    const t = new Date(Date.now() - 10_000);
    await utimes(`${lock}.break`, t, t);
    await expect(withFileLock(lock, async () => 'ok', { timeoutMs: 3_000 })).resolves.toBe('ok');
    expect(await readdir(dir)).toEqual([]);
  });

  it('without hard links (link fails with EPERM, as on FAT) falls back to O_EXCL: still exclusive, nothing left', async () => {
    noHardLinks.on = true;
    const dir = await tempDir();
    const lock = join(dir, 'tokens.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 10 }, () => withFileLock(lock, async () => {
      most = Math.max(most, ++inside);
      expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
      await sleep(2);
      inside--;
    })));
    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]); // no lock, no temp file
  });

  it('fails with a clear error when the lock directory does not exist', async () => {
    const lock = join(await tempDir(), 'missing', 'tokens.lock');
    await expect(withFileLock(lock, async () => 'ok')).rejects.toMatchObject({
      code: 'lock_failed',
      message: expect.stringContaining(lock),
    });
  });
});

/**
 * What a cloned repository can put at a lock path (`<file>.omni-auth.lock` sits beside the MCP config):
 * the waiter must end, with an error that says what is there, and never follow or delete it.
 */
describe('withFileLock and a hostile lock path', () => {
  /** The outcome of `p`, or 'still waiting' if it has not settled long after any timeout here. */
  const outcome = (p: Promise<unknown>) =>
    Promise.race([p.then(() => 'ran', (e: unknown) => e), sleep(20_000).then(() => 'still waiting')]);

  it('a dangling symbolic link: a clear error (lock_unsafe), not a spin at 100 % CPU forever', async () => {
    const dir = await tempDir();
    const lock = join(dir, 'mcp.json.omni-auth.lock');
    await symlink(join(dir, 'nowhere'), lock);
    let ran = false;
    const result = await outcome(withFileLock(lock, async () => (ran = true), { timeoutMs: 300 }));
    expect(result).toBeInstanceOf(OmniAuthError);
    expect(result).toMatchObject({ code: 'lock_unsafe', exitCode: 2, message: expect.stringContaining(`${lock} is a symbolic link`), hint: expect.stringContaining(`remove ${lock}`) });
    expect(ran).toBe(false);
    expect((await lstat(lock)).isSymbolicLink()).toBe(true); // not ours to delete
    expect((await readdir(dir)).sort()).toEqual(['mcp.json.omni-auth.lock']); // nothing created where it points
  });

  it('a link to a file of the victim: refused; the file is neither written nor deleted', async () => {
    const dir = await tempDir();
    const victim = join(dir, 'authorized_keys');
    await writeFile(victim, 'ssh-ed25519 AAAA victim\n');
    const old = new Date(Date.now() - 3_600_000); // "stale" by its age
    await utimes(victim, old, old);
    const lock = join(dir, 'mcp.json.omni-auth.lock');
    await symlink(victim, lock);
    const result = await outcome(withFileLock(lock, async () => 'ran', { staleMs: 1_000, timeoutMs: 300 }));
    expect(result).toMatchObject({ code: 'lock_unsafe' });
    expect(await readFile(victim, 'utf8')).toBe('ssh-ed25519 AAAA victim\n');
    expect((await lstat(lock)).isSymbolicLink()).toBe(true);
  });

  it('a directory at the lock path: lock_unsafe, naming it', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    await mkdir(lock);
    const result = await outcome(withFileLock(lock, async () => 'ran', { timeoutMs: 300 }));
    expect(result).toMatchObject({ code: 'lock_unsafe', message: expect.stringContaining(`${lock} is a directory`) });
  });

  it('a lock path taken yet never readable still ends at the deadline (lock_timeout)', async () => {
    const lock = join(await tempDir(), 'tokens.lock');
    unseen.path = lock;
    const result = await outcome(withFileLock(lock, async () => 'ran', { timeoutMs: 200 }));
    expect(result).toMatchObject({ code: 'lock_timeout', exitCode: 1, message: expect.stringContaining(lock) });
  });

  it('a link planted at the breaker name is judged by its own age (lstat) and removed, never written through', async () => {
    const dir = await tempDir();
    const victim = join(dir, 'victim');
    await writeFile(victim, 'victim');
    const lock = join(dir, 'tokens.lock');
    await symlink(victim, `${lock}.break`);
    const old = new Date(Date.now() - 60_000);
    await lutimes(`${lock}.break`, old, old);
    // A stale lock makes the waiter try the breaker (O_EXCL|O_NOFOLLOW: EEXIST); the link is old, so removed.
    await writeLock(lock, { pid: await deadPid(), hostname: hostname() });
    await expect(withFileLock(lock, async () => 'ok', { timeoutMs: 5_000 })).resolves.toBe('ok');
    expect(await readFile(victim, 'utf8')).toBe('victim');
  });
});
