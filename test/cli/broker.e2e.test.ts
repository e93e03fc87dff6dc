/**
 * The broker end to end: the built CLI in child processes, a temporary OMNI_AUTH_HOME, the emulator
 * (provisioned) over real loopback HTTP.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, exchange, managementToken } from '../emulator/helpers.js';
import { cleanEnv, expectNoSecretOnStderr, runCli, runMark, stderrSince, tempHome, type RunMark } from './run-cli.js';

let emu: Emulator;
/**
 * The secrets the current test recorded by hand (tokens read from a cache before logout removed them,
 * key material given in OMNI_AUTH_KEY); with everything the test's own runs printed or stored, none may
 * appear on those runs' stderr. Checked after each test, from that test's runs only.
 */
const secrets = new Set<string>();
let mark: RunMark;
beforeEach(() => {
  secrets.clear();
  mark = runMark();
});
afterEach(async () => {
  await expectNoSecretOnStderr(mark, secrets);
});

const stats = async () => (await fetch(`${emu.domain}/__emulator/stats`, { headers: { authorization: `Bearer ${emu.info().control_token}` } })).json() as Promise<{ requests: Record<string, number>; exchanges: { ok: number; failed: number } }>;

function envFor(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const info = emu.info();
  return cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, ...extra });
}

async function cachedTokens(home: string): Promise<Record<string, { access_token: string; refresh_token?: string; expires_at: number }>> {
  const doc = JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')) as { entries: Record<string, never> };
  for (const t of Object.values(doc.entries) as { access_token: string; refresh_token?: string; id_token?: string }[]) {
    secrets.add(t.access_token);
    if (t.refresh_token) secrets.add(t.refresh_token);
    if (t.id_token) secrets.add(t.id_token);
  }
  return doc.entries;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

/** A "tenant" that accepts connections and never answers. */
async function hangingTenant(): Promise<{ domain: string; close: () => Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer(() => undefined);
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    domain: `http://127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

describe('login → token', () => {
  it('logs in, caches, and prints exactly the token; files are private', async () => {
    const home = join(await tempHome(), 'omni');
    const login = await runCli(['login', '--no-write'], envFor(home));
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('');
    expect(login.stderr).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ as .+@.+ \(auth0\|omni-/);

    const token = await runCli(['token'], envFor(home));
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const jwt = token.stdout.trim();
    secrets.add(jwt);
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(`${emu.domain}/.well-known/jwks.json`)), {
      issuer: emu.issuer,
      audience: emu.info().audience,
    });
    expect(payload.sub).toMatch(/^auth0\|omni-/);
    expect(Object.values(await cachedTokens(home))[0]!.access_token).toBe(jwt);

    expect(await mode(home)).toBe(0o700);
    for (const f of ['machine-key.json', 'tokens.json', 'settings.json']) expect(await mode(join(home, f))).toBe(0o600);
    const key = JSON.parse(await readFile(join(home, 'machine-key.json'), 'utf8')) as { d: string };
    secrets.add(key.d);
    // Settings were saved: a later call needs no flags or environment.
    const bare = await runCli(['token'], cleanEnv({ OMNI_AUTH_HOME: home }));
    expect(bare.stdout).toBe(token.stdout);
  });

  it('answers from a warm cache without any request to the tenant', async () => {
    const home = await tempHome();
    expect((await runCli(['token'], envFor(home))).code).toBe(0);
    const before = await stats();
    const again = await runCli(['token'], envFor(home));
    expect(again.code).toBe(0);
    expect(await stats()).toEqual(before);
  });

  it('prints every format on exactly one line', async () => {
    const home = await tempHome();
    const raw = (await runCli(['token'], envFor(home))).stdout.trim();
    const expected: Record<string, (s: string) => void> = {
      json: (s) => expect(JSON.parse(s)).toEqual({ access_token: raw, token_type: 'Bearer', expires_at: decodeJwt(raw).exp }),
      header: (s) => expect(s).toBe(`Authorization: Bearer ${raw}`),
      env: (s) => expect(s).toBe(`AUTH0_TOKEN=${raw}`),
      'headers-json': (s) => expect(JSON.parse(s)).toEqual({ Authorization: `Bearer ${raw}` }),
    };
    for (const [format, check] of Object.entries(expected)) {
      const r = await runCli(['token', '--format', format], envFor(home));
      expect(r.code).toBe(0);
      expect(r.stdout.endsWith('\n') && r.stdout.indexOf('\n') === r.stdout.length - 1).toBe(true);
      check(r.stdout.trimEnd());
    }
    const bad = await runCli(['token', '--format', 'yaml'], envFor(home));
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
  });
});

describe('renewal', () => {
  it('renews with the refresh token first, and falls back to an exchange when it is refused', async () => {
    const home = await tempHome();
    const first = (await runCli(['token'], envFor(home))).stdout;
    const rt = Object.values(await cachedTokens(home))[0]!.refresh_token!;
    expect(rt).toBeTruthy();

    // A --min-ttl beyond the token's lifetime makes the cached token too short-lived.
    const before = await stats();
    const renewed = await runCli(['token', '--min-ttl', '200000'], envFor(home));
    expect(renewed.code, renewed.stderr).toBe(0);
    const after = await stats();
    expect(after.exchanges).toEqual(before.exchanges); // no exchange: the refresh grant did it
    expect(after.requests['POST /oauth/token']).toBe((before.requests['POST /oauth/token'] ?? 0) + 1);
    expect(renewed.stdout).not.toBe(first);

    // Revoke the refresh token behind the CLI's back: the next renewal must exchange again.
    const revoke = await fetch(`${emu.domain}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: emu.info().client_id, token: rt }),
    });
    expect(revoke.status).toBe(200);
    const fallback = await runCli(['token', '--min-ttl', '200000'], envFor(home));
    expect(fallback.code, fallback.stderr).toBe(0);
    expect(fallback.stderr).toMatch(/refresh token was refused/);
    expect((await stats()).exchanges.ok).toBe(after.exchanges.ok + 1);
  });
});

