#!/usr/bin/env node
/**
 * `npm run bench`'s real-CLI herd (issue 14 §2): `n` identities (a temporary home each, so a machine
 * key each) start `omni-auth token` at once — `n` Node processes — against the built-in emulator on
 * Auth0's Essentials limit (`--plan essentials`: a tenant-wide bucket of 4, regaining 4/s), as CI jobs
 * (`CI=true`: the CI retry budget, OMNI_AUTH_RETRY_BUDGET unset). Reports the time until the last
 * exits, against the physical limit n / 4 s, the failures, and what the emulator counted: successful
 * exchanges (exactly n when no answer is thrown away) and 429s.
 *
 * The emulator stands in for Auth0, which does not share the CI runners' CPUs: it serves one exchange
 * before the herd (a tenant is warm; the emulator's first exchange compiles its Action), and it runs at
 * a higher scheduling priority when this user may set one (root or CAP_SYS_NICE) — `emulatorPriority`
 * says which. The n Node starts still share this machine's cores with it (and with whatever else runs:
 * `load1` is the 1-minute load average just before the herd).
 *
 * Alone: `node bench/herd-cli.mjs [n]` prints one JSON line. Tokens are never printed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PLAN_RATE = 4;

function startEmulator(cli) {
  const child = spawn(process.execPath, [cli, 'emulator', '--provisioned', '--plan', 'essentials'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ child, info: JSON.parse(buf.slice(0, nl)) });
    });
    child.on('exit', (c) => reject(new Error(`emulator exited ${c}`)));
  });
}

function runToken(cli, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'token'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => resolve({ code: -1, err: String(e) }));
    child.on('exit', (code) => resolve({ code, err }));
  });
}

/**
 * `warm` and `raisePriority` (both default true) are the stand-in for a tenant of its own; off, the
 * emulator is cold and competes with the herd as an equal (HERD_PLAIN=1 when run alone).
 */
export async function cliHerd({ n = 200, cli = join(root, 'dist', 'omni-auth.cjs'), warm = true, raisePriority = true } = {}) {
  const { child: emu, info } = await startEmulator(cli);
  const dir = await mkdtemp(join(tmpdir(), 'omni-bench-cli-herd-'));
  const control = (method, path) => fetch(`${info.domain}${path}`, { method, headers: { authorization: `Bearer ${info.control_token}` } });
  try {
    let emulatorPriority = 'normal';
    if (raisePriority) {
      try {
        setPriority(emu.pid, -20);
        emulatorPriority = 'raised (-20)';
      } catch {
        // Not permitted for this user: the emulator competes with the herd as an equal.
      }
    }
    const env = { ...process.env, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, CI: 'true' };
    delete env.OMNI_AUTH_RETRY_BUDGET;
    // Warm the tenant, then give the herd a full bucket.
    if (warm) {
      const first = await runToken(cli, { ...env, OMNI_AUTH_HOME: await mkdtemp(join(dir, 'warm-')) });
      if (first.code !== 0) throw new Error(`the warm-up token failed (${first.code}): ${first.err}`);
      await control('POST', '/__emulator/reset-throttle');
    }
    const before = (await (await control('GET', '/__emulator/stats')).json()).exchanges;
    const homes = await Promise.all(Array.from({ length: n }, () => mkdtemp(join(dir, 'id-'))));
    const load1 = loadavg()[0];
    const t0 = Date.now();
    const runs = await Promise.all(homes.map((home) => runToken(cli, { ...env, OMNI_AUTH_HOME: home })));
    const ms = Date.now() - t0;
    const after = (await (await control('GET', '/__emulator/stats')).json()).exchanges;
    const failed = runs.filter((r) => r.code !== 0);
    return {
      n,
      seconds: ms / 1000,
      physicalSeconds: n / PLAN_RATE,
      ratio: ms / 1000 / (n / PLAN_RATE),
      failed: failed.length,
      exitCodes: [...new Set(failed.map((r) => r.code))],
      firstFailure: failed[0]?.err.split('\n')[0]?.slice(0, 200),
      exchanges: after.ok - before.ok,
      rateLimited: after.rate_limited - before.rate_limited,
      load1: Number(load1.toFixed(2)),
      emulatorPriority,
      warm,
    };
  } finally {
    await new Promise((r) => {
      emu.once('exit', r);
      emu.kill('SIGTERM');
    });
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 200);
  const plain = process.env.HERD_PLAIN === '1';
  console.log(JSON.stringify(await cliHerd({ n, warm: !plain, raisePriority: !plain, ...(process.env.HERD_CLI ? { cli: process.env.HERD_CLI } : {}) })));
}
