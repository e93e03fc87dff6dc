/** Review fixes of the broker, end to end: identity-bound cache entries, healing, key file edge cases, logout on a fresh machine. */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome, type RunMark } from './run-cli.js';

let emu: Emulator;
const stats = async () => (await fetch(`${emu.domain}/__emulator/stats`, { headers: { authorization: `Bearer ${emu.info().control_token}` } })).json() as Promise<{ requests: Record<string, number>; exchanges: { ok: number; failed: number } }>;
/** The keys a test gave in OMNI_AUTH_KEY: with what its runs printed and stored, none may reach their stderr. */
const givenKeys = new Set<string>();
const pem = () => {
  const text = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  for (const line of text.split('\n')) if (line && !line.startsWith('-----')) givenKeys.add(line);
  return text;
};
let mark: RunMark;
beforeEach(() => {
  givenKeys.clear();
  mark = runMark();
});
afterEach(async () => {
  await expectNoSecretOnStderr(mark, givenKeys);
});

function envFor(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const info = emu.info();
  return cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, ...extra });
}

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

describe('a cached token belongs to the key that got it', () => {
  it('a different OMNI_AUTH_KEY on a warm home gets its own user, not the cached one (nor its refresh token)', async () => {
    const home = await tempHome();
    const first = await runCli(['token'], envFor(home, { OMNI_AUTH_KEY: pem() }));
    expect(first.code, first.stderr).toBe(0);
    const before = await stats();
    const second = await runCli(['token'], envFor(home, { OMNI_AUTH_KEY: pem() }));
    expect(second.code, second.stderr).toBe(0);
    expect(decodeJwt(second.stdout.trim()).sub).not.toBe(decodeJwt(first.stdout.trim()).sub);
    expect((await stats()).exchanges.ok).toBe(before.exchanges.ok + 1);
    const status = JSON.parse((await runCli(['status', '--json'], envFor(home, { OMNI_AUTH_KEY: pem() }))).stdout) as { token: { subject: string } };
    expect(status.token.subject).toBe(decodeJwt(second.stdout.trim()).sub);
  });
});

describe('healing the cache', () => {
  it('drops a malformed entry once, with one warning, and keeps the good one', async () => {
    const home = await tempHome();
    const good = await runCli(['token'], envFor(home));
    const file = join(home, 'tokens.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { version: number; entries: Record<string, unknown> };
    doc.entries['not a key'] = { access_token: 42 };
    await writeFile(file, JSON.stringify(doc), { mode: 0o600 });
    const before = await stats();
    const warned = await runCli(['token'], envFor(home));
    expect(warned.code).toBe(0);
    expect(warned.stdout).toBe(good.stdout);
    expect(warned.stderr).toMatch(/ignored 1 malformed entry/);
    const quiet = await runCli(['token'], envFor(home));
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe(good.stdout);
    expect((await stats()).exchanges).toEqual(before.exchanges);
    expect(Object.keys((JSON.parse(await readFile(file, 'utf8')) as typeof doc).entries)).toHaveLength(1);
  });
});

describe('key file edge cases', () => {
  it('a dangling symlink at the key path is an error naming it, not a new unsaved identity every run', async () => {
    const home = await tempHome();
    const keyFile = join(home, 'machine-key.json');
    await symlink(join(home, 'nowhere.json'), keyFile);
    for (const _ of [1, 2]) {
      const r = await runCli(['token'], envFor(home));
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(keyFile);
      expect(r.stderr).toMatch(/hint:/);
    }
    await expect(stat(join(home, 'nowhere.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('logout', () => {
  it('on a machine that never logged in: nothing to do, exit 0', async () => {
    const home = join(await tempHome(), 'never-used');
    const r = await runCli(['logout', '--keep-mcp'], cleanEnv({ OMNI_AUTH_HOME: home }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed 0 cached tokens/);
  });

  it('--forget-key says so when the key comes from OMNI_AUTH_KEY, and keeps the key file', async () => {
    const home = await tempHome();
    expect((await runCli(['token'], envFor(home))).code).toBe(0);
    const r = await runCli(['logout', '--keep-mcp', '--forget-key'], envFor(home, { OMNI_AUTH_KEY: pem() }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/comes from OMNI_AUTH_KEY/);
    expect((await stat(join(home, 'machine-key.json'))).isFile()).toBe(true);
  });
});
