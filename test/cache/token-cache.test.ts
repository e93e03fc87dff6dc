import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  cacheKeyOf,
  deleteEntries,
  getEntry,
  isFresh,
  putEntry,
  readCache,
  type CachedToken,
} from '../../src/cache/token-cache.js';

const SECRET = 'eyJhbGciOiJSUzI1NiJ9.SECRET-ACCESS-TOKEN.sig';

function token(overrides: Partial<CachedToken> = {}): CachedToken {
  return {
    access_token: SECRET,
    token_type: 'Bearer',
    expires_at: 2_000_000_000,
    obtained_at: 1_999_996_400,
    scope: 'openid email',
    refresh_token: 'v1.SECRET-REFRESH-TOKEN',
    subject: 'auth0|machine-1',
    ...overrides,
  };
}

const tenantA = { domain: 'https://a.eu.auth0.com', clientId: 'cid', audience: 'https://api.example.com', scope: 'openid email' };
const tenantB = { ...tenantA, domain: 'https://b.us.auth0.com' };

async function cacheFile(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'omni-cache-')), 'tokens.json');
}

function expectNoSecret(warning: string | undefined): void {
  expect(warning).toBeDefined();
  expect(warning).not.toContain('SECRET');
}

describe('token cache file', () => {
  it('an absent file is an empty cache, without a warning', async () => {
    await expect(readCache(await cacheFile())).resolves.toEqual({ entries: {} });
  });

  it('round-trips an entry into a 0600 versioned JSON document, leaving no temp file', async () => {
    const file = await cacheFile();
    const key = cacheKeyOf(tenantA);
    await putEntry(file, key, token());

    expect(await readCache(file)).toEqual({ entries: { [key]: token() } });
    expect(await getEntry(file, key)).toEqual({ token: token() });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, entries: { [key]: token() } });
    expect(await readdir(join(file, '..'))).toEqual(['tokens.json']);
  });

  it('keeps one entry per tenant/client/audience/scope set, and replaces an entry in place', async () => {
    const file = await cacheFile();
    await putEntry(file, cacheKeyOf(tenantA), token({ subject: 'a' }));
    await putEntry(file, cacheKeyOf(tenantB), token({ subject: 'b' }));
    await putEntry(file, cacheKeyOf({ ...tenantA, scope: 'openid' }), token({ subject: 'a-openid' }));
    await putEntry(file, cacheKeyOf({ ...tenantA, scope: 'email openid' }), token({ subject: 'a-again' }));

    const { entries } = await readCache(file);
    expect(Object.keys(entries)).toHaveLength(3);
    expect(entries[cacheKeyOf(tenantA)]?.subject).toBe('a-again');
    expect(entries[cacheKeyOf(tenantB)]?.subject).toBe('b');
    expect((await getEntry(file, cacheKeyOf({ ...tenantB, audience: 'https://other' }))).token).toBeUndefined();
  });

  it('refuses to store under a key cacheKeyOf did not make', async () => {
    await expect(putEntry(await cacheFile(), 'tenant-a', token())).rejects.toThrow('not a cache key');
  });

  it('a corrupt file is empty, with a warning that quotes nothing of it, and is rewritten by the next put', async () => {
    const file = await cacheFile();
    await writeFile(file, `{"version":1,"entries":{"x":{"access_token":"${SECRET}" garbage`, { mode: 0o600 });
    const read = await readCache(file);
    expect(read.entries).toEqual({});
    expectNoSecret(read.warning);
    expect(read.warning).toContain(file);
    expect(read.warning).toContain('not valid JSON');

    const key = cacheKeyOf(tenantA);
    await putEntry(file, key, token({ subject: 'fresh' }));
    expect(await readCache(file)).toEqual({ entries: { [key]: token({ subject: 'fresh' }) } });
  });

  it('a truncated file (cut mid-token) is empty, with a warning', async () => {
    const file = await cacheFile();
    await putEntry(file, cacheKeyOf(tenantA), token());
    const full = await readFile(file, 'utf8');
    await writeFile(file, full.slice(0, full.indexOf('SECRET-ACCESS') + 10));
    const read = await readCache(file);
    expect(read.entries).toEqual({});
    expectNoSecret(read.warning);
  });

  it('an empty file (aws-cli #5528) is empty, with a warning', async () => {
    const file = await cacheFile();
    await writeFile(file, '');
    expect(await readCache(file)).toEqual({ entries: {}, warning: expect.stringContaining('is empty') });
  });

  it.each([
    ['an array', '[]', 'not a JSON object'],
    ['no version', '{"entries":{}}', 'no known format version'],
    ['a newer version', '{"version":2,"entries":{}}', 'newer omni-auth'],
    ['entries not an object', '{"version":1,"entries":[]}', 'no "entries" object'],
  ])('a file of the wrong shape (%s) is empty, with a warning', async (_, text, why) => {
    const file = await cacheFile();
    await writeFile(file, text);
    const read = await readCache(file);
    expect(read.entries).toEqual({});
    expect(read.warning).toContain(why);
  });

  it('drops malformed entries one by one, keeps the good ones, and says how many it dropped', async () => {
    const file = await cacheFile();
    const good = cacheKeyOf(tenantA);
    await writeFile(file, JSON.stringify({
      version: 1,
      entries: {
        [good]: token(),
        [cacheKeyOf(tenantB)]: { ...token(), expires_at: 'soon' },
        'not-a-key': token(),
        [cacheKeyOf({ ...tenantA, scope: 'openid' })]: { ...token(), access_token: '' },
        [cacheKeyOf({ ...tenantB, scope: 'openid' })]: { ...token(), refresh_token: 42 },
      },
    }));
    const read = await readCache(file);
    expect(read.entries).toEqual({ [good]: token() });
    expect(read.warning).toContain('ignored 4 malformed entries');
    expectNoSecret(read.warning);
  });

  it('an unreadable cache is a usage error naming the file', async () => {
    const file = await cacheFile();
    await mkdir(file); // a directory where the file should be: EISDIR
    await expect(readCache(file)).rejects.toMatchObject({ code: 'cache_unreadable', exitCode: 2, message: expect.stringContaining(file) });
  });
});

