/**
 * `exec`'s child, shared by the full CLI (src/cli/exec.ts) and the warm entry (src/warm/exec.ts), so
 * the two cannot differ: the environment the child gets (ours minus omni-auth's own secrets, plus the
 * token), stdio inherited, SIGINT/SIGTERM/SIGHUP/SIGQUIT forwarded, and the child's end passed on — its
 * exit code, or the same signal. Only node: built-ins (the warm entry imports it).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { KEY_ENV } from '../identity/key-store.js';
import { OmniAuthError } from '../util/errors.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * The variables that carry omni-auth's own secrets (every one the CLI reads: src/cli/context.ts,
 * src/cli/admin-options.ts, src/identity/key-store.ts, src/identity/client-key.ts). `AUTH0_MGMT_` is a prefix: the whole family goes.
 */
export const OWN_SECRET_VARS: readonly string[] = [KEY_ENV, 'OMNI_AUTH_CLIENT_SECRET', /* src/identity/client-key.ts CLIENT_KEY_ENV */ 'OMNI_AUTH_CLIENT_KEY'];
export const OWN_SECRET_PREFIXES: readonly string[] = ['AUTH0_MGMT_'];

/**
 * The child's environment: ours without omni-auth's secrets, plus the token in `envVar`. On Windows
 * names are case-insensitive, so the match is too.
 */
export function childEnv(env: NodeJS.ProcessEnv, envVar: string, token: string, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  const fold = (name: string): string => (platform === 'win32' ? name.toUpperCase() : name);
  const own = (name: string): boolean => {
    const n = fold(name);
    return OWN_SECRET_VARS.includes(n) || OWN_SECRET_PREFIXES.some((p) => n.startsWith(p));
  };
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (own(k) || fold(k) === fold(envVar)) continue;
    out[k] = v;
  }
  out[envVar] = token;
  return out;
}

/** The `exec_failed` error of a child that could not run (or be signalled). */
export class ChildFailed extends OmniAuthError {
  constructor(file: string, e: NodeJS.ErrnoException, readonly started: boolean) {
    super('exec_failed', `cannot run "${file}": ${e.code ?? e.message}`, {
      exitCode: e.code === 'ENOENT' ? 2 : 1,
      hint: e.code === 'ENOENT' ? 'check the command name and PATH' : undefined,
    });
  }
}

/** What runChild uses of a ChildProcess (src/warm/spawn.ts gives the same without node:child_process). */
export interface SpawnedChild {
  once(event: 'spawn', listener: () => void): this;
  once(event: 'error', listener: (e: NodeJS.ErrnoException) => void): this;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  kill(signal: NodeJS.Signals): boolean;
}
/** `spawn(file, args, { stdio: 'inherit', env })`. */
export type SpawnInherited = (file: string, args: string[], env: NodeJS.ProcessEnv) => SpawnedChild;
const spawnWithChildProcess: SpawnInherited = (file, args, env) => spawn(file, args, { stdio: 'inherit', env });

/**
 * Runs the child and resolves with exec's exit status once it ends (`done` runs first, whatever the
 * end): its exit code, or — when a signal ended it — 128 + the signal's number, after this process has
 * raised the same signal on itself. Rejects with ChildFailed when it could not be run (`started` says
 * whether it had been). `afterSpawn` runs once the child has been created and the signals are forwarded
 * (synchronously, before any event): work that need not delay the child's start. `spawnChild` is
 * node:child_process's spawn unless the warm entry passes its own (src/warm/spawn.ts).
 */
export function runChild(file: string, args: string[], env: NodeJS.ProcessEnv, done: () => void, afterSpawn?: () => void, spawnChild: SpawnInherited = spawnWithChildProcess): Promise<number> {
  const child = spawnChild(file, args, env);
  let started = false;
  child.once('spawn', () => (started = true));
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  const ended = new Promise<number>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      done();
      for (const s of FORWARDED) process.off(s, forward);
      reject(new ChildFailed(file, e, started));
    });
    child.once('exit', (code, signal) => {
      done();
      for (const s of FORWARDED) process.off(s, forward);
      if (signal) {
        // Die of the same signal, so our parent sees exactly what the child did. Any handler left for
        // it (ours are gone) would swallow it, so the default action must be back first.
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
        resolve(128 + (signalNumber(signal) ?? 1));
        return;
      }
      resolve(code ?? 1);
    });
  });
  afterSpawn?.();
  return ended;
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (constants.signals as Record<string, number>)[signal];
}
