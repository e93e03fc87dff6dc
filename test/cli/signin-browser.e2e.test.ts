/**
 * Browser login and person-bound keys end to end (issue 10 §1–3): the built CLI in child processes, a
 * temporary OMNI_AUTH_HOME, a fake authorization server on loopback (test/signin/fake-tenant.ts; the
 * emulator's /authorize lands on branch h-p-emu), and `BROWSER` set to a script that records the URL and
 * does what a browser does. The Action side is the fake tenant's `person` policy (CONTRACTS-10 §6).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';
import { freePort, startFakeTenant, type FakeTenant } from '../signin/fake-tenant.js';
import { allStderr, allStdout, CLI, cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome, type CliResult, type RunMark } from './run-cli.js';

const FAKE_BROWSER = join(packageRoot(), 'test', 'signin', 'fake-browser.mjs');
let tenant: FakeTenant;
const secrets = new Set<string>();
let mark: RunMark;

beforeAll(async () => {
  tenant = await startFakeTenant({ policy: 'person', person: { sub: 'auth0|pat', name: 'Pat Person' } });
});
afterAll(async () => {
  await tenant?.close();
});
beforeEach(() => {
  secrets.clear();
  mark = runMark();
});
afterEach(async () => {
  await expectNoSecretOnStderr(mark, secrets);
});

interface Home {
  home: string;
  urls: string;
  port: number;
  env: (extra?: Record<string, string | undefined>) => NodeJS.ProcessEnv;
}

async function newHome(): Promise<Home> {
  const home = await tempHome('omni-signin-');
  const urls = join(home, 'browser-urls.txt');
  const port = await freePort();
  return {
    home, urls, port,
    env: (extra = {}) => cleanEnv({
      OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: tenant.domain, OMNI_AUTH_CLIENT_ID: tenant.clientId, OMNI_AUTH_AUDIENCE: tenant.audience,
      BROWSER: `${process.execPath} ${FAKE_BROWSER}`, FAKE_BROWSER_URL_FILE: urls, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, ...extra,
    }),
  };
}

const browserOpenings = async (h: Home): Promise<string[]> => (await readFile(h.urls, 'utf8').catch(() => '')).split('\n').filter(Boolean);
const bindings = async (h: Home) => JSON.parse(await readFile(join(h.home, 'bindings.json'), 'utf8')) as { version: number; bindings: Record<string, { id_token: string; salt: string; thumbprint: string; sub: string; name?: string; bound_at: number }> };
const remember = async (h: Home) => {
  for (const b of Object.values((await bindings(h).catch(() => ({ bindings: {} }))).bindings)) secrets.add(b.id_token);
};

/** The CLI with a piped stdin (paste-back); recorded like runCli's runs for the secret check. */
function runWithStdin(args: string[], env: NodeJS.ProcessEnv, onStderr: (text: string, write: (s: string) => void) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr(stderr, (s) => child.stdin.write(s));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      allStderr.push(stderr);
      allStdout.push(stdout);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('omni-auth login --browser', () => {
  it('signs in, binds the key, and every later exchange — cache deleted or corrupt — is the person\'s', async () => {
    const h = await newHome();
    const login = await runCli(['login', '--browser', '--no-write', '--callback-port', String(h.port)], h.env());
    await remember(h);
    expect(login.stderr).toContain(`${tenant.issuer}authorize?`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('Pat Person');
    expect(login.stdout).toBe('');
    expect(await browserOpenings(h)).toHaveLength(1);
    const authorize = new URL((await browserOpenings(h))[0]!);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${h.port}/callback`);

    // bindings.json: 0600, CONTRACTS-10 §4's shape, for this key.
    expect((await stat(join(h.home, 'bindings.json'))).mode & 0o777).toBe(0o600);
    const doc = await bindings(h);
    const b = doc.bindings[`${tenant.issuer}|${tenant.clientId}`]!;
    const key = JSON.parse((await runCli(['status', '--json'], h.env())).stdout) as { key: { thumbprint: string } };
    expect(b).toMatchObject({ sub: 'auth0|pat', name: 'Pat Person', thumbprint: key.key.thumbprint });
    expect(decodeJwt(b.id_token).nonce).toBe(authorize.searchParams.get('nonce'));
    expect(b.bound_at).toBe(decodeJwt(b.id_token).iat);

    // The sign-in's tokens are cached like exchanged ones.
    const token = await runCli(['token'], h.env());
    expect(token.code).toBe(0);
    expect(decodeJwt(token.stdout.trim()).sub).toBe('auth0|pat');

    // Cache gone: the exchange carries the binding, and the Action gives the person's token.
    await rm(join(h.home, 'tokens.json'));
    const before = tenant.exchanges.length;
    const afterDelete = await runCli(['token'], h.env());
    expect(afterDelete.code, afterDelete.stderr).toBe(0);
    expect(decodeJwt(afterDelete.stdout.trim()).sub).toBe('auth0|pat');
    expect(tenant.exchanges.slice(before)).toEqual([{ kid: key.key.thumbprint, binding: { id_token: b.id_token, salt: b.salt } }]);

    // Corrupt cache: the same.
    await writeFile(join(h.home, 'tokens.json'), '{ not json', { mode: 0o600 });
    const afterCorrupt = await runCli(['token'], h.env());
    expect(afterCorrupt.code, afterCorrupt.stderr).toBe(0);
    expect(decodeJwt(afterCorrupt.stdout.trim()).sub).toBe('auth0|pat');
    expect(await browserOpenings(h)).toHaveLength(1);
  });

  it('status shows who the key is bound to and until when, never the ID token; logout keeps it, logout --forget-key forgets it', async () => {
    const h = await newHome();
    expect((await runCli(['login', '--browser', '--no-write', '--callback-port', String(h.port)], h.env())).code).toBe(0);
    await remember(h);
    const b = Object.values((await bindings(h)).bindings)[0]!;
    const json = await runCli(['status', '--json'], h.env());
    const report = JSON.parse(json.stdout) as { binding: Record<string, unknown> };
    expect(report.binding).toEqual({ present: true, sub: 'auth0|pat', name: 'Pat Person', bound_at: b.bound_at, expires_at: b.bound_at + 30 * 86400, expired: false });
    expect(json.stdout).not.toContain(b.id_token);
    expect(json.stdout).not.toContain(b.salt);
    const human = await runCli(['status'], h.env());
    expect(human.stderr).toMatch(/bound to Pat Person \(auth0\|pat\), until /);

    expect((await runCli(['logout', '--keep-mcp'], h.env())).code).toBe(0);
    expect((await stat(join(h.home, 'bindings.json'))).isFile()).toBe(true);
    const stillBound = await runCli(['token'], h.env());
    expect(decodeJwt(stillBound.stdout.trim()).sub).toBe('auth0|pat');

    const forget = await runCli(['logout', '--keep-mcp', '--forget-key'], h.env());
    expect(forget.code).toBe(0);
    await expect(stat(join(h.home, 'bindings.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(JSON.parse((await runCli(['status', '--json'], h.env())).stdout).binding).toEqual({ present: false });
  });

  it('a binding made with another key is not sent: the new key is refused', async () => {
    const h = await newHome();
    expect((await runCli(['login', '--browser', '--no-write', '--callback-port', String(h.port)], h.env())).code).toBe(0);
    await remember(h);
    await rm(join(h.home, 'machine-key.json'));
    await rm(join(h.home, 'tokens.json'));
    const before = tenant.exchanges.length;
    const r = await runCli(['token'], h.env());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[binding_required]');
    expect(tenant.exchanges.slice(before).every((x) => x.binding === undefined)).toBe(true);
    expect(JSON.parse((await runCli(['status', '--json'], h.env())).stdout).binding.present).toBe(false);
  });

  it('a taken callback port is a clear error naming it (exit 2)', async () => {
    const h = await newHome();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = await runCli(['login', '--browser', '--no-write', '--callback-port', String(port)], h.env());
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
      expect(r.stderr).toContain('[callback_port_in_use]');
      expect(await browserOpenings(h)).toEqual([]);
    } finally {
      busy.close();
    }
  });
});

describe('omni-auth login --no-browser (paste-back)', () => {
  it('prints the URL, reads the address the browser ended on from stdin, and binds the key', async () => {
    const h = await newHome();
    let pasted = false;
    let code = '';
    const r = await runWithStdin(['login', '--no-browser', '--no-write', '--callback-port', String(h.port)], h.env(), (stderr, write) => {
      // A whole line: stderr may arrive in pieces.
      const m = /(http:\/\/\S+\/authorize\?\S+)\n/.exec(stderr);
      if (!m || pasted) return;
      pasted = true;
      void fetch(m[1]!, { redirect: 'manual' }).then((res) => {
        const location = res.headers.get('location')!;
        code = new URL(location).searchParams.get('code')!;
        write(`${location}\n`);
      });
    });
    if (code) secrets.add(code);
    await remember(h);
    expect(r.code, r.stderr).toBe(0);
    expect(await browserOpenings(h)).toEqual([]);
    expect(Object.values((await bindings(h)).bindings)[0]).toMatchObject({ sub: 'auth0|pat' });
  });
});

/** The CLI on a pseudo-terminal (util-linux `script`): stdin, stdout and stderr are a TTY. */
function runOnTty(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      allStderr.push(output);
      resolve({ code, output });
    });
  });
}

const hasScript = spawnSyncOk('script', ['--version']);
function spawnSyncOk(file: string, args: string[]): boolean {
  try {
    return execFileSync(file, args, { stdio: 'ignore' }) !== undefined;
  } catch {
    return false;
  }
}

describe('seamless: binding_required', () => {
  it.skipIf(!hasScript || process.platform === 'win32')('login with no flags on a terminal runs the browser sign-in and binds the key', async () => {
    const h = await newHome();
    const r = await runOnTty(['login', '--no-write', '--callback-port', String(h.port)], h.env());
    await remember(h);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('gives tokens only to people');
    expect(r.output).toContain('Pat Person');
    expect(await browserOpenings(h)).toHaveLength(1);
    expect(Object.values((await bindings(h)).bindings)[0]).toMatchObject({ sub: 'auth0|pat' });
  });

  it('login without a TTY never opens a browser: exit 3 and the hint', async () => {
    const h = await newHome();
    const r = await runCli(['login', '--no-write'], h.env());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[binding_required]');
    expect(r.stderr).toContain('omni-auth login --browser');
    expect(await browserOpenings(h)).toEqual([]);
  });

  it('exec without a TTY opens the browser sign-in once, then runs the server with the person\'s token', async () => {
    const h = await newHome();
    const r = await runCli(['exec', '--callback-port', String(h.port), '--', process.execPath, '-e',
      'process.stdout.write(JSON.parse(Buffer.from(process.env.AUTH0_TOKEN.split(".")[1], "base64url")).sub)'], h.env());
    await remember(h);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('auth0|pat');
    expect(await browserOpenings(h)).toHaveLength(1);
  });

  it('several exec started at once share one sign-in', async () => {
    const h = await newHome();
    const args = ['exec', '--callback-port', String(h.port), '--', process.execPath, '-e', 'process.stdout.write("ok")'];
    const [a, b] = await Promise.all([runCli(args, h.env()), runCli(args, h.env())]);
    await remember(h);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(await browserOpenings(h)).toHaveLength(1);
  });

  it.each([
    ['--no-browser', ['--no-browser'], {}],
    ['OMNI_AUTH_NO_BROWSER=1', [], { OMNI_AUTH_NO_BROWSER: '1' }],
  ])('exec with %s: no browser, exit 3 and the hint', async (_, flags, extra) => {
    const h = await newHome();
    const r = await runCli(['exec', ...flags, '--', process.execPath, '-e', 'process.exit(9)'], h.env(extra));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('omni-auth login --browser');
    expect(await browserOpenings(h)).toEqual([]);
  });

  it('exec where no browser can open fails at once with the hint (no wait)', async () => {
    const h = await newHome();
    const r = await runCli(['exec', '--signin-timeout', '3600', '--', process.execPath, '-e', 'process.exit(9)'], h.env({ BROWSER: '/nonexistent/browser' }));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[binding_required]');
  });
});
