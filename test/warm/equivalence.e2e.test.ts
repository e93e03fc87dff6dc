/**
 * Issue 13: the warm entry (dist/omni-auth.cjs) gives exactly what the full CLI (dist/omni-auth-full.cjs,
 * run by itself) gives — stdout, stderr, exit code — on every case: a fresh token in each format, near
 * expiry, --min-ttl, another key, OMNI_AUTH_KEY, a corrupt or missing cache, bad settings or flags, a key
 * bound to a person (bindings.json), --ca-file, and exec: on a fresh cache the entry runs the child
 * itself (src/warm/exec.ts) and the child sees the same environment (secrets stripped, the token, the
 * token file: content, modes, name), ends the same way (exit code, signal); every other exec case
 * (near expiry, another key, a corrupt or missing cache, bad flags, a command that cannot run) is
 * handed to the full CLI before the child runs.
 *
 * Every run has OMNI_AUTH_LOCK_TIMEOUT=never, which only the acquire path reads (and refuses, exit 2,
 * before it does anything): a case the cache answers prints the token, a case that needs a new token
 * prints that usage error — deterministic, no tenant needed, and a difference between the paths shows.
 * A copy of the entry alone (no full CLI beside it) tells which path answered: it answers the warm
 * cases by itself, and fails to load the full CLI on all the others.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKeyOf } from '../../src/cache/key.js';
import { thumbprint, type PublicJwk } from '../../src/identity/thumbprint.js';
import { packageRoot } from '../../src/util/package-root.js';
import { FULL_CLI_FILE } from '../../src/warm/files.js';
import { KEY_RECORDS_FILE } from '../../src/warm/key-check.js';
import { cleanEnv } from '../cli/run-cli.js';
import { runFile, type Run } from './run.js';

const DIST = join(packageRoot(), 'dist');
const ENTRY = join(DIST, 'omni-auth.cjs');
const FULL = join(DIST, FULL_CLI_FILE);
const DOMAIN = 'http://127.0.0.1:9';
const CLIENT_ID = 'warmClientId';
const AUDIENCE = 'https://api.example/warm';
const SCOPE = 'openid profile email offline_access';
const CACHE_KEY = cacheKeyOf({ domain: DOMAIN, clientId: CLIENT_ID, audience: AUDIENCE, scope: SCOPE });
/** Issue 14 §3: another tenant beside the cached one, which is the profile "work". */
const OTHER_DOMAIN = 'http://127.0.0.1:8';
const PROFILES = JSON.stringify({
  domain: OTHER_DOMAIN, client_id: 'otherClientId', audience: AUDIENCE,
  profiles: { work: { domain: DOMAIN, client_id: CLIENT_ID, audience: AUDIENCE }, other: { domain: OTHER_DOMAIN, client_id: CLIENT_ID, audience: AUDIENCE } },
});
const PROFILES_DEFAULT_WORK = JSON.stringify({ ...JSON.parse(PROFILES) as object, default_profile: 'work' });
/** wire14: the default profile (top level) is the cached tenant, and default_profile names another: entries say `--profile default`. */
const DEFAULT_PINNED = JSON.stringify({
  domain: DOMAIN, client_id: CLIENT_ID, audience: AUDIENCE, default_profile: 'other',
  profiles: { other: { domain: OTHER_DOMAIN, client_id: CLIENT_ID, audience: AUDIENCE } },
});

let dir: string;
let lone: string;
/** An $XDG_RUNTIME_DIR for the cases that use one. */
const XDG = join(tmpdir(), `omni-warm-xdg-${process.pid}`);
beforeAll(async () => {
  await mkdir(XDG, { mode: 0o700 });
  dir = await mkdtemp(join(tmpdir(), 'omni-warm-'));
  await mkdir(join(dir, 'lone'));
  lone = join(dir, 'lone', 'omni-auth.cjs');
  await copyFile(ENTRY, lone);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(XDG, { recursive: true, force: true });
});