describe('deleteEntries', () => {
  it('removes the selected entries and returns them (for revocation)', async () => {
    const file = await cacheFile();
    await putEntry(file, cacheKeyOf(tenantA), token({ subject: 'a' }));
    await putEntry(file, cacheKeyOf(tenantB), token({ subject: 'b' }));
    const removed = await deleteEntries(file, (key) => key.domain === tenantA.domain);
    expect(removed).toEqual({ [cacheKeyOf(tenantA)]: token({ subject: 'a' }) });
    expect(Object.keys((await readCache(file)).entries)).toEqual([cacheKeyOf(tenantB)]);
  });

  it('removes everything without a predicate', async () => {
    const file = await cacheFile();
    await putEntry(file, cacheKeyOf(tenantA), token());
    await putEntry(file, cacheKeyOf(tenantB), token());
    expect(Object.keys(await deleteEntries(file))).toHaveLength(2);
    expect(await readCache(file)).toEqual({ entries: {} });
  });

  it('does not create an absent file, and rewrites a corrupt one empty', async () => {
    const file = await cacheFile();
    expect(await deleteEntries(file)).toEqual({});
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });

    await writeFile(file, 'garbage');
    expect(await deleteEntries(file, () => false)).toEqual({});
    expect(await readCache(file)).toEqual({ entries: {} });
  });
});

describe('isFresh', () => {
  const now = 1_000_000;
  it.each([
    [301, 300, true],
    [300, 300, false], // exactly minTtl left is not enough: "more than minTtl"
    [299, 300, false],
    [1, 0, true],
    [0, 0, false], // expiring this second
    [-10, 0, false],
  ])('%d s left, minTtl %d → %s', (left, minTtl, fresh) => {
    expect(isFresh(token({ expires_at: now + left }), minTtl, now)).toBe(fresh);
  });
});

describe('the warm path', () => {
  it('reading the cache loads no npm package, only node built-ins and our own files', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../src/cache/token-cache.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'error',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.every((p) => p.startsWith('src/'))).toBe(true);
    expect(inputs.sort()).toEqual(['src/cache/key.ts', 'src/cache/token-cache.ts', 'src/util/atomic-write.ts', 'src/util/errors.ts']);
  });
});
