/**
 * `omni-auth exec` keeps `$AUTH0_TOKEN_FILE` fresh (issue 11 §3). The emulator's API issues tokens
 * that live 30 s (set through the Management API); `--min-ttl 28` makes the first token due for
 * renewal a few seconds after it was issued, so a real stdio child that reads the file repeatedly sees
 * it replaced while it runs. Asserted: the contents change and each verifies against the tenant's
 * JWKS, the file is 0600 in a 0700 directory, and both are gone after exit — never how long anything
 * took. (Built CLI: `npm run build` first.)
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { ManagementClient } from '../../src/tenant/management-client.js';
import { Secret } from '../../src/util/secret.js';
import { CLI, cleanEnv, runCli, tempHome } from '../cli/run-cli.js';
import { FULL_CLI_FILE } from '../../src/warm/files.js';
import { runFile } from '../warm/run.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  const info = emu.info();
  const mc = await ManagementClient.connect({
    domain: info.domain,
    credentials: { kind: 'client', clientId: info.management.client_id, clientSecret: new Secret(info.management.client_secret) },
  });
  await mc.patch(`/resource-servers/${encodeURIComponent(info.audience)}`, { token_lifetime: 30 });
});
afterAll(async () => {
  await emu?.close();
});

async function envFor(extra: Record<string, string | undefined> = {}): Promise<{ env: NodeJS.ProcessEnv; home: string }> {
  const info = emu.info();
  const home = await tempHome();
  return {
    home,
    env: cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, XDG_RUNTIME_DIR: undefined, ...extra }),
  };
}

/**
 * A stdio server in miniature: reads the file named by `$<var>` every 50 ms until it has seen `want`
 * different tokens (or 90 s passed), then prints what it saw as JSON.
 */
const reader = (variable: string, want: number) => [process.execPath, '-e', `
  const fs = require('node:fs'), path = require('node:path');
  const file = process.env[${JSON.stringify(variable)}];
  const seen = [];
  const out = { file, env_token: process.env.AUTH0_TOKEN, seen, file_mode: fs.statSync(file).mode & 0o777, dir_mode: fs.statSync(path.dirname(file)).mode & 0o777 };
  const started = Date.now();
  const tick = () => {
    const t = fs.readFileSync(file, 'utf8');
    if (seen[seen.length - 1] !== t) seen.push(t);
    if (seen.length >= ${want} || Date.now() - started > 90000) { process.stdout.write(JSON.stringify(out)); return; }
    setTimeout(tick, 50);
  };
  tick();
`];

interface Seen {
  file: string;
  env_token: string;
  seen: string[];
  file_mode: number;
  dir_mode: number;
}

async function verifies(token: string): Promise<void> {
  const info = emu.info();
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL('/.well-known/jwks.json', info.domain)), { issuer: info.issuer, audience: info.audience });
  expect(payload.exp! - payload.iat!).toBe(30);
}

