/**
 * `exec` forwards SIGINT, SIGTERM, SIGHUP (and SIGQUIT) to its child and ends as the child did: with its
 * exit status, or of the same signal. A real child records the signal it received into a file. No clock:
 * the child says "ready" on stdout once its handlers are in place, and the test waits for exits.
 * (Built CLI: `npm run build` first.)
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI, cleanEnv, tempHome } from './run-cli.js';

let emu: Emulator;
let home: string;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
/** The status the recording child exits with for each signal: distinct, so the test sees which one. */
const STATUS: Record<(typeof SIGNALS)[number], number> = { SIGINT: 41, SIGTERM: 42, SIGHUP: 43, SIGQUIT: 44 };

/** Records the first signal into argv[1], then exits with its status. */
const RECORDER = `
const fs = require('node:fs');
const status = ${JSON.stringify(STATUS)};
for (const s of Object.keys(status)) process.on(s, () => { fs.writeFileSync(process.argv[1], s); process.exit(status[s]); });
setInterval(() => {}, 1 << 30);
process.stdout.write('ready ' + process.pid + '\\n');
`;
/** Records the signal into argv[1], then dies of it (handler removed, signal raised again). */
const DIER = `
const fs = require('node:fs');
for (const s of ${JSON.stringify(SIGNALS)}) process.once(s, () => { fs.writeFileSync(process.argv[1], s); process.kill(process.pid, s); });
setInterval(() => {}, 1 << 30);
process.stdout.write('ready ' + process.pid + '\\n');
`;

const cleanups: (() => void)[] = [];

interface Ended { code: number | null; signal: NodeJS.Signals | null; stderr: string }

/** Starts `omni-auth exec -- node -e script out`, waits for the child's "ready", sends `signal` to omni-auth (not the child). */
async function execAndSignal(script: string, out: string, signal: NodeJS.Signals): Promise<Ended> {
  const info = emu.info();
  const env = cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience });
  const cli = spawn(process.execPath, [CLI, 'exec', '--', process.execPath, '-e', script, out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let childPid: number | undefined;
  cleanups.push(() => {
    // When forwarding is broken, omni-auth may still run (the test timed out), or may have died leaving
    // the child orphaned (it recorded nothing): never leave either behind.
    const running = cli.exitCode === null && cli.signalCode === null;
    if (childPid && (running || !existsSync(out))) try { process.kill(childPid, 'SIGKILL'); } catch { /* gone already */ }
    if (running) cli.kill('SIGKILL');
  });
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'exit', not 'close': an orphaned child would keep the pipes open.
  const ended = new Promise<Ended>((resolve) => cli.once('exit', (code, sig) => resolve({ code, signal: sig, stderr })));
  await new Promise<void>((resolve, reject) => {
    cli.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^ready (\d+)\n/.exec(stdout);
      if (m) {
        childPid = Number(m[1]);
        resolve();
      }
    });
    cli.once('exit', () => reject(new Error(`omni-auth ended before the child was ready: ${stderr}`)));
  });
  expect(childPid).not.toBe(cli.pid); // the signal goes to omni-auth; only forwarding can reach the child
  cli.kill(signal);
  return ended;
}

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  home = await tempHome();
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
afterAll(async () => {
  await emu?.close();
});

describe('exec forwards signals to its child', () => {
  for (const signal of SIGNALS) {
    it(`${signal}: the child receives it, and exec exits with the child's status`, async () => {
      const out = join(home, `recorded-${signal}`);
      const r = await execAndSignal(RECORDER, out, signal);
      expect(await readFile(out, 'utf8')).toBe(signal);
      expect([r.code, r.signal], r.stderr).toEqual([STATUS[signal], null]);
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal}: a child that dies of it makes exec die of the same signal`, async () => {
      const out = join(home, `died-${signal}`);
      const r = await execAndSignal(DIER, out, signal);
      expect(await readFile(out, 'utf8')).toBe(signal);
      expect([r.code, r.signal], r.stderr).toEqual([null, signal]);
    });
  }
});