interface Key { jwkText: string; pem: string; thumbprint: string }
function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    jwkText: `${JSON.stringify({ ...jwk, alg: 'ES256', created_at: '2026-11-30T00:00:00.000Z' }, null, 2)}\n`,
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    thumbprint: thumbprint(publicKey.export({ format: 'jwk' }) as PublicJwk),
  };
}
const machineKey = newKey();
const otherKey = newKey();
const now = () => Math.floor(Date.now() / 1000);
const fakeJwt = () => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'auth0|omni-warm', n: Math.random() })).toString('base64url')}.c2lnbmF0dXJlLW9mLXRoZS13YXJtLXRlc3Q`;

interface HomeSpec {
  /** Seconds left on the cached token (default 3600). */
  ttl?: number;
  /** The cached token's key thumbprint (default the machine key's); null: none recorded. */
  thumbprint?: string | null;
  /** tokens.json's text instead of a cache with the one entry; null: no file. */
  tokens?: string | null;
  /** The key file's text (default the machine key), null: no key file. */
  keyText?: string | null;
  keyMode?: number;
  keyIsDir?: boolean;
  /** settings.json's text; null: no file. */
  settings?: string | null;
  /** bindings.json's text (a person-bound key); 'dir': a directory there. */
  bindings?: string;
}

let homes = 0;
async function makeHome(spec: HomeSpec = {}): Promise<string> {
  const home = join(dir, `home-${homes++}`);
  await mkdir(home, { mode: 0o700 });
  const entry = {
    access_token: fakeJwt(), token_type: 'Bearer', expires_at: now() + (spec.ttl ?? 3600), obtained_at: now(), scope: SCOPE,
    refresh_token: 'rt-not-used', subject: 'auth0|omni-warm',
    ...(spec.thumbprint === null ? {} : { key_thumbprint: spec.thumbprint ?? machineKey.thumbprint }),
  };
  const tokens = spec.tokens === undefined ? `${JSON.stringify({ version: 1, entries: { [CACHE_KEY]: entry } }, null, 2)}\n` : spec.tokens;
  if (tokens !== null) await writeFile(join(home, 'tokens.json'), tokens, { mode: 0o600 });
  const settings = spec.settings === undefined ? JSON.stringify({ domain: DOMAIN, client_id: CLIENT_ID, audience: AUDIENCE }) : spec.settings;
  if (settings !== null) await writeFile(join(home, 'settings.json'), settings, { mode: 0o600 });
  if (spec.bindings === 'dir') await mkdir(join(home, 'bindings.json'));
  else if (spec.bindings !== undefined) await writeFile(join(home, 'bindings.json'), spec.bindings, { mode: 0o600 });
  const keyFile = join(home, 'machine-key.json');
  if (spec.keyIsDir) await mkdir(keyFile);
  else if (spec.keyText !== null) {
    await writeFile(keyFile, spec.keyText ?? machineKey.jwkText, { mode: 0o600 });
    if (spec.keyMode !== undefined) await chmod(keyFile, spec.keyMode);
  }
  return home;
}

const envFor = (home: string, extra: Record<string, string | undefined> = {}) =>
  cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_LOCK_TIMEOUT: 'never', ...extra });

/** bindings.json as browser sign-in leaves it (src/identity/binding.ts): this key bound to a person. */
const boundTo = (key: Key) => `${JSON.stringify({
  version: 1,
  bindings: { [`${DOMAIN}/|${CLIENT_ID}`]: { id_token: fakeJwt(), salt: 'AAAAAAAAAAAAAAAAAAAAAA', thumbprint: key.thumbprint, sub: 'auth0|person', name: 'A Person', bound_at: now() - 60 } },
}, null, 2)}\n`;
/** A child that reports what exec gave it, without paths (they differ per run): the token file's content, modes, name. */
const tokenFileReport = (v = 'AUTH0_TOKEN_FILE') => [
  `const fs = require('node:fs'), path = require('node:path'); const f = process.env.${v};`,
  `process.stdout.write(JSON.stringify({ same: fs.readFileSync(f, 'utf8') === process.env.AUTH0_TOKEN, file: (fs.statSync(f).mode & 0o777).toString(8),`,
  `dir: (fs.statSync(path.dirname(f)).mode & 0o777).toString(8), name: path.basename(f), other: process.env.AUTH0_TOKEN_FILE === undefined ? 'unset' : 'set' }));`,
].join(' ');

const ACQUIRE_ERROR = 'OMNI_AUTH_LOCK_TIMEOUT must be a positive number of seconds; got "never"';
const printToken = (v = 'AUTH0_TOKEN') => `process.stdout.write(String(process.env.${v}))`;

interface Case {
  name: string;
  args: string[];
  home?: HomeSpec;
  env?: Record<string, string | undefined>;
  /** The cache answers: the entry alone gives the same answer. Otherwise the full CLI must. */
  warm: boolean;
  /** The full CLI goes for a new token (the acquire path). */
  acquires?: boolean;
  /** The full CLI answers from the cache: nothing on stderr (exec, which is always handed off). */
  quiet?: boolean;
  /** What the full CLI prints on stdout, exactly. */
  stdout?: string;
  /** How the full CLI ends (default: exit 0 for a quiet exec). */
  ends?: { code: number | null; signal: NodeJS.Signals | null };
}

/** A child that prints the environment it got, the token file's path made comparable (it differs per run). */
const envReport = [
  `const e = { ...process.env }; for (const v of ['AUTH0_TOKEN_FILE', 'MY_FILE']) if (e[v]) e[v] = require('node:path').basename(e[v]);`,
  `process.stdout.write(JSON.stringify(Object.entries(e).sort()));`,
].join(' ');
const SECRETS = { OMNI_AUTH_KEY: machineKey.pem, OMNI_AUTH_CLIENT_SECRET: 'client-secret-not-for-children', AUTH0_MGMT_CLIENT_SECRET: 'mgmt-secret', AUTH0_MGMT_TOKEN: 'mgmt-token', AUTH0_TOKEN: 'a stale one from the parent', OTHER_VAR: 'kept' };

const FORMATS = ['raw', 'json', 'header', 'env', 'headers-json'];
const CASES: Case[] = [
  { name: 'fresh, default format', args: ['token'], warm: true },
  ...FORMATS.map((f) => ({ name: `fresh, --format ${f}`, args: ['token', '--format', f], warm: true })),
  { name: 'fresh, --format=json', args: ['token', '--format=json'], warm: true },
  { name: 'fresh, the last --format wins', args: ['token', '--format', 'json', '--format', 'header'], warm: true },
  { name: 'fresh, settings as flags', args: ['token', '--domain', DOMAIN, '--client-id', CLIENT_ID, '--audience', AUDIENCE], home: { settings: null }, warm: true },
  { name: 'fresh, settings from the environment', args: ['token'], home: { settings: null }, env: { OMNI_AUTH_DOMAIN: DOMAIN, OMNI_AUTH_CLIENT_ID: CLIENT_ID, OMNI_AUTH_AUDIENCE: AUDIENCE }, warm: true },
  { name: 'fresh, the same scopes in another order', args: ['token', '--scope', 'email  openid profile offline_access openid'], warm: true },
  { name: 'other scopes (another cache entry)', args: ['token', '--scope', 'openid'], warm: false, acquires: true },
  { name: 'near expiry (200 s left, --min-ttl 300 by default)', args: ['token'], home: { ttl: 200 }, warm: false, acquires: true },
  ...FORMATS.map((f) => ({ name: `near expiry, --format ${f}`, args: ['token', '--format', f], home: { ttl: 200 }, warm: false, acquires: true })),
  { name: 'expired', args: ['token'], home: { ttl: -10 }, warm: false, acquires: true },
  { name: 'near expiry but fresh enough for --min-ttl 100', args: ['token', '--min-ttl', '100'], home: { ttl: 200 }, warm: true },
  { name: '--min-ttl=3000 on 3600 s', args: ['token', '--min-ttl=3000', '--format', 'json'], warm: true },
  { name: '--min-ttl 3700 on 3600 s', args: ['token', '--min-ttl', '3700'], warm: false, acquires: true },
  { name: '--min-ttl 0 on an expired token', args: ['token', '--min-ttl', '0'], home: { ttl: -5 }, warm: false, acquires: true },
  { name: 'cached with another key', args: ['token'], home: { thumbprint: otherKey.thumbprint }, warm: false, acquires: true },
  { name: 'cached with another key, --format headers-json', args: ['token', '--format', 'headers-json'], home: { thumbprint: otherKey.thumbprint }, warm: false, acquires: true },
  { name: 'the key file replaced by another key', args: ['token'], home: { keyText: otherKey.jwkText }, warm: false, acquires: true },
  { name: 'OMNI_AUTH_KEY (PEM) is the key of the cached token', args: ['token', '--format', 'json'], home: { thumbprint: otherKey.thumbprint }, env: { OMNI_AUTH_KEY: otherKey.pem }, warm: true },
  { name: 'OMNI_AUTH_KEY (JWK) is the key of the cached token, no key file', args: ['token'], home: { keyText: null }, env: { OMNI_AUTH_KEY: machineKey.jwkText }, warm: true },
  { name: 'OMNI_AUTH_KEY is another key', args: ['token'], env: { OMNI_AUTH_KEY: otherKey.pem }, warm: false, acquires: true },
  { name: 'OMNI_AUTH_KEY is not a key', args: ['token'], env: { OMNI_AUTH_KEY: 'not a key' }, warm: false },
  { name: 'OMNI_AUTH_KEY blank: the key file', args: ['token'], env: { OMNI_AUTH_KEY: '  ' }, warm: true },
  { name: 'the key file is readable by others', args: ['token'], home: { keyMode: 0o644 }, warm: false },
  { name: 'the key file is a directory', args: ['token'], home: { keyIsDir: true }, warm: false },
  { name: 'the key file is not a key', args: ['token'], home: { keyText: '{"kty":"EC"}' }, warm: false },
  { name: 'no key file, a token cached without a key', args: ['token'], home: { keyText: null, thumbprint: null }, warm: true },
  { name: 'no key file, a token cached with a key', args: ['token'], home: { keyText: null }, warm: false, acquires: true },
  { name: 'a key file, a token cached without a key', args: ['token'], home: { thumbprint: null }, warm: false, acquires: true },
  { name: 'corrupt cache: not JSON', args: ['token'], home: { tokens: '{"version": 1, "entries": {' }, warm: false, acquires: true },
  { name: 'corrupt cache: empty', args: ['token'], home: { tokens: '' }, warm: false, acquires: true },
  { name: 'corrupt cache: a newer format', args: ['token'], home: { tokens: JSON.stringify({ version: 2, entries: {} }) }, warm: false, acquires: true },
  {
    name: 'corrupt cache: our entry fine, another malformed', args: ['token'], warm: false, acquires: true,
    home: { tokens: JSON.stringify({ version: 1, entries: { [CACHE_KEY]: { access_token: fakeJwt(), token_type: 'Bearer', expires_at: now() + 3600, obtained_at: now(), key_thumbprint: machineKey.thumbprint }, 'not|a|key': 1 } }) },
  },
  { name: 'corrupt cache: our entry malformed', args: ['token'], home: { tokens: JSON.stringify({ version: 1, entries: { [CACHE_KEY]: { access_token: '', token_type: 'Bearer', expires_at: now() + 3600, obtained_at: now() } } }) }, warm: false, acquires: true },
  { name: 'missing cache', args: ['token'], home: { tokens: null }, warm: false, acquires: true },
  { name: 'no settings', args: ['token'], home: { settings: null }, warm: false },
  { name: 'corrupt settings', args: ['token'], home: { settings: '{"domain": ' }, warm: false },
  { name: 'a domain that is not https', args: ['token', '--domain', 'http://example.com'], warm: false },
  { name: 'an invalid --format', args: ['token', '--format', 'yaml'], warm: false },
  { name: 'an invalid --min-ttl', args: ['token', '--min-ttl', 'soon'], warm: false },
  { name: 'a negative --min-ttl', args: ['token', '--min-ttl', '-1'], warm: false },
  { name: '--min-ttl without a value', args: ['token', '--min-ttl'], warm: false },
  { name: 'an unknown option', args: ['token', '--bogus'], warm: false },
  { name: 'an extra argument', args: ['token', 'extra'], warm: false },
  { name: 'token --help', args: ['token', '--help'], warm: false },
  { name: '--version', args: ['--version'], warm: false },
  // A person-bound key: the binding is read only to get a new token (src/broker/acquire.ts).
  { name: 'a bound key, fresh', args: ['token'], home: { bindings: boundTo(machineKey) }, warm: true },
  { name: 'a bound key, --format json', args: ['token', '--format', 'json'], home: { bindings: boundTo(machineKey) }, warm: true },
  { name: 'a bound key, near expiry', args: ['token'], home: { bindings: boundTo(machineKey), ttl: 200 }, warm: false, acquires: true },
  { name: 'a bound key, cached with another key', args: ['token'], home: { bindings: boundTo(machineKey), thumbprint: otherKey.thumbprint }, warm: false, acquires: true },
  { name: 'a binding of another key, fresh', args: ['token'], home: { bindings: boundTo(otherKey) }, warm: true },
  { name: 'a corrupt bindings.json, fresh', args: ['token'], home: { bindings: '{"version": 1, "bind' }, warm: true },
  { name: 'a corrupt bindings.json, near expiry', args: ['token'], home: { bindings: '{"version": 1, "bind', ttl: 200 }, warm: false, acquires: true },
  { name: 'bindings.json is a directory, fresh', args: ['token'], home: { bindings: 'dir' }, warm: true },
  // --ca-file / OMNI_AUTH_CA_FILE are read when a request is made (src/config/network.ts), never from the cache.
  { name: '--ca-file, fresh', args: ['token', '--ca-file', join(tmpdir(), 'omni-warm-no-such-ca.pem')], warm: true },
  { name: '--ca-file=, fresh, --format header', args: ['token', `--ca-file=${join(tmpdir(), 'omni-warm-no-such-ca.pem')}`, '--format', 'header'], warm: true },
  { name: '--ca-file, near expiry', args: ['token', '--ca-file', join(tmpdir(), 'omni-warm-no-such-ca.pem')], home: { ttl: 200 }, warm: false, acquires: true },
  { name: '--ca-file without a value', args: ['token', '--ca-file'], warm: false },
  { name: 'OMNI_AUTH_CA_FILE, fresh', args: ['token'], env: { OMNI_AUTH_CA_FILE: join(tmpdir(), 'omni-warm-no-such-ca.pem') }, warm: true },
  { name: 'exec\'s --no-browser on token', args: ['token', '--no-browser'], warm: false },
  // exec: a fresh cache runs the child from the entry; anything else is the full CLI's, before the child runs.
  { name: 'exec, fresh', args: ['exec', '--', process.execPath, '-e', printToken()], warm: true },
  { name: 'exec --env-var, fresh', args: ['exec', '--env-var', 'MCP_TOKEN', '--min-ttl', '60', '--', process.execPath, '-e', printToken('MCP_TOKEN')], warm: true },
  { name: 'exec --env-var=, --min-ttl=, fresh', args: ['exec', '--env-var=MCP_TOKEN', '--min-ttl=60', '--', process.execPath, '-e', printToken('MCP_TOKEN')], warm: true },
  { name: 'exec, the child exits 7', args: ['exec', '--', process.execPath, '-e', 'process.exit(7)'], warm: true, ends: { code: 7, signal: null } },
  { name: 'exec, the child dies of SIGTERM: so does exec', args: ['exec', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'], warm: true, ends: { code: null, signal: 'SIGTERM' } },
  { name: 'exec, the child dies of SIGINT: so does exec', args: ['exec', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGINT")'], warm: true, ends: { code: null, signal: 'SIGINT' } },
  { name: 'exec, the child does not get OMNI_AUTH_KEY', args: ['exec', '--', process.execPath, '-e', 'process.stdout.write(String(process.env.OMNI_AUTH_KEY))'], env: { OMNI_AUTH_KEY: machineKey.pem }, warm: true, stdout: 'undefined' },
  { name: 'exec, the whole environment the child sees (omni-auth\'s secrets stripped)', args: ['exec', '--', process.execPath, '-e', envReport], env: SECRETS, warm: true },
  { name: 'exec --env-var, the whole environment the child sees', args: ['exec', '--env-var', 'OTHER_VAR', '--token-file-var', 'MY_FILE', '--', process.execPath, '-e', envReport], env: SECRETS, warm: true },
  { name: 'exec, the child sees $AUTH0_TOKEN_FILE (0600 in 0700, the token)', args: ['exec', '--', process.execPath, '-e', tokenFileReport()], warm: true, stdout: '{"same":true,"file":"600","dir":"700","name":"token","other":"set"}' },
  { name: 'exec --token-file-var', args: ['exec', '--token-file-var', 'MY_FILE', '--', process.execPath, '-e', tokenFileReport('MY_FILE')], warm: true, stdout: '{"same":true,"file":"600","dir":"700","name":"token","other":"unset"}' },
  { name: 'exec, $XDG_RUNTIME_DIR: the token file under it', args: ['exec', '--', process.execPath, '-e', 'process.stdout.write(require("node:path").relative(process.env.XDG_RUNTIME_DIR, process.env.AUTH0_TOKEN_FILE).replace(/exec-[0-9]+-[0-9a-f]+/, "exec-PID-TIME"))'], env: { XDG_RUNTIME_DIR: XDG }, warm: true, stdout: join('omni-auth', 'exec-PID-TIME', 'token') },
  { name: 'exec, a bound key, fresh', args: ['exec', '--', process.execPath, '-e', printToken()], home: { bindings: boundTo(machineKey) }, warm: true },
  { name: 'exec --no-browser --callback-port --signin-timeout, fresh', args: ['exec', '--no-browser', '--callback-port', '8123', '--signin-timeout', '30', '--', process.execPath, '-e', printToken()], warm: true },
  { name: 'exec --ca-file, fresh', args: ['exec', '--ca-file', join(tmpdir(), 'omni-warm-no-such-ca.pem'), '--', process.execPath, '-e', printToken()], warm: true },
  { name: 'exec, settings as flags, fresh', args: ['exec', '--domain', DOMAIN, '--client-id', CLIENT_ID, '--audience', AUDIENCE, '--', process.execPath, '-e', printToken()], home: { settings: null }, warm: true },
  { name: 'exec without --', args: ['exec', process.execPath, '-e', printToken()], warm: false, quiet: true },
  // Issue 14 §3: profiles. PROFILES puts the cached tenant under "work"; the default profile is another tenant.
  { name: 'profile: --profile work, fresh', args: ['token', '--profile', 'work'], home: { settings: PROFILES }, warm: true },
  { name: 'profile: --profile=work, --format json', args: ['token', '--profile=work', '--format', 'json'], home: { settings: PROFILES }, warm: true },
  { name: 'profile: OMNI_AUTH_PROFILE=work, fresh', args: ['token'], home: { settings: PROFILES }, env: { OMNI_AUTH_PROFILE: 'work' }, warm: true },
  { name: 'profile: --profile wins over OMNI_AUTH_PROFILE', args: ['token', '--profile', 'work'], home: { settings: PROFILES }, env: { OMNI_AUTH_PROFILE: 'other' }, warm: true },
  { name: 'profile: exec --profile work, fresh (a wired entry of profile work)', args: ['exec', '--profile', 'work', '--', process.execPath, '-e', printToken()], home: { settings: PROFILES }, warm: true },
  { name: 'profile: exec under the default profile, another tenant (no cached token)', args: ['exec', '--', process.execPath, '-e', printToken()], home: { settings: PROFILES }, warm: false, acquires: true },
  { name: 'profile: the file\'s default_profile', args: ['token'], home: { settings: PROFILES_DEFAULT_WORK }, warm: true },
  { name: 'profile: the default profile is another tenant (no cached token)', args: ['token'], home: { settings: PROFILES }, warm: false, acquires: true },
  { name: 'profile: OMNI_AUTH_PROFILE=other (no cached token)', args: ['token'], home: { settings: PROFILES }, env: { OMNI_AUTH_PROFILE: 'other' }, warm: false, acquires: true },
  { name: 'profile: OMNI_AUTH_DOMAIN overrides the profile\'s domain', args: ['token', '--profile', 'work'], home: { settings: PROFILES }, env: { OMNI_AUTH_DOMAIN: OTHER_DOMAIN }, warm: false, acquires: true },
  { name: 'profile: a profile the file does not have', args: ['token', '--profile', 'nosuch'], home: { settings: PROFILES }, warm: false },
  { name: 'profile: token --profile default while default_profile names another (a pinned header helper)', args: ['token', '--format', 'headers-json', '--profile', 'default'], home: { settings: DEFAULT_PINNED }, warm: true },
  { name: 'profile: exec --profile default while default_profile names another (a pinned wired entry)', args: ['exec', '--profile', 'default', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, '-e', printToken()], home: { settings: DEFAULT_PINNED }, warm: true },
  { name: 'profile: exec without --profile follows default_profile to the other tenant (no cached token)', args: ['exec', '--', process.execPath, '-e', printToken()], home: { settings: DEFAULT_PINNED }, warm: false, acquires: true },
  { name: 'profile: an invalid --profile', args: ['token', '--profile', '../work'], home: { settings: PROFILES }, warm: false },
  { name: 'profile: an invalid OMNI_AUTH_PROFILE', args: ['token'], home: { settings: PROFILES }, env: { OMNI_AUTH_PROFILE: 'a b' }, warm: false },
  { name: 'profile: --profile without a value', args: ['token', '--profile'], home: { settings: PROFILES }, warm: false },
  { name: 'profile: the global form (omni-auth --profile work token), handed off', args: ['--profile', 'work', 'token'], home: { settings: PROFILES }, warm: false, quiet: true },
  { name: 'exec, near expiry', args: ['exec', '--', process.execPath, '-e', printToken()], home: { ttl: 100 }, warm: false, acquires: true },
  { name: 'exec --min-ttl 3700 on 3600 s', args: ['exec', '--min-ttl', '3700', '--', process.execPath, '-e', printToken()], warm: false, acquires: true },
  { name: 'exec, cached with another key', args: ['exec', '--', process.execPath, '-e', printToken()], home: { thumbprint: otherKey.thumbprint }, warm: false, acquires: true },
  { name: 'exec, OMNI_AUTH_KEY is another key', args: ['exec', '--', process.execPath, '-e', printToken()], env: { OMNI_AUTH_KEY: otherKey.pem }, warm: false, acquires: true },
  { name: 'exec, corrupt cache', args: ['exec', '--', process.execPath, '-e', printToken()], home: { tokens: '{"version": 1, "entries": {' }, warm: false, acquires: true },
  { name: 'exec, missing cache', args: ['exec', '--', process.execPath, '-e', printToken()], home: { tokens: null }, warm: false, acquires: true },
  { name: 'exec, no settings', args: ['exec', '--', process.execPath, '-e', printToken()], home: { settings: null }, warm: false },
  { name: 'exec, the key file is readable by others', args: ['exec', '--', process.execPath, '-e', printToken()], home: { keyMode: 0o644 }, warm: false },
  { name: 'exec, $XDG_RUNTIME_DIR not writable: the token file cannot be made', args: ['exec', '--', process.execPath, '-e', printToken()], env: { XDG_RUNTIME_DIR: '/proc/omni-warm-no-such-dir' }, warm: false },
  { name: 'exec, a command that does not exist', args: ['exec', '--', 'omni-auth-no-such-command'], warm: false },
  { name: 'exec, an invalid --env-var', args: ['exec', '--env-var', 'BAD-NAME', '--', process.execPath, '-e', '0'], warm: false },
  { name: 'exec, an invalid --token-file-var', args: ['exec', '--token-file-var', 'BAD-NAME', '--', process.execPath, '-e', '0'], warm: false },
  { name: 'exec, an invalid --min-ttl', args: ['exec', '--min-ttl', 'soon', '--', process.execPath, '-e', '0'], warm: false },
  { name: 'exec without a command', args: ['exec', '--'], warm: false },
];

describe('the warm entry and the full CLI agree', () => {
  it.each(CASES)('$name', async (c) => {
    const home = await makeHome(c.home);
    const env = envFor(home, c.env);
    const full = await runFile(FULL, c.args, env);
    const [entry, alone] = await Promise.all([runFile(ENTRY, c.args, env), runFile(lone, c.args, env)]);
    expect(entry).toEqual(full);
    if (c.warm) {
      expect(alone, 'the entry alone answers a warm case').toEqual(full);
      if (c.args[0] === 'token') expect(full.stdout).toMatch(/eyJ/);
    } else {
      expect(alone.code, 'the entry alone cannot answer this one').not.toBe(0);
      expect(alone.stderr).toContain(FULL_CLI_FILE);
    }
    // A warm answer says nothing on stderr; the cases a new token would settle reach the acquire path.
    if (c.warm || c.quiet) expect(full.stderr).toBe('');
    if (c.acquires) expect(full.stderr).toContain(ACQUIRE_ERROR);
    if (c.stdout !== undefined) expect(full.stdout).toBe(c.stdout);
    if (c.args[0] === 'exec' && (c.warm || c.quiet)) expect({ code: full.code, signal: full.signal }).toEqual(c.ends ?? { code: 0, signal: null });
  });

  it('the fresh cases print what the cache holds, in each format', async () => {
    const home = await makeHome();
    const env = envFor(home);
    const tokens = JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')) as { entries: Record<string, { access_token: string; expires_at: number }> };
    const t = tokens.entries[CACHE_KEY]!;
    const out = await Promise.all(FORMATS.map((f) => runFile(lone, ['token', '--format', f], env)));
    expect(out.map((r) => r.stdout)).toEqual([
      `${t.access_token}\n`,
      `${JSON.stringify({ access_token: t.access_token, token_type: 'Bearer', expires_at: t.expires_at })}\n`,
      `Authorization: Bearer ${t.access_token}\n`,
      `AUTH0_TOKEN=${t.access_token}\n`,
      `${JSON.stringify({ Authorization: `Bearer ${t.access_token}` })}\n`,
    ]);
    expect(out.map((r) => r.stderr)).toEqual(FORMATS.map(() => ''));
  });

  it('a record of a key is not used for another key text (the key file replaced after a warm run)', async () => {
    const home = await makeHome();
    const env = envFor(home);
    const first = await runFile(lone, ['token'], env);
    expect(first.code).toBe(0);
    expect(Object.values((JSON.parse(await readFile(join(home, KEY_RECORDS_FILE), 'utf8')) as { keys: Record<string, string> }).keys)).toEqual([machineKey.thumbprint]);
    expect(await readFile(join(home, KEY_RECORDS_FILE), 'utf8')).not.toContain(JSON.parse(machineKey.jwkText).d);
    // The same key, another text: the record does not apply, the parser agrees, the cache answers.
    await writeFile(join(home, 'machine-key.json'), `${machineKey.jwkText}\n`, { mode: 0o600 });
    expect(await runFile(lone, ['token'], env)).toEqual(first);
    // Another key: no record, the parser's thumbprint differs, the full CLI gets a new token.
    await unlink(join(home, 'machine-key.json'));
    await writeFile(join(home, 'machine-key.json'), otherKey.jwkText, { mode: 0o600 });
    const [entry, full, alone] = await Promise.all([runFile(ENTRY, ['token'], env), runFile(FULL, ['token'], env), runFile(lone, ['token'], env)]);
    expect(entry).toEqual(full);
    expect(full.stderr).toContain(ACQUIRE_ERROR);
    expect(alone.stderr).toContain(FULL_CLI_FILE);
  });
});

/**
 * Issue 14 §3: the default profile set by command (`omni-auth profile use NAME`, the full CLI) is what
 * the warm entry reads too: after each `use`, token and exec give the same answer on both paths — warm
 * when the chosen profile's token is cached, handed off when it is not.
 */
describe('the default profile set by `profile use`', () => {
  it.each([
    ['work', true, []],
    ['other', false, []],
    ['default', false, []],
    ['work', true, ['--format', 'json']],
    ['work', false, ['--profile', 'other']],
  ] as [string, boolean, string[]][])('profile use %s: token is warm=%s on both paths (extra args %j)', async (name, warm, extra) => {
    const home = await makeHome({ settings: PROFILES });
    const env = envFor(home);
    const used = await runFile(FULL, ['profile', 'use', name], env);
    expect(used.code, used.stderr).toBe(0);
    expect(used.stdout).toBe('');
    for (const args of [['token', ...extra], ['exec', ...extra.filter((a) => a !== '--format' && a !== 'json'), '--', process.execPath, '-e', printToken()]]) {
      const full = await runFile(FULL, args, env);
      const [entry, alone] = await Promise.all([runFile(ENTRY, args, env), runFile(lone, args, env)]);
      expect(entry).toEqual(full);
      if (warm) {
        expect(alone).toEqual(full);
        expect(full.stdout).toMatch(/eyJ/);
        expect(full.stderr).toBe('');
      } else {
        expect(alone.stderr).toContain(FULL_CLI_FILE);
        expect(full.stderr).toContain(ACQUIRE_ERROR);
      }
    }
    // OMNI_AUTH_PROFILE still wins over the saved default, on both paths.
    const viaEnv = await runFile(FULL, ['token'], envFor(home, { OMNI_AUTH_PROFILE: 'work' }));
    expect(await runFile(lone, ['token'], envFor(home, { OMNI_AUTH_PROFILE: 'work' }))).toEqual(viaEnv);
    expect(viaEnv.stdout).toMatch(/eyJ/);
  }, 120_000);
});

describe('the launcher (<home>/bin/omni-auth.cjs, its home from its location)', () => {
  /** A home with the launcher as login installs it now, and a copy of that home with the launcher as it was: the full CLI alone. */
  async function launchers(spec: HomeSpec = {}): Promise<{ now: string; before: string }> {
    const { installLauncher } = await import('../../src/mcp/launcher.js');
    const a = await makeHome(spec);
    const b = await makeHome(spec);
    await copyFile(join(a, 'tokens.json'), join(b, 'tokens.json')).catch(() => undefined);
    const now = (await installLauncher(a)).path;
    // Buffer.equals: vitest's toEqual walks a 2 MB Buffer element by element (~30 s under load: the test timed out).
    expect((await readFile(join(a, 'bin', FULL_CLI_FILE))).equals(await readFile(FULL))).toBe(true);
    await mkdir(join(b, 'bin'), { mode: 0o700 });
    await copyFile(FULL, join(b, 'bin', 'omni-auth.cjs'));
    return { now, before: join(b, 'bin', 'omni-auth.cjs') };
  }
  // No OMNI_AUTH_HOME: each launcher finds its own home.
  const bare = () => cleanEnv({ OMNI_AUTH_LOCK_TIMEOUT: 'never' });

  it.each([
    ['fresh', {}, ['token', '--format', 'headers-json'], true],
    ['fresh, exec', {}, ['exec', '--', process.execPath, '-e', printToken()], true],
    ['near expiry', { ttl: 100 }, ['token'], false],
    ['cached with another key', { thumbprint: otherKey.thumbprint }, ['token'], false],
  ] as [string, HomeSpec, string[], boolean][])('%s: the same as the single-file launcher', async (_, spec, args, warm) => {
    const { now, before } = await launchers(spec);
    const [a, b] = await Promise.all([runFile(now, args, bare()), runFile(before, args, bare())]);
    expect(a).toEqual(b);
    if (warm) {
      // The launcher's entry answered by itself: without the full CLI beside it, the same.
      await unlink(join(now, '..', FULL_CLI_FILE));
      expect(await runFile(now, args, bare())).toEqual(b);
    }
    // Up to five Node starts of the full CLI, and the launcher module imported: on a loaded machine, more than the default 30 s.
  }, 120_000);
});

describe('what a warm run loads', () => {
  it('after the first run recorded the key: no node:crypto, child_process, fs/promises, stream, net or os module, no full CLI', async () => {
    const home = await makeHome();
    const env = envFor(home);
    const probe = join(dir, 'probe.cjs');
    await writeFile(probe, [
      `const before = new Set(process.moduleLoadList);`,
      `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ loaded: process.moduleLoadList.filter((m) => !before.has(m)), files: Object.keys(require.cache) })));`,
    ].join('\n'));
    const out = join(dir, 'probe.json');
    const probed = async () => {
      const r = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--require', probe, ENTRY, 'token'], { env: { ...env, PROBE_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
        child.on('close', resolve);
      });
      expect(r).toBe(0);
      return JSON.parse(await readFile(out, 'utf8')) as { loaded: string[]; files: string[] };
    };
    const first = await probed();
    expect(first.loaded).toContain('NativeModule crypto'); // the key parser, once
    const warm = await probed();
    const heavy = warm.loaded.filter((m) => /^NativeModule (crypto|child_process|fs\/promises|stream|net|os|internal\/streams\/.*|internal\/crypto\/.*)$/.test(m));
    expect(heavy).toEqual([]);
    expect(warm.files.filter((f) => f.endsWith(FULL_CLI_FILE))).toEqual([]);
  });

  /** A warm exec under a probe: what it loaded, what it printed on stderr, how it ended. */
  async function probedExec(extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[]; files: string[]; beforeSpawn?: string[] }> {
    const home = await makeHome();
    // The first run records the key's thumbprint (node:crypto's key parser, once), as for token above.
    expect((await runFile(ENTRY, ['token'], envFor(home))).code).toBe(0);
    // And a first exec made the token files' base directory (ensurePrivateDir), as every exec after it finds it.
    expect((await runFile(ENTRY, ['exec', '--', process.execPath, '-e', '0'], envFor(home, extraEnv))).code).toBe(0);
    const probe = join(dir, 'probe-exec.cjs');
    const out = join(dir, `probe-exec-${Object.keys(extraEnv).join('-')}.json`);
    await writeFile(probe, [
      `const before = new Set(process.moduleLoadList);`,
      // What was loaded when the child was spawned (libuv's process handle, src/warm/spawn.ts), when it was.
      `let beforeSpawn;`,
      `if (!process.env.NODE_OPTIONS) { const P = process.binding('process_wrap').Process.prototype; const spawn = P.spawn; P.spawn = function (o) { beforeSpawn ??= process.moduleLoadList.filter((m) => !before.has(m)); return spawn.call(this, o); }; }`,
      `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ loaded: process.moduleLoadList.filter((m) => !before.has(m)), files: Object.keys(require.cache), beforeSpawn })));`,
    ].join('\n'));
    let stdout = '';
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--require', probe, ENTRY, 'exec', '--', process.execPath, '-e', 'process.stdout.write(String(!!process.env.AUTH0_TOKEN_FILE))'], { env: { ...envFor(home), ...extraEnv, PROBE_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', resolve);
    });
    return { code, stdout, stderr, ...(JSON.parse(await readFile(out, 'utf8')) as { loaded: string[]; files: string[] }) };
  }
  const HEAVY_FOR_EXEC = /^NativeModule (crypto|fs\/promises|internal\/fs\/promises|internal\/readline\/.*|internal\/crypto\/.*)$/;

  it('a warm exec: no node:child_process (src/warm/spawn.ts), node:crypto, fs/promises, readline or os, no full CLI (until a renewal is due)', async () => {
    const got = await probedExec();
    expect([got.code, got.stdout, got.stderr]).toEqual([0, 'true', '']);
    // node:os (0.2 ms) only on first use (scripts/build.mjs warm-lazy-os): nothing before the child needs it.
    expect(got.beforeSpawn).toBeDefined();
    expect(got.beforeSpawn, JSON.stringify(got.beforeSpawn)).not.toContain('NativeModule os');
    expect(got.loaded.filter((m) => /^NativeModule (child_process|internal\/child_process|net|dgram)$/.test(m))).toEqual([]);
    expect(got.loaded.filter((m) => HEAVY_FOR_EXEC.test(m))).toEqual([]);
    expect(got.files.filter((f) => f.endsWith(FULL_CLI_FILE))).toEqual([]);
  });

  it('a warm exec under --pending-deprecation: node:child_process\'s spawn, and no deprecation warning', async () => {
    const got = await probedExec({ NODE_OPTIONS: '--pending-deprecation' });
    expect([got.code, got.stdout, got.stderr]).toEqual([0, 'true', '']);
    expect(got.loaded).toContain('NativeModule child_process');
    expect(got.loaded.filter((m) => HEAVY_FOR_EXEC.test(m))).toEqual([]);
    expect(got.files.filter((f) => f.endsWith(FULL_CLI_FILE))).toEqual([]);
  });
});