describe('exec: the token file', () => {
  it('is renewed while the child runs (each token verifies), 0600 in a 0700 directory under $XDG_RUNTIME_DIR, gone after exit', async () => {
    const runtime = mkdtempSync(join(tmpdir(), 'omni-xdg-'));
    const { env } = await envFor({ XDG_RUNTIME_DIR: runtime });
    const r = await runCli(['exec', '--min-ttl', '28', '--', ...reader('AUTH0_TOKEN_FILE', 3)], env, { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Seen;
    expect(got.seen.length).toBe(3);
    expect(new Set(got.seen).size).toBe(3);
    for (const t of got.seen) await verifies(t);
    // $AUTH0_TOKEN stays: the token the child started with, the file's first content.
    expect(got.env_token).toBe(got.seen[0]);
    expect(got.file_mode).toBe(0o600);
    expect(got.dir_mode).toBe(0o700);
    expect(dirname(dirname(got.file))).toBe(join(runtime, 'omni-auth'));
    expect(existsSync(got.file)).toBe(false);
    expect(existsSync(dirname(got.file))).toBe(false);
    // No token on stderr.
    for (const t of got.seen) expect(r.stderr).not.toContain(t.split('.')[2]);
  }, 150_000);

  it('a warm exec (a fresh cached token): the entry alone runs the child, and loads the full CLI only when the token is due', async () => {
    const { env } = await envFor();
    // A 30 s token in the cache.
    const first = await runCli(['token'], env);
    expect(first.code, first.stderr).toBe(0);
    // The entry without the full CLI beside it: it cannot hand the command off.
    const lone = mkdtempSync(join(tmpdir(), 'omni-lone-'));
    copyFileSync(CLI, join(lone, 'omni-auth.cjs'));
    const beside = join(lone, FULL_CLI_FILE);
    // The child sees that no full CLI was there (so the entry ran it), puts it there, then reads the file.
    const [node, flag, script] = reader('AUTH0_TOKEN_FILE', 3);
    const child = [node!, flag!, `
      const absent = !require('node:fs').existsSync(${JSON.stringify(beside)});
      require('node:fs').copyFileSync(${JSON.stringify(join(dirname(CLI), FULL_CLI_FILE))}, ${JSON.stringify(beside)});
      process.on('exit', () => process.stdout.write(JSON.stringify({ absent })));
      ${script!.replace('process.stdout.write(JSON.stringify(out))', 'process.stdout.write(JSON.stringify(out) + "\\n")')}
    `];
    // --min-ttl 24: the cached token (30 s) is fresh for its first 6 s, and due for renewal then.
    const r = await runFile(join(lone, 'omni-auth.cjs'), ['exec', '--min-ttl', '24', '--', ...child], env).finally(() => rmSync(lone, { recursive: true, force: true }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const [seenLine, absentLine] = r.stdout.split('\n');
    expect(JSON.parse(absentLine!)).toEqual({ absent: true });
    const got = JSON.parse(seenLine!) as Seen;
    expect(got.env_token).toBe(first.stdout.trim());
    expect(got.seen.length).toBe(3);
    expect(new Set(got.seen).size).toBe(3);
    for (const t of got.seen) await verifies(t);
    expect([got.file_mode, got.dir_mode]).toEqual([0o600, 0o700]);
    expect(existsSync(dirname(got.file))).toBe(false);
  }, 150_000);

  it('--token-file-var names the variable; without $XDG_RUNTIME_DIR the file is under the home\'s run/', async () => {
    const { env, home } = await envFor();
    const r = await runCli(['exec', '--token-file-var', 'MCP_TOKEN_FILE', '--', ...reader('MCP_TOKEN_FILE', 1)], env);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Seen;
    expect(dirname(dirname(got.file))).toBe(join(home, 'run'));
    expect(got.seen[0]).toBe(got.env_token);
    expect(existsSync(dirname(got.file))).toBe(false);
  });

  it('a child that dies of a signal: the file and its directory are removed too; a dead exec\'s directory is swept', async () => {
    const { env, home } = await envFor();
    const stale = join(home, 'run', 'exec-2147483646-0123456789ab');
    mkdirSync(stale, { recursive: true, mode: 0o700 });
    const child = [process.execPath, '-e', 'process.stdout.write(process.env.AUTH0_TOKEN_FILE); process.kill(process.pid, "SIGTERM")'];
    const r = await runCli(['exec', '--', ...child], env);
    expect(r.signal ?? r.code).toBe(r.signal ? 'SIGTERM' : 143);
    expect(r.stdout).toMatch(/token$/);
    expect(existsSync(dirname(r.stdout))).toBe(false);
    expect(existsSync(stale)).toBe(false);
  });

  it('an invalid --token-file-var is a usage error (exit 2) before anything runs', async () => {
    const { env } = await envFor();
    const r = await runCli(['exec', '--token-file-var', '1BAD', '--', process.execPath, '-e', 'process.stdout.write("ran")'], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--token-file-var');
  });
});
