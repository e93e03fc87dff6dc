/**
 * src/warm/spawn.ts: the warm exec's spawn without node:child_process gives what node:child_process's
 * `spawn(file, args, { stdio: 'inherit', env })` gives — the same events in the same order, the same
 * exit codes, signals and errors, the same environment in the child — and steps aside where the process
 * handle cannot be had quietly. Each case runs both and compares; outcomes and order only, never time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpawnedChild } from '../../src/exec/child.js';
import { processWrap, spawnInherited } from '../../src/warm/spawn.js';

type Event = ['spawn'] | ['exit', number | null, NodeJS.Signals | null] | ['error', Record<string, unknown>];

/** The events a child gives until it exits or fails, the error's own fields named. */
function events(child: SpawnedChild): Promise<Event[]> {
  const seen: Event[] = [];
  return new Promise((resolve) => {
    child.once('spawn', () => seen.push(['spawn']));
    child.once('error', (e: NodeJS.ErrnoException & { spawnargs?: string[] }) => {
      seen.push(['error', { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, spawnargs: e.spawnargs }]);
      resolve(seen);
    });
    child.once('exit', (code, signal) => {
      seen.push(['exit', code, signal]);
      resolve(seen);
    });
  });
}

const viaChildProcess = (file: string, args: string[], env: NodeJS.ProcessEnv) => spawn(file, args, { stdio: 'inherit', env });
const both = async (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  Promise.all([events(viaChildProcess(file, args, env)), events(spawnInherited(file, args, env))]);

describe('spawnInherited', () => {
  it('is the process handle here (Linux, no --pending-deprecation): the test below compares two implementations', () => {
    expect(processWrap()).toBeDefined();
  });

  it('an exit code', async () => {
    const [real, warm] = await both(process.execPath, ['-e', 'process.exit(7)']);
    expect(real).toEqual([['spawn'], ['exit', 7, null]]);
    expect(warm).toEqual(real);
  });

  it('a child that dies of a signal', async () => {
    const [real, warm] = await both(process.execPath, ['-e', 'process.kill(process.pid, "SIGTERM")']);
    expect(real).toEqual([['spawn'], ['exit', null, 'SIGTERM']]);
    expect(warm).toEqual(real);
  });

  it('a command that does not exist: the same error event, never a spawn event', async () => {
    const [real, warm] = await both('omni-auth-no-such-command', ['a', 'b']);
    expect(real).toMatchObject([['error', { code: 'ENOENT', syscall: 'spawn omni-auth-no-such-command' }]]);
    expect(warm).toEqual(real);
  });

  it('the environment the child gets: exactly the one given (PATH lookup through it, undefined values left out)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-spawn-'));
    const env = { PATH: process.env.PATH, ONE: '1', EMPTY: '', UNSET: undefined, 'WITH=EQUALS': 'x' } as NodeJS.ProcessEnv;
    const report = (out: string) => ['-e', `require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.entries(process.env)))`];
    const [real, warm] = await Promise.all([
      events(viaChildProcess('node', report(join(dir, 'real.json')), env)),
      events(spawnInherited('node', report(join(dir, 'warm.json')), env)),
    ]);
    expect(warm).toEqual(real);
    expect(readFileSync(join(dir, 'warm.json'), 'utf8')).toBe(readFileSync(join(dir, 'real.json'), 'utf8'));
  });

  it('kill: the signal reaches the child, which ends of it; kill after the end says false', async () => {
    const ready = 'process.on("SIGHUP", () => process.exit(43)); process.stdout.write(""); setInterval(() => {}, 1 << 30);';
    const run = async (start: typeof spawnInherited) => {
      const child = start(process.execPath, ['-e', ready], process.env);
      const ended = events(child);
      // The handler is in place once the child is running a while; SIGTERM is its default action either way.
      child.kill('SIGTERM');
      const seen = await ended;
      return [seen, child.kill('SIGTERM')] as const;
    };
    const [real, warm] = await Promise.all([run(viaChildProcess), run(spawnInherited)]);
    expect(real).toEqual([[['spawn'], ['exit', null, 'SIGTERM']], false]);
    expect(warm).toEqual(real);
  });

  it('steps aside on any Node line but 20, whose lib/internal/child_process.js it mirrors (another line may pass the handle other options)', () => {
    expect(processWrap({}, [], '20.20.0')).toBeDefined();
    expect(processWrap({}, [], '20.18.1')).toBeDefined();
    expect(processWrap({}, [], '22.12.0')).toBeUndefined();
    expect(processWrap({}, [], '24.0.0')).toBeUndefined();
    expect(processWrap({}, [], '19.9.0')).toBeUndefined();
  });

  it('steps aside for --pending-deprecation (process.binding would print DEP0111), in argv, NODE_OPTIONS or NODE_PENDING_DEPRECATION', () => {
    expect(processWrap({}, ['--pending-deprecation'])).toBeUndefined();
    expect(processWrap({ NODE_OPTIONS: '--max-old-space-size=100 --pending-deprecation' }, [])).toBeUndefined();
    expect(processWrap({ NODE_PENDING_DEPRECATION: '1' }, [])).toBeUndefined();
    expect(processWrap({ NODE_OPTIONS: '--no-deprecation' }, [])).toBeDefined();
  });
});
