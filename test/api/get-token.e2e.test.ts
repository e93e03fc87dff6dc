/**
 * `import { getToken } from 'omni-auth'` from a Node ES module of a consumer project (the package by
 * name: package.json `exports` → dist/index.js), against the provisioned emulator over loopback: the
 * same subject as `omni-auth token` + `status --json`, the same cache (a token one of them got, the
 * other serves without an exchange), the same lock (parallel callers of both kinds share ONE
 * exchange), the same settings resolution (options over the environment over the saved settings),
 * and typed errors with the CLI's codes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cli, exchangeCount, run, tempHome, type CliRun, type TempHome } from '../tenant/helpers.js';
import { consumerProject, LIBRARY, type Consumer } from './helpers.js';

/** The consumer's script: getToken(options from argv) → one JSON line; never the token itself. */
const SCRIPT = `
import { createHash } from 'node:crypto';
import { getToken, isOmniAuthError, OmniAuthError, ExitCode } from 'omni-auth';
const options = JSON.parse(process.argv[2] ?? '{}');
try {
  const t = await getToken(options);
  console.log(JSON.stringify({
    ok: true, keys: Object.keys(t).sort(), subject: t.subject, expiresAt: t.expiresAt,
    sha256: createHash('sha256').update(t.accessToken).digest('hex'),
  }));
} catch (e) {
  console.log(JSON.stringify({
    ok: false, guard: isOmniAuthError(e), instance: e instanceof OmniAuthError, name: e.name,
    code: e.code, exitCode: e.exitCode, hint: e.hint, refusedIs3: ExitCode.refused === 3,
  }));
}
`;

let emu: Emulator;
let consumer: Consumer;
let script: string;
const homes: TempHome[] = [];

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  consumer = await consumerProject();
  script = await consumer.write('get-token.mjs', SCRIPT);
});
afterAll(async () => {
  await emu?.close();
  await consumer?.cleanup();
  for (const h of homes) await h.cleanup();
});

async function freshHome(): Promise<TempHome> {
  const h = await tempHome();
  homes.push(h);
  return h;
}

const settingsEnv = (): Record<string, string> => ({
  OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: emu.info().client_id, OMNI_AUTH_AUDIENCE: emu.info().audience,
});
const settingsOptions = () => ({ domain: emu.domain, clientId: emu.info().client_id, audience: emu.info().audience });

type LibraryAnswer = { ok: true; keys: string[]; subject?: string; expiresAt: number; sha256: string }
  | { ok: false; guard: boolean; instance: boolean; name: string; code: string; exitCode: number; hint?: string; refusedIs3: boolean };

/** Runs the consumer's script with node, from the consumer's directory, with only PATH and `env`. */
async function library(options: Record<string, unknown>, env: Record<string, string> = {}): Promise<LibraryAnswer & { run: CliRun }> {
  const r = await run(process.execPath, [script, JSON.stringify(options)], { PATH: process.env.PATH ?? '', HOME: consumer.dir, ...env }, consumer.dir);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines, r.stdout).toHaveLength(1);
  return { ...(JSON.parse(lines[0]!) as LibraryAnswer), run: r };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const subOf = (jwt: string): string => (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }).sub;

