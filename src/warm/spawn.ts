/**
 * The warm exec's `spawn(file, args, { stdio: 'inherit', env })` (issue 13), without loading
 * node:child_process. That module brings net, dgram and the streams with it (~30 modules: 2 ms of
 * every MCP server start, the largest single cost of a warm exec); a child with inherited stdio needs
 * none of them. This is what node:child_process's own `spawn` does for such a child (lib/child_process.js
 * normalizeSpawnArguments, lib/internal/child_process.js ChildProcess.spawn/kill/onexit, Node 20): the
 * same options to the same libuv process handle (process_wrap), the same events ('spawn', 'error',
 * 'exit' with the exit code or the signal's name) and the same `kill`.
 *
 * Where that handle cannot be had quietly it is node:child_process's spawn, unchanged: a Node line
 * other than 20, Windows,
 * `--pending-deprecation` (process.binding would print DEP0111), a Node without process.binding or
 * its process_wrap, a permission model that refuses it. The full CLI always uses node:child_process;
 * test/warm/equivalence.e2e.test.ts proves the two give the child the same environment and end the
 * same way (exit code, signals), and test/cli/exec-signals.e2e.test.ts forwards signals through it.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { SpawnedChild } from '../exec/child.js';

/** libuv's process handle (src/process_wrap.cc): spawn returns 0 or a negative errno; onexit(exitCode, signalName). */
interface ProcessHandle {
  pid?: number;
  onexit: (exitCode: number, signalCode: string) => void;
  spawn(options: Record<string, unknown>): number;
  kill(signal: number): number;
  close(): void;
}
type ProcessWrap = { Process: new () => ProcessHandle };

/** libuv's error numbers, read when a kill fails (node:os is not loaded before the child runs: scripts/build.mjs). */
const uvError = (name: 'ESRCH' | 'EINVAL' | 'ENOSYS'): number => -constants.errno[name];
/** The errors node:child_process reports as an 'error' event (the others it throws). */
const EMITTED = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT']);

/** The process handle's constructor, or undefined where node:child_process must do it. */
export function processWrap(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv, version: string = process.versions.node): ProcessWrap | undefined {
  // The options below are Node 20's (the line the machines run and the tests cover); the handle is
  // internal, so any other line gets node:child_process rather than a guess.
  if (process.platform === 'win32' || !version.startsWith('20.')) return undefined;
  const pending = execArgv.includes('--pending-deprecation') || /(^|\s)--pending-deprecation(\s|=|$)/.test(env.NODE_OPTIONS ?? '') || env.NODE_PENDING_DEPRECATION === '1';
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (pending || typeof binding !== 'function') return undefined;
  try {
    const wrap = binding.call(process, 'process_wrap') as ProcessWrap | undefined;
    return typeof wrap?.Process === 'function' ? wrap : undefined;
  } catch {
    return undefined;
  }
}

function errnoError(err: number, syscall: string, file: string, args: string[]): NodeJS.ErrnoException {
  const code = getSystemErrorName(err);
  const e: NodeJS.ErrnoException & { spawnargs?: string[] } = new Error(`${syscall} ${code}`);
  e.errno = err;
  e.code = code;
  e.syscall = syscall;
  e.path = file;
  e.spawnargs = args;
  return e;
}

/** `spawn(file, args, { stdio: 'inherit', env })`. */
export function spawnInherited(file: string, args: string[], env: NodeJS.ProcessEnv): SpawnedChild {
  const wrap = processWrap();
  // In the warm build, node:child_process is loaded only by this call (scripts/build.mjs).
  if (!wrap) return spawn(file, args, { stdio: 'inherit', env });
  const child = new EventEmitter() as EventEmitter & SpawnedChild;
  let handle: ProcessHandle | undefined = new wrap.Process();
  handle.onexit = (exitCode, signalCode) => {
    handle?.close();
    handle = undefined;
    if (exitCode < 0) child.emit('error', errnoError(exitCode, `spawn ${file}`, file, args));
    else child.emit('exit', signalCode ? null : exitCode, signalCode || null);
  };
  // normalizeSpawnArguments: every own and inherited key whose value is defined, in for…in order.
  const envPairs: string[] = [];
  for (const key in env) {
    const value = env[key];
    if (value !== undefined) envPairs.push(`${key}=${value}`);
  }
  const err = handle.spawn({
    file, args: [file, ...args], cwd: undefined, detached: false, envPairs,
    stdio: [0, 1, 2].map((fd) => ({ type: 'inherit', fd })), windowsHide: false, windowsVerbatimArguments: false,
  });
  if (err !== 0) {
    if (!EMITTED.has(getSystemErrorName(err))) {
      handle.close();
      handle = undefined;
      throw errnoError(err, 'spawn', file, args);
    }
    // As node:child_process: the error is an event, through the handle's onexit (which closes it).
    process.nextTick(() => handle?.onexit(err, ''));
  } else {
    process.nextTick(() => child.emit('spawn'));
  }
  child.kill = (signal: NodeJS.Signals): boolean => {
    if (!handle) return false;
    const r = handle.kill((constants.signals as Record<string, number>)[signal]!);
    if (r === 0) return true;
    // Already gone: nothing to say. What node:child_process throws, this throws; the rest is an event.
    if (r === uvError('ESRCH')) return false;
    if (r === uvError('EINVAL') || r === uvError('ENOSYS')) throw errnoError(r, 'kill', file, args);
    child.emit('error', errnoError(r, 'kill', file, args));
    return false;
  };
  return child;
}
