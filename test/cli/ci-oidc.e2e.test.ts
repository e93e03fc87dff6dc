/**
 * Keyless CI identity end to end (issue 14 §1, "How it will be checked"): the built CLI in a child
 * process, a temporary home, GitHub's two variables pointing at the emulator's stand-in issuer. A job
 * the policy names gets a token for the policy's service user with no key anywhere on disk; a job no
 * rule matches gets exit 3; a token from an untrusted issuer (another emulator's stand-in) is refused.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome, type RunMark } from './run-cli.js';

let emu: Emulator;
let untrusted: Emulator;
let mark: RunMark;
const known = new Set<string>();

beforeAll(async () => {
  [emu, untrusted] = await Promise.all([
    startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } }),
    startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } }),
  ]);
  known.add(emu.info().ci.request_token);
  known.add(untrusted.info().ci.request_token);
});
afterAll(async () => {
  await Promise.all([emu?.close(), untrusted?.close()]);
});
beforeEach(() => {
  mark = runMark();
});
afterEach(async () => {
  await expectNoSecretOnStderr(mark, known);
});

/** A GitHub Actions job: the two variables, `extra` query parameters choosing the job's claims. */
function githubJob(home: string, query = '', issuerEmu: Emulator = emu, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const info = emu.info();
  return cleanEnv({
    OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience,
    GITHUB_ACTIONS: 'true',
    ACTIONS_ID_TOKEN_REQUEST_URL: `${issuerEmu.info().ci.request_url}${query}`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuerEmu.info().ci.request_token,
    ...extra,
  });
}

/** Every file under `dir`, recursively, with its text. */
async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, text: await readFile(path, 'utf8') });
  }
  return out;
}

describe('a GitHub Actions job the policy names', () => {
  it('gets a token for the policy\'s service user, with no key anywhere on disk and no CI token stored', async () => {
    const home = await tempHome();
    const first = await runCli(['token', '--ci', 'github'], githubJob(home));
    expect(first.code, first.stderr).toBe(0);
    const accessToken = first.stdout.trim();
    expect(decodeJwt(accessToken).sub).toBe(emu.info().ci.user);

    const files = await filesUnder(home);
    expect(files.map((f) => f.path)).not.toContain(join(home, 'machine-key.json'));
    for (const f of files) {
      expect(f.text).not.toMatch(/PRIVATE KEY|"d":/);
      expect(f.text).not.toContain(emu.info().ci.request_token);
      // No JWT of the CI issuer's (its iss is in the payload, so look for any stored JWT but the access token).
      for (const jwt of f.text.match(/[\w-]{10,}\.[\w-]{10,}\.[\w-]{16,}/g) ?? []) expect(jwt).toBe(accessToken);
    }
    const cache = JSON.parse(files.find((f) => f.path.endsWith('tokens.json'))!.text) as { entries: Record<string, { refresh_token?: string }> };
    const keys = Object.keys(cache.entries);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/\|ci=github:[\w-]+$/);
    expect(Object.values(cache.entries)[0]!.refresh_token).toBeUndefined();

    // The same job again: from the cache, still no key.
    const second = await runCli(['token', '--ci', 'github'], githubJob(home));
    expect(second.stdout.trim()).toBe(accessToken);
    expect((await filesUnder(home)).map((f) => f.path)).not.toContain(join(home, 'machine-key.json'));
  });

  it('--ci auto picks GitHub in a job that has the variables; exec hands the child the token but not the job\'s identity', async () => {
    const home = await tempHome();
    const script = 'process.stdout.write(JSON.stringify({t: process.env.AUTH0_TOKEN, r: process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? null}))';
    const res = await runCli(['exec', '--ci', 'auto', '--', process.execPath, '-e', script], githubJob(home));
    expect(res.code, res.stderr).toBe(0);
    const seen = JSON.parse(res.stdout) as { t: string; r: string | null };
    expect(decodeJwt(seen.t).sub).toBe(emu.info().ci.user);
    expect(seen.r).toBeNull();
    expect((await filesUnder(home)).map((f) => f.path)).not.toContain(join(home, 'machine-key.json'));
  });
});

describe('refusals', () => {
  it('a job whose claims match no rule gets exit 3, naming the job', async () => {
    const res = await runCli(['token', '--ci', 'github'], githubJob(await tempHome(), '&repository=acme/other'));
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('repo:acme/other:ref:refs/heads/main');
  });

  it('a token from an untrusted issuer is refused (exit 3)', async () => {
    const res = await runCli(['token', '--ci', 'github'], githubJob(await tempHome(), '', untrusted));
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/not trusted/);
  });

  it('--ci github without the variables says the job needs id-token: write (exit 2), and creates no key', async () => {
    const home = await tempHome();
    const res = await runCli(['token', '--ci', 'github'], githubJob(home, '', emu, { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined }));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('id-token: write');
    expect((await filesUnder(home)).map((f) => f.path)).not.toContain(join(home, 'machine-key.json'));
  });

  it('a wrong request token is refused by the token service (exit 3)', async () => {
    const res = await runCli(['token', '--ci', 'github'], githubJob(await tempHome(), '', emu, { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not-the-request-token' }));
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/HTTP 401/);
  });
});

describe('GitLab and auto', () => {
  it('a GitLab job\'s ID token in the variable --ci-token-env names is exchanged', async () => {
    const { ci } = emu.info();
    const minted = await fetch(`${ci.request_url}&audience=${encodeURIComponent(emu.issuer)}`, { headers: { authorization: `Bearer ${ci.request_token}` } });
    const idToken = ((await minted.json()) as { value: string }).value;
    known.add(idToken.split('.')[2]!);
    const home = await tempHome();
    const info = emu.info();
    const env = cleanEnv({
      OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience,
      GITLAB_CI: 'true', MY_ID_TOKEN: idToken,
    });
    const res = await runCli(['token', '--ci', 'auto', '--ci-token-env', 'MY_ID_TOKEN'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(decodeJwt(res.stdout.trim()).sub).toBe(emu.info().ci.user);
    for (const f of await filesUnder(home)) expect(f.text).not.toContain(idToken.split('.')[2]!);
  });

  it('--ci auto outside CI falls back to the machine key', async () => {
    const home = await tempHome();
    const info = emu.info();
    const res = await runCli(['token', '--ci', 'auto'], cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience }));
    expect(res.code, res.stderr).toBe(0);
    expect(decodeJwt(res.stdout.trim()).sub).toMatch(/^auth0\|omni-/);
    expect((await filesUnder(home)).map((f) => f.path)).toContain(join(home, 'machine-key.json'));
  });
});