describe('identity', () => {
  it('OMNI_AUTH_KEY gives one stable user across empty homes and writes no key', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    secrets.add(pem.split('\n')[1]!);
    const subs: string[] = [];
    for (const _ of [1, 2]) {
      const home = await tempHome();
      const r = await runCli(['token'], envFor(home, { OMNI_AUTH_KEY: pem }));
      expect(r.code, r.stderr).toBe(0);
      subs.push(decodeJwt(r.stdout.trim()).sub!);
      await expect(stat(join(home, 'machine-key.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(subs[0]).toBe(subs[1]);
    // And a different key is a different user.
    const other = await runCli(['token'], envFor(await tempHome()));
    expect(decodeJwt(other.stdout.trim()).sub).not.toBe(subs[0]);
  });

  it('refuses a key file readable by others, naming it and the fix, without replacing it', async () => {
    const home = await tempHome();
    expect((await runCli(['token'], envFor(home))).code).toBe(0);
    const keyFile = join(home, 'machine-key.json');
    const original = await readFile(keyFile, 'utf8');
    const { chmod } = await import('node:fs/promises');
    await chmod(keyFile, 0o644);
    const r = await runCli(['token', '--min-ttl', '200000'], envFor(home, { OMNI_AUTH_SCOPE: 'openid' }));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(keyFile);
    expect(r.stderr).toContain(`chmod 600 ${keyFile}`);
    expect(await readFile(keyFile, 'utf8')).toBe(original);
  });
});

describe('the cache under pressure', () => {
  it('32 parallel cold `token` calls make exactly one exchange and print the same token', async () => {
    const home = await tempHome();
    const before = (await stats()).exchanges;
    const runs = await Promise.all(Array.from({ length: 32 }, () => runCli(['token'], envFor(home))));
    const after = (await stats()).exchanges;
    expect(runs.map((r) => r.code)).toEqual(Array(32).fill(0));
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1);
    expect(after.ok + after.failed - before.ok - before.failed).toBe(1);
  }, 120_000);

  it('recovers the lock of a process killed while it held it', async () => {
    const home = await tempHome();
    // A tenant that accepts the connection and never answers: the CLI waits inside the lock.
    const hang = await hangingTenant();
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('./run-cli.js');
    const stuck = spawn(process.execPath, [CLI, 'token'], { env: envFor(home, { OMNI_AUTH_DOMAIN: hang.domain }), stdio: 'ignore' });
    // Wait until it holds the lock (the lock file names it as holder), then kill it hard.
    await waitFor(() => readFile(join(home, 'tokens.lock'), 'utf8').then(
      (text) => { try { return (JSON.parse(text) as { pid?: number }).pid === stuck.pid; } catch { return false; } },
      () => false,
    ));
    stuck.kill('SIGKILL');
    await new Promise((r) => stuck.once('exit', r));
    await hang.close();
    // A fresh-looking lock (mtime an hour ahead): it can only be recovered because its holder is dead,
    // never by growing old; and the wait is bounded, so a CLI that does not recover it fails (exit 1).
    const inAnHour = new Date(Date.now() + 3_600_000);
    await utimes(join(home, 'tokens.lock'), inAnHour, inAnHour);

    const r = await runCli(['token'], envFor(home, { OMNI_AUTH_LOCK_TIMEOUT: '15' }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('heals a corrupt cache with a warning, and rewrites it', async () => {
    const home = await tempHome();
    expect((await runCli(['token'], envFor(home))).code).toBe(0);
    await writeFile(join(home, 'tokens.json'), '{"version": 1, "entries": {', { mode: 0o600 });
    const r = await runCli(['token'], envFor(home));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(r.stderr).toMatch(/token cache .* is not valid JSON; treating it as empty/);
    const doc = JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')) as { version: number; entries: object };
    expect(doc.version).toBe(1);
    expect(Object.keys(doc.entries)).toHaveLength(1);
    expect(await mode(join(home, 'tokens.json'))).toBe(0o600);
  });
});

describe('exit codes (README table), with nothing but the token ever on stdout', () => {
  it('2: usage or configuration', async () => {
    const missing = await runCli(['token'], cleanEnv({ OMNI_AUTH_HOME: await tempHome() }));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing settings: --domain .*--client-id.*--audience/);
    const insecure = await runCli(['token'], envFor(await tempHome(), { OMNI_AUTH_DOMAIN: 'http://tenant.example.com' }));
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toMatch(/http:\/\/ for a host that is not loopback/);
    for (const r of [missing, insecure]) expect(r.stdout).toBe('');
  });

  it('3: the tenant refused', async () => {
    const r = await runCli(['token'], envFor(await tempHome(), { OMNI_AUTH_CLIENT_ID: 'no-such-client' }));
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/invalid_client|Unknown client/);
  });

  it('4: the tenant is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as { port: number }).port;
    await new Promise((res) => closed.close(res));
    const r = await runCli(['token'], envFor(await tempHome(), { OMNI_AUTH_DOMAIN: `http://127.0.0.1:${port}` }));
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  }, 60_000);

  it('2 for a home that is a file', async () => {
    const file = join(await tempHome(), 'not-a-dir');
    await writeFile(file, '');
    const r = await runCli(['token'], envFor(file));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stdout).toBe('');
  });

  it('1: another omni-auth holds the cache lock past OMNI_AUTH_LOCK_TIMEOUT', async () => {
    const home = await tempHome();
    const hang = await hangingTenant();
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('./run-cli.js');
    const holder = spawn(process.execPath, [CLI, 'token'], { env: envFor(home, { OMNI_AUTH_DOMAIN: hang.domain }), stdio: 'ignore' });
    try {
      await waitFor(() => stat(join(home, 'tokens.lock')).then(() => true, () => false));
      const r = await runCli(['token'], envFor(home, { OMNI_AUTH_LOCK_TIMEOUT: '1' }));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(join(home, 'tokens.lock'));
      expect(r.stderr).toMatch(/hint:/);
    } finally {
      holder.kill('SIGKILL');
      await hang.close();
    }
  });

  it('5: throttled by Suspicious IP Throttling', async () => {
    const mgmt = await managementToken(emu);
    const patch = await api(emu, mgmt, 'PATCH', '/attack-protection/suspicious-ip-throttling', {
      stage: { 'pre-custom-token-exchange': { max_attempts: 1, rate: 600000 } },
    });
    expect(patch.status).toBe(200);
    try {
      const refused = await exchange(emu, 'not-a-jws');
      expect(refused.status).toBe(400);
      const r = await runCli(['token'], envFor(await tempHome()));
      expect(r.code).toBe(5);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/too_many_attempts|throttl/i);
    } finally {
      await api(emu, mgmt, 'PATCH', '/attack-protection/suspicious-ip-throttling', {
        stage: { 'pre-custom-token-exchange': { max_attempts: 10, rate: 600000 } },
      });
      await fetch(`${emu.domain}/__emulator/reset-throttle`, { method: 'POST', headers: { authorization: `Bearer ${emu.info().control_token}` } });
    }
  });
});

describe('exec', () => {
  it('passes a fresh token in the variable, and the exit code and signal back', async () => {
    const home = await tempHome();
    const token = (await runCli(['token'], envFor(home))).stdout.trim();
    const printed = await runCli(['exec', '--', process.execPath, '-e', 'process.stdout.write(process.env.AUTH0_TOKEN ?? "")'], envFor(home));
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(token);
    const named = await runCli(['exec', '--env-var', 'MCP_TOKEN', '--', process.execPath, '-e', 'process.stdout.write(String(process.env.MCP_TOKEN === process.argv[1]))', token], envFor(home));
    expect(named.stdout).toBe('true');
    const seven = await runCli(['exec', '--', process.execPath, '-e', 'process.exit(7)'], envFor(home));
    expect(seven.code).toBe(7);
    const killed = await runCli(['exec', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'], envFor(home));
    expect(killed.signal).toBe('SIGTERM');
    const missing = await runCli(['exec', '--', 'no-such-command-omni'], envFor(home));
    expect(missing.code).toBe(2);
  });
});

describe('status and logout', () => {
  it('status shows identity and expiry, never the token; logout revokes and forgets', async () => {
    const home = await tempHome();
    expect((await runCli(['login', '--no-write'], envFor(home))).code).toBe(0);
    const entries = await cachedTokens(home);
    const cached = Object.values(entries)[0]!;

    const status = await runCli(['status', '--json'], envFor(home));
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as Record<string, any>;
    expect(doc.key.thumbprint).toMatch(/^[\w-]{43}$/);
    expect(doc.settings).toMatchObject({ resolved: true, domain: emu.domain, client_id: emu.info().client_id });
    expect(doc.token).toMatchObject({ cached: true, fresh: true, expires_at: cached.expires_at, refreshable: true });
    expect(status.stdout).not.toContain(cached.access_token);
    expect(status.stdout).not.toContain(cached.refresh_token!);
    const human = await runCli(['status'], envFor(home));
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(doc.key.thumbprint);

    const before = await stats();
    const out = await runCli(['logout', '--forget-key'], envFor(home));
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/removed 1 cached token, revoked 1 refresh token/);
    expect((await stats()).requests['POST /oauth/revoke']).toBe((before.requests['POST /oauth/revoke'] ?? 0) + 1);
    expect(Object.keys(JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')).entries)).toHaveLength(0);
    await expect(stat(join(home, 'machine-key.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    // The refresh token is dead at the tenant.
    const refresh = await fetch(`${emu.domain}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: emu.info().client_id, refresh_token: cached.refresh_token! }),
    });
    expect(refresh.status).toBe(403);
  });
});

describe('secrets', () => {
  it('no token or key material reaches stderr, along every path that handles them (self-contained)', async () => {
    // Its own home and runs: login, every token format, a renewal by refresh token, exec, status,
    // failures, logout; then OMNI_AUTH_KEY and a client secret in another home.
    const home = await tempHome();
    const env = envFor(home);
    const expectOk = async (args: string[], e = env) => {
      const r = await runCli(args, e);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    await expectOk(['login', '--no-write']);
    for (const format of ['raw', 'json', 'header', 'env', 'headers-json']) await expectOk(['token', '--format', format]);
    await expectOk(['token', '--min-ttl', '200000']); // renewed with the refresh token
    await expectOk(['exec', '--', process.execPath, '-e', 'process.stdout.write(process.env.AUTH0_TOKEN)']);
    await expectOk(['status']);
    await expectOk(['status', '--json']);
    expect((await runCli(['token', '--client-id', 'no-such-client', '--min-ttl', '200000'], env)).code).toBe(3);
    expect((await runCli(['token', '--format', 'yaml'], env)).code).toBe(2);
    // What the cache and the key file hold, before logout removes them.
    const cached = Object.values(await cachedTokens(home));
    expect(cached.length).toBeGreaterThan(0);
    expect(cached.every((t) => t.refresh_token)).toBe(true);
    secrets.add((JSON.parse(await readFile(join(home, 'machine-key.json'), 'utf8')) as { d: string }).d);
    await expectOk(['logout', '--forget-key']);

    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const line of pem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'))) secrets.add(line);
    const clientSecret = 'a-client-secret-the-tenant-ignores-0123456789';
    secrets.add(clientSecret);
    const keyEnv = envFor(await tempHome(), { OMNI_AUTH_KEY: pem, OMNI_AUTH_CLIENT_SECRET: clientSecret });
    await expectOk(['token'], keyEnv);
    await expectOk(['status'], keyEnv);
    expect((await runCli(['token', '--audience', 'https://unknown.example/api', '--min-ttl', '200000'], keyEnv)).code).not.toBe(0);
    await expectOk(['logout'], keyEnv);

    const stderr = stderrSince(mark).join('\n');
    expect(stderr).toMatch(/Logged in to/); // stderr was written to: the check below is not vacuous
    // At least: three distinct access tokens (login, the renewal, OMNI_AUTH_KEY's), a refresh token,
    // the key file's d, the PEM's three body lines, the client secret.
    expect(await expectNoSecretOnStderr(mark, secrets)).toBeGreaterThanOrEqual(9);
  });
});
