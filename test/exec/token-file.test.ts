/**
 * TokenFile with an injected clock and token source: when renewal is due, what is written, what a
 * failed renewal leaves (the old file, a warning without the token), and where the file lives.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CachedToken } from '../../src/cache/token-cache.js';
import { renewDelayMs, renewMarginSeconds, runtimeBase, TokenFile } from '../../src/exec/token-file.js';

const NOW = 1_800_000_000;
const tok = (name: string, obtained: number, lifetime: number): CachedToken =>
  ({ access_token: `header.${name}.signature-${name}`, token_type: 'Bearer', obtained_at: obtained, expires_at: obtained + lifetime });

describe('renewal timing', () => {
  it('min-ttl before expiry, bounded by 90% of the lifetime so a short-lived token is not renewed in a loop', () => {
    expect(renewMarginSeconds(tok('a', NOW, 86_400), 300)).toBe(300);
    expect(renewMarginSeconds(tok('a', NOW, 30), 300)).toBe(27);
    expect(renewDelayMs(tok('a', NOW, 86_400), 300, NOW * 1000)).toBe((86_400 - 300) * 1000);
    expect(renewDelayMs(tok('a', NOW, 30), 300, NOW * 1000)).toBe(3_000);
    // Overdue: soon, but never a busy loop.
    expect(renewDelayMs(tok('a', NOW, 30), 300, (NOW + 60) * 1000)).toBe(1_000);
  });

  it('runtimeBase: $XDG_RUNTIME_DIR/omni-auth when absolute, else <home>/run', () => {
    expect(runtimeBase({ XDG_RUNTIME_DIR: '/run/user/1000' }, '/h')).toBe('/run/user/1000/omni-auth');
    expect(runtimeBase({ XDG_RUNTIME_DIR: 'relative' }, '/h')).toBe(join('/h', 'run'));
    expect(runtimeBase({}, '/h')).toBe(join('/h', 'run'));
  });
});

describe('TokenFile', () => {
  const open = async (renew: (minTtl: number) => Promise<CachedToken>, warnings: string[] = []) => {
    const home = mkdtempSync(join(tmpdir(), 'omni-tf-'));
    const file = await TokenFile.open({ env: {}, home, token: tok('first', NOW, 30), minTtl: 300, warn: (m) => warnings.push(m), renew, now: () => NOW * 1000 });
    return { home, file };
  };

  it('writes the token (0600, no newline) and rewrites it when renewal gives a new one, asking for the bounded margin', async () => {
    const asked: number[] = [];
    const { file } = await open(async (minTtl) => {
      asked.push(minTtl);
      return tok('second', NOW + 3, 30);
    });
    try {
      expect(readFileSync(file.path, 'utf8')).toBe('header.first.signature-first');
      expect(lstatSync(file.path).mode & 0o777).toBe(0o600);
      expect(lstatSync(file.dir).mode & 0o777).toBe(0o700);
      await file.renewNow();
      expect(asked).toEqual([27]);
      expect(readFileSync(file.path, 'utf8')).toBe('header.second.signature-second');
      expect(file.renewals).toBe(1);
    } finally {
      file.close();
    }
  });

  describe('deferSchedule (the warm exec: the first timer is set after the child is spawned)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const openDeferred = async (renewed: number[]) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const deferred: (() => void)[] = [];
      const home = mkdtempSync(join(tmpdir(), 'omni-tf-'));
      const file = await TokenFile.open({
        env: {}, home, token: tok('first', NOW, 30), minTtl: 300, warn: () => undefined, now: () => NOW * 1000,
        renew: async (minTtl) => {
          renewed.push(minTtl);
          return tok('first', NOW, 30);
        },
        deferSchedule: (schedule) => deferred.push(schedule),
      });
      return { file, deferred };
    };

    it('no renewal timer until the deferred call; then the same renewal, due at the same time', async () => {
      const renewed: number[] = [];
      const { file, deferred } = await openDeferred(renewed);
      try {
        expect(deferred).toHaveLength(1);
        expect(vi.getTimerCount()).toBe(0);
        await vi.advanceTimersByTimeAsync(10_000);
        expect(renewed).toEqual([]);
        deferred[0]!();
        expect(vi.getTimerCount()).toBe(1);
        // Due 3 s after NOW (the injected clock): 27 s margin on a 30 s token.
        await vi.advanceTimersByTimeAsync(2_999);
        expect(renewed).toEqual([]);
        await vi.advanceTimersByTimeAsync(1);
        expect(renewed).toEqual([27]);
      } finally {
        file.close();
      }
    });

    it('a file closed before the deferred call is never scheduled', async () => {
      const renewed: number[] = [];
      const { file, deferred } = await openDeferred(renewed);
      file.close();
      deferred[0]!();
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  it('a failed renewal keeps the old file and warns without the token; close() removes the directory', async () => {
    const warnings: string[] = [];
    const { file, home } = await open(async () => {
      throw new Error('tenant down');
    }, warnings);
    await file.renewNow();
    expect(readFileSync(file.path, 'utf8')).toBe('header.first.signature-first');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('tenant down');
    expect(warnings[0]).not.toContain('signature-first');
    file.close();
    expect(readdirSync(join(home, 'run'))).toEqual([]);
  });

  it('open() leaves a dead exec\'s directory for sweep() (run once the child started), which removes it and nothing else', async () => {
    const home = mkdtempSync(join(tmpdir(), 'omni-tf-'));
    const run = join(home, 'run');
    // A dead exec's (no such pid), a live one's (this very test runner's parent: alive), and a stranger.
    const dead = 'exec-2147483646-0123456789ab';
    const live = `exec-${process.ppid}-0123456789ab`;
    for (const d of [dead, live, 'not-an-exec']) mkdirSync(join(run, d), { recursive: true, mode: 0o700 });
    chmodSync(run, 0o700);
    const file = await TokenFile.open({ env: {}, home, token: tok('first', NOW, 30), minTtl: 300, warn: () => undefined, renew: async () => tok('y', NOW, 30), now: () => NOW * 1000 });
    try {
      // Nothing on the child's start path but its own directory.
      expect(readdirSync(run).sort()).toEqual([basename(file.dir), dead, live, 'not-an-exec'].sort());
      file.sweep();
      expect(readdirSync(run).sort()).toEqual([basename(file.dir), live, 'not-an-exec'].sort());
      expect(readFileSync(file.path, 'utf8')).toBe('header.first.signature-first');
    } finally {
      file.close();
    }
    expect(readdirSync(run).sort()).toEqual([live, 'not-an-exec'].sort());
  });

  it('names its directory after the pid and the time (no random bytes to read), and steps past a name a dead exec left', async () => {
    const home = mkdtempSync(join(tmpdir(), 'omni-tf-'));
    const run = join(home, 'run');
    const now = NOW * 1000;
    // A directory left by an exec that had this pid before, at this very millisecond.
    const taken = `exec-${process.pid}-${now.toString(16)}`;
    mkdirSync(join(run, taken), { recursive: true, mode: 0o700 });
    chmodSync(run, 0o700);
    const file = await TokenFile.open({ env: {}, home, token: tok('first', NOW, 30), minTtl: 300, warn: () => undefined, renew: async () => tok('y', NOW, 30), now: () => now });
    try {
      expect(basename(file.dir)).toBe(`exec-${process.pid}-${(now + 1).toString(16)}`);
      expect(readFileSync(file.path, 'utf8')).toBe('header.first.signature-first');
      expect(readdirSync(join(run, taken))).toEqual([]);
    } finally {
      file.close();
    }
  });

  it('a runtime base open to others is made 0700 before anything is written in it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'omni-tf-'));
    mkdirSync(join(home, 'run'), { mode: 0o755 });
    chmodSync(join(home, 'run'), 0o755);
    const file = await TokenFile.open({ env: {}, home, token: tok('first', NOW, 30), minTtl: 300, warn: () => undefined, renew: async () => tok('y', NOW, 30), now: () => NOW * 1000 });
    try {
      expect(lstatSync(join(home, 'run')).mode & 0o777).toBe(0o700);
      expect(lstatSync(file.path).mode & 0o777).toBe(0o600);
    } finally {
      file.close();
    }
  });

  it('refuses a runtime base that is a symbolic link', async () => {
    const home = mkdtempSync(join(tmpdir(), 'omni-tf-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'omni-elsewhere-'));
    symlinkSync(elsewhere, join(home, 'run'));
    await expect(TokenFile.open({ env: {}, home, token: tok('x', NOW, 30), minTtl: 300, warn: () => undefined, renew: async () => tok('y', NOW, 30) }))
      .rejects.toMatchObject({ code: 'unsafe_directory' });
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});
