/**
 * Issue 13: dist/omni-auth.cjs compiles the warm entry with V8's code cache (src/warm/loader.ts). The
 * cache is an optimisation and code: whatever its state the answer is the same, it is written only
 * after a warm answer, only into a private directory beside the entry, never through a link, and a
 * cache V8 accepts is not rewritten. Each case runs a fresh copy of the built entry (the full CLI
 * beside it) on a home whose cache answers without a key: no tenant needed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, chown, copyFile, link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
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
const DOMAIN = 'http://127.0.0.1:9';
const CLIENT_ID = 'cacheClientId';
const AUDIENCE = 'https://api.example/code-cache';
const SCOPE = 'openid profile email offline_access';
const TOKEN = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'auth0|omni-cache' })).toString('base64url')}.c2lnbmF0dXJl`;

let dir: string;
let home: string;
let copies = 0;
let homes = 0;

/** A home whose cache answers; with `keyed`, a machine key the cached token is bound to. */
async function makeHome(keyed = false): Promise<string> {
  const at = join(dir, `home-${homes++}`);
  await mkdir(at, { mode: 0o700 });
  const now = Math.floor(Date.now() / 1000);
  const entry: Record<string, unknown> = { access_token: TOKEN, token_type: 'Bearer', expires_at: now + 3600, obtained_at: now, scope: SCOPE, subject: 'auth0|omni-cache' };
  if (keyed) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', created_at: '2026-11-30T00:00:00.000Z' };
    await writeFile(join(at, 'machine-key.json'), `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600 });
    entry.key_thumbprint = thumbprint(publicKey.export({ format: 'jwk' }) as PublicJwk);
  }
  const key = cacheKeyOf({ domain: DOMAIN, clientId: CLIENT_ID, audience: AUDIENCE, scope: SCOPE });
  await writeFile(join(at, 'tokens.json'), JSON.stringify({ version: 1, entries: { [key]: entry } }), { mode: 0o600 });
  await writeFile(join(at, 'settings.json'), JSON.stringify({ domain: DOMAIN, client_id: CLIENT_ID, audience: AUDIENCE }), { mode: 0o600 });
  return at;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-code-cache-'));
  // No machine key and a token cached without one: the warm entry answers (test/warm/equivalence.e2e.test.ts).
  home = await makeHome();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh copy of the built pair; returns the entry's path. */
async function freshEntry(): Promise<string> {
  const at = join(dir, `bin-${copies++}`);
  await mkdir(at);
  await copyFile(join(DIST, 'omni-auth.cjs'), join(at, 'omni-auth.cjs'));
  await copyFile(join(DIST, FULL_CLI_FILE), join(at, FULL_CLI_FILE));
  return join(at, 'omni-auth.cjs');
}

const env = (extra: Record<string, string> = {}) => cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_LOCK_TIMEOUT: 'never', ...extra });
const cacheDir = (entry: string) => join(entry, '..', '.code-cache');
const caches = async (entry: string) => (await readdir(cacheDir(entry)).catch(() => [] as string[])).sort();

const token = (entry: string, nodeFlags: string[] = []): Promise<Run> => runFile(entry, ['token'], env(), undefined, nodeFlags);

/** The header's word replaced by another of the same length: the entry's size does not change. */
async function sameLengthEdit(entry: string, word: string): Promise<void> {
  const text = await readFile(entry, 'utf8');
  expect(text).toContain('Authorization: Bearer ${');
  await writeFile(entry, text.replace('Authorization: Bearer ${', `Authorization: ${word} \${`));
}

function expectToken(r: Run): void {
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(`${TOKEN}\n`);
  expect(r.code).toBe(0);
}

describe('the warm entry\'s V8 code cache', () => {
  it('is written by a warm token, 0600 in a 0700 directory, and kept as it is once V8 takes it', async () => {
    const entry = await freshEntry();
    expectToken(await token(entry));
    const [name, ...others] = await caches(entry);
    expect(others).toEqual([]);
    // The build, this file's state (inode, size, change time), Node, platform, V8 flags (none: 0), the command.
    expect(name).toMatch(new RegExp(`^[0-9a-f]{16}-[0-9a-z]+-${process.version}-${process.platform}-${process.arch}-0-token\\.v8$`));
    expect((await lstat(cacheDir(entry))).mode & 0o777).toBe(0o700);
    const before = await stat(join(cacheDir(entry), name!));
    expect(before.mode & 0o777).toBe(0o600);
    expect(before.size).toBeGreaterThan(1000);
    for (let i = 0; i < 2; i++) expectToken(await token(entry));
    const after = await stat(join(cacheDir(entry), name!));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('is written by a warm exec too (its own file), and the child gets the token', async () => {
    const entry = await freshEntry();
    const r = await runFile(entry, ['exec', '--', process.execPath, '-e', 'process.stdout.write(process.env.AUTH0_TOKEN)'], env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(TOKEN);
    expect(await caches(entry)).toEqual([expect.stringMatching(/-0-exec\.v8$/)]);
  });

  it('is written by a warm exec whose child ends it by a signal (no exit event), once the child has started', async () => {
    const entry = await freshEntry();
    const r = await runFile(entry, ['exec', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'], env());
    expect(r.signal).toBe('SIGTERM');
    expect(await caches(entry)).toEqual([expect.stringMatching(/-0-exec\.v8$/)]);
  });

  it('holds code, not what the run read: no part of the token is in it', async () => {
    const entry = await freshEntry();
    expectToken(await token(entry));
    await runFile(entry, ['exec', '--', process.execPath, '-e', '0'], env());
    const names = await caches(entry);
    expect(names).toHaveLength(2);
    for (const name of names) {
      const data = await readFile(join(cacheDir(entry), name));
      for (const part of TOKEN.split('.')) expect(data.includes(part), name).toBe(false);
    }
  });

  it.each([
    ['the same length of garbage', (b: Buffer) => Buffer.alloc(b.length, 0x5a)],
    ['cut in half', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['empty', () => Buffer.alloc(0)],
    ['another byte flipped in its header', (b: Buffer) => Buffer.from(b.map((x, i) => (i === 4 ? x ^ 0xff : x)))],
  ])('a cache V8 rejects (%s) still gives the same answer, and is replaced', async (_, damage) => {
    const entry = await freshEntry();
    expectToken(await token(entry));
    const [name] = await caches(entry);
    const file = join(cacheDir(entry), name!);
    const good = await readFile(file);
    const bad = damage(good);
    await writeFile(file, bad);
    expectToken(await token(entry));
    const now = await readFile(file);
    expect(now.equals(bad)).toBe(false);
    expect(now.length).toBeGreaterThan(1000);
  });

  it('is written by the first run that takes the usual path: not the one that parsed the key (once per key)', async () => {
    const entry = await freshEntry();
    const keyed = await makeHome(true);
    const run = () => runFile(entry, ['token'], env({ OMNI_AUTH_HOME: keyed }));
    expectToken(await run());
    // The key parser ran (its answer is recorded for later runs) and the run wrote no cache.
    expect(Object.keys(JSON.parse(await readFile(join(keyed, KEY_RECORDS_FILE), 'utf8')).keys)).toHaveLength(1);
    expect(await caches(entry)).toEqual([]);
    expectToken(await run());
    expect(await caches(entry)).toEqual([expect.stringMatching(/-0-token\.v8$/)]);
  });

  it('is not written when the entry hands the command to the full CLI', async () => {
    const entry = await freshEntry();
    // --min-ttl over the token's life: the full CLI goes for a new one (and refuses OMNI_AUTH_LOCK_TIMEOUT=never).
    const r = await runFile(entry, ['token', '--min-ttl', '7200'], env());
    expect(r.code).toBe(2);
    expect((await runFile(entry, ['--version'], env())).code).toBe(0);
    expect(await caches(entry)).toEqual([]);
  });

  it('is neither read nor written through a link, nor in a directory others may write to', async () => {
    const linked = await freshEntry();
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o700 });
    await symlink(elsewhere, cacheDir(linked));
    expectToken(await token(linked));
    expect(await readdir(elsewhere)).toEqual([]);

    const open = await freshEntry();
    await mkdir(cacheDir(open));
    await chmod(cacheDir(open), 0o777);
    expectToken(await token(open));
    expect(await readdir(cacheDir(open))).toEqual([]);
  });

  it('under other V8 flags is another file, and leaves the first alone', async () => {
    const entry = await freshEntry();
    expectToken(await token(entry));
    const [plain] = await caches(entry);
    const before = await stat(join(cacheDir(entry), plain!));
    expectToken(await token(entry, ['--stack-size=900']));
    const names = await caches(entry);
    expect(names).toHaveLength(2);
    expect(names.find((n) => n !== plain)).toMatch(/-[0-9a-z]+-token\.v8$/);
    const after = await stat(join(cacheDir(entry), plain!));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('an edit of the entry in place never meets the cache of the code before it, even at the same length', async () => {
    const entry = await freshEntry();
    const header = async () => (await runFile(entry, ['token', '--format', 'header'], env())).stdout;
    expect(await header()).toBe(`Authorization: Bearer ${TOKEN}\n`);
    await sameLengthEdit(entry, 'PWNED!');
    expect(await header()).toBe(`Authorization: PWNED! ${TOKEN}\n`);
    // Only the new state's cache is left.
    expect(await caches(entry)).toHaveLength(1);
  });

  describe('a cache someone else could have put there is not run', () => {
    /**
     * A copy of the entry that differs only in the header's word (same length: V8 takes its cache for
     * the real entry), its cache planted under the real entry's cache name. Run from a private
     * directory, it is used (the control: the plant works); each case then breaks one condition.
     */
    async function planted(): Promise<{ entry: string; cache: string; bytes: Buffer }> {
      const variant = await freshEntry();
      await sameLengthEdit(variant, 'PWNED!');
      await runFile(variant, ['token', '--format', 'header'], env());
      const [variantCache] = await caches(variant);
      const bytes = await readFile(join(cacheDir(variant), variantCache!));
      const entry = await freshEntry();
      await runFile(entry, ['token', '--format', 'header'], env());
      const [name] = await caches(entry);
      const cache = join(cacheDir(entry), name!);
      await writeFile(cache, bytes);
      return { entry, cache, bytes };
    }
    const header = async (entry: string) => (await runFile(entry, ['token', '--format', 'header'], env())).stdout;
    const GENUINE = `Authorization: Bearer ${TOKEN}\n`;

    it('control: in a private directory, as a private file, it is run', async () => {
      const { entry } = await planted();
      expect(await header(entry)).toBe(`Authorization: PWNED! ${TOKEN}\n`);
    });

    it.each([['group-writable', 0o770], ['others may enter', 0o705], ['open to all', 0o777]])('in a directory %s', async (_, mode) => {
      const { entry } = await planted();
      await chmod(cacheDir(entry), mode);
      expect(await header(entry)).toBe(GENUINE);
    });

    it('behind a directory that is a link', async () => {
      const { entry } = await planted();
      const real = join(entry, '..', 'real-cache-dir');
      await rename(cacheDir(entry), real);
      await symlink(real, cacheDir(entry));
      expect(await header(entry)).toBe(GENUINE);
    });

    it('as a file that is a link (replaced, the link\'s target untouched)', async () => {
      const { entry, cache, bytes } = await planted();
      const elsewhere = join(entry, '..', 'planted.v8');
      await rename(cache, elsewhere);
      await symlink(elsewhere, cache);
      expect(await header(entry)).toBe(GENUINE);
      expect((await readFile(elsewhere)).equals(bytes)).toBe(true);
      expect((await lstat(cache)).isFile()).toBe(true);
    });

    it('as a file others may write to', async () => {
      const { entry, cache } = await planted();
      await chmod(cache, 0o666);
      expect(await header(entry)).toBe(GENUINE);
    });

    it('as a file with a second link', async () => {
      const { entry, cache } = await planted();
      await link(cache, join(entry, '..', 'second-link.v8'));
      expect(await header(entry)).toBe(GENUINE);
    });

    it.runIf(process.getuid?.() === 0)('as a file or a directory of another user (as root)', async () => {
      const file = await planted();
      await chown(file.cache, 65534, 65534);
      expect(await header(file.entry)).toBe(GENUINE);
      const folder = await planted();
      await chown(cacheDir(folder.entry), 65534, 65534);
      expect(await header(folder.entry)).toBe(GENUINE);
    });
  });

  it('stack frames in the warm code name the entry file\'s own lines, with the cache and without', async () => {
    const entry = await freshEntry();
    // A preload that records the stack of the write of the token to stdout.
    const hook = join(entry, '..', 'stack-hook.cjs');
    await writeFile(hook, [
      "const fs = require('node:fs'); const write = fs.writeSync;",
      "fs.writeSync = function (fd, ...rest) { if (fd === 1 && !globalThis.__seen) { globalThis.__seen = 1; write(2, new Error('where').stack + '\\n'); } return write(fd, ...rest); };",
    ].join('\n'));
    const lines = (await readFile(entry, 'utf8')).split('\n');
    for (let run = 0; run < 2; run++) {
      const r = await token(entry, ['--require', hook]);
      expect(r.stdout).toBe(`${TOKEN}\n`);
      const frame = /at writeStdout \((.+):(\d+):(\d+)\)/.exec(r.stderr);
      expect(frame?.[1]).toBe(entry);
      expect(lines[Number(frame![2]) - 1]).toContain('function writeStdout(');
    }
    expect(await caches(entry)).toHaveLength(1);
  });

  it('an entry whose line ends were rewritten (CRLF) still runs, without a cache', async () => {
    const entry = await freshEntry();
    await writeFile(entry, (await readFile(entry, 'utf8')).replace(/\n/g, '\r\n'));
    for (let i = 0; i < 2; i++) expectToken(await token(entry));
    expect(await caches(entry)).toEqual([]);
  });

  it('OMNI_AUTH_CODE_CACHE=0 reads and writes none', async () => {
    const entry = await freshEntry();
    expectToken(await runFile(entry, ['token'], env({ OMNI_AUTH_CODE_CACHE: '0' })));
    expect(await caches(entry)).toEqual([]);
    expectToken(await token(entry));
    const [name] = await caches(entry);
    await writeFile(join(cacheDir(entry), name!), Buffer.alloc(100, 0x5a));
    // A cache that would be rejected anyway is left as it is: nothing is read or written.
    expectToken(await runFile(entry, ['token'], env({ OMNI_AUTH_CODE_CACHE: '0' })));
    expect((await readFile(join(cacheDir(entry), name!))).equals(Buffer.alloc(100, 0x5a))).toBe(true);
  });

  it('temporary files of processes that are gone are removed when a cache is written; a live one\'s are not', async () => {
    const entry = await freshEntry();
    await mkdir(cacheDir(entry), { mode: 0o700 });
    const prefixOf = async () => {
      expectToken(await token(entry));
      const [name] = await caches(entry);
      return name!;
    };
    const name = await prefixOf();
    const dead = `${name}.2147483646.tmp`;
    const live = `${name}.${process.pid}.tmp`;
    for (const t of [dead, live]) await writeFile(join(cacheDir(entry), t), 'partial', { mode: 0o600 });
    // A rejected cache makes the next run write one.
    await writeFile(join(cacheDir(entry), name), Buffer.alloc(10));
    expectToken(await token(entry));
    expect(await caches(entry)).toEqual([name, live].sort());
  });

  it('of another build is removed when this build writes its own', async () => {
    const entry = await freshEntry();
    await mkdir(cacheDir(entry), { mode: 0o700 });
    const stale = `0000000000000000-${process.version}-${process.platform}-${process.arch}-0-token.v8`;
    await writeFile(join(cacheDir(entry), stale), 'from an older build', { mode: 0o600 });
    expectToken(await token(entry));
    const names = await caches(entry);
    expect(names).toHaveLength(1);
    expect(names[0]).not.toBe(stale);
  });
});