async function cliToken(home: TempHome, env: Record<string, string> = settingsEnv()): Promise<string> {
  const r = await cli(['token'], { OMNI_AUTH_HOME: home.files.home, ...env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function statusSubject(home: TempHome): Promise<string | undefined> {
  const r = await cli(['status', '--json'], { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { token: { subject?: string } }).token.subject;
}

describe('getToken() from a consumer project (the package by name)', () => {
  it('resolves to the built library, not the sources', async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('omni-auth'))"], { PATH: process.env.PATH ?? '' }, consumer.dir);
    expect(r.code, r.stderr).toBe(0);
    // Through the symlink: the same file as this package's dist/index.js.
    expect(r.stdout.trim()).toMatch(/\/dist\/index\.js$/);
    expect(await readFile(new URL(r.stdout.trim()), 'utf8')).toBe(await readFile(LIBRARY, 'utf8'));
  });

  it('after `omni-auth token`: the same token from the same cache (no exchange), for the subject `status --json` reports', async () => {
    const home = await freshHome();
    const token = await cliToken(home);
    const subject = await statusSubject(home);
    expect(subject).toBe(subOf(token));
    const before = await exchangeCount(emu);

    // Settings and home given as options; the environment has none of them.
    const got = await library({ ...settingsOptions(), home: home.files.home });
    expect(got).toMatchObject({ ok: true, keys: ['accessToken', 'expiresAt', 'subject'], subject, sha256: sha256(token) });
    expect(await exchangeCount(emu)).toBe(before);
    // No token on any of its output.
    expect(got.run.stdout + got.run.stderr).not.toContain(token);
  });

  it('in an empty home: exchanges and caches; then `omni-auth token` serves that token from the cache and `status` names the same subject', async () => {
    const home = await freshHome();
    const before = await exchangeCount(emu);
    // Everything from the environment this time, as the CLI reads it.
    const got = await library({}, { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() });
    expect(got.ok, JSON.stringify(got)).toBe(true);
    if (!got.ok) return;
    expect(await exchangeCount(emu)).toBe(before + 1);
    expect(got.subject).toMatch(/^auth0\|omni-/);
    const token = await cliToken(home);
    expect(sha256(token)).toBe(got.sha256);
    expect(await exchangeCount(emu)).toBe(before + 1);
    expect(await statusSubject(home)).toBe(got.subject);
    expect(got.expiresAt).toBe(JSON.parse((await cli(['token', '--format', 'json'], { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() })).stdout).expires_at);
  });

  it('options override the environment, which overrides the saved settings (the CLI\'s order)', async () => {
    const home = await freshHome();
    // `login` saves the settings in the home.
    const login = await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() });
    expect(login.code, login.stderr).toBe(0);
    const saved = await library({}, { OMNI_AUTH_HOME: home.files.home });
    expect(saved, 'the saved settings alone').toMatchObject({ ok: true });
    // The environment's audience wins over the saved one (and the tenant refuses it) …
    const env = { OMNI_AUTH_HOME: home.files.home, OMNI_AUTH_AUDIENCE: 'https://wrong.example.com' };
    expect(await library({}, env)).toMatchObject({ ok: false, guard: true });
    // … and the option wins over the environment.
    const right = await library({ audience: emu.info().audience }, env);
    expect(right, JSON.stringify(right)).toMatchObject({ ok: true, sha256: (saved as { sha256: string }).sha256 });
  });

  it('profile: the option as --profile, over OMNI_AUTH_PROFILE (issue 14 §3)', async () => {
    const home = await freshHome();
    // Only the profile "work" is saved: the default profile has no settings.
    const login = await cli(['login', '--no-write', '--profile', 'work'], { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() });
    expect(login.code, login.stderr).toBe(0);
    const viaCli = await cli(['token', '--profile', 'work'], { OMNI_AUTH_HOME: home.files.home });
    expect(viaCli.code, viaCli.stderr).toBe(0);
    expect(await library({ profile: 'work' }, { OMNI_AUTH_HOME: home.files.home })).toMatchObject({ ok: true, sha256: sha256(viaCli.stdout.trim()) });
    expect(await library({}, { OMNI_AUTH_HOME: home.files.home, OMNI_AUTH_PROFILE: 'work' })).toMatchObject({ ok: true, sha256: sha256(viaCli.stdout.trim()) });
    expect(await library({ profile: 'other' }, { OMNI_AUTH_HOME: home.files.home, OMNI_AUTH_PROFILE: 'work' })).toMatchObject({ ok: false, code: 'settings_missing', exitCode: 2 });
    expect(await library({ profile: '../work' }, { OMNI_AUTH_HOME: home.files.home })).toMatchObject({ ok: false, code: 'invalid_profile', exitCode: 2 });
  });

  it('parallel callers, library and CLI, share the lock: one exchange for all of them, one token', async () => {
    const home = await freshHome();
    const before = await exchangeCount(emu);
    const env = { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() };
    const [a, b, c, d] = await Promise.all([library({}, env), library({}, env), cliToken(home), cliToken(home)]);
    expect(await exchangeCount(emu)).toBe(before + 1);
    for (const x of [a, b]) expect(x).toMatchObject({ ok: true, sha256: sha256(c) });
    expect(d).toBe(c);
  });
});

describe('from CommonJS (require of the ES module, Node ≥ 20.19)', () => {
  it('require(\'omni-auth\') gives the same getToken, the same token', async () => {
    const home = await freshHome();
    const token = await cliToken(home);
    const cjs = await consumer.write('get-token.cjs', `
      const { createHash } = require('node:crypto');
      const { getToken } = require('omni-auth');
      getToken(JSON.parse(process.argv[2])).then((t) => console.log(JSON.stringify({ subject: t.subject, sha256: createHash('sha256').update(t.accessToken).digest('hex') })));
    `);
    const r = await run(process.execPath, [cjs, JSON.stringify({ ...settingsOptions(), home: home.files.home })], { PATH: process.env.PATH ?? '', HOME: consumer.dir }, consumer.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ subject: subOf(token), sha256: sha256(token) });
  });
});

describe('typed errors, with the codes of `omni-auth token`', () => {
  it('no settings: settings_missing, exit code 2, an OmniAuthError by class and by the guard', async () => {
    const home = await freshHome();
    const got = await library({ home: home.files.home });
    expect(got).toMatchObject({ ok: false, guard: true, instance: true, code: 'settings_missing', exitCode: 2, refusedIs3: true, hint: expect.stringContaining('omni-auth login') });
    const r = await cli(['token'], { OMNI_AUTH_HOME: home.files.home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[settings_missing]');
  });

  it('a refusal by the tenant: the same code and exit code as the CLI', async () => {
    const home = await freshHome();
    const type = 'urn:example:no-such-profile';
    const got = await library({ ...settingsOptions(), home: home.files.home, subjectTokenType: type });
    const r = await cli(['token', '--subject-token-type', type], { OMNI_AUTH_HOME: home.files.home, ...settingsEnv() });
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(r.code).toBe(got.exitCode);
    expect(got.exitCode).toBe(3);
    expect(r.stderr).toContain(`[${got.code}]`);
  });

  it('a bad minTtl or home: a usage error before anything is read', async () => {
    expect(await library({ ...settingsOptions(), minTtl: -1 })).toMatchObject({ ok: false, code: 'invalid_min_ttl', exitCode: 2, guard: true });
    expect(await library({ ...settingsOptions(), minTtl: '300' })).toMatchObject({ ok: false, code: 'invalid_min_ttl', exitCode: 2 });
    expect(await library({ ...settingsOptions(), home: ' ' })).toMatchObject({ ok: false, code: 'invalid_home', exitCode: 2 });
  });
});
