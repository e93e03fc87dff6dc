/**
 * The lost creation race: processes that find no key all try to create one; exactly one wins (exclusive
 * create), the others read the winner's key, and all act as the same Auth0 user. Deterministically, a
 * key file that appears between the check and the create (the exclusive create loses) is read back.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadOrCreateKey } from '../../src/identity/key-store.js';
import { thumbprint, type PublicJwk } from '../../src/identity/thumbprint.js';

/** Runs just before the key store's exclusive create of the key file (the window the race lives in). */
const hooks = vi.hoisted(() => ({ beforeCreate: undefined as undefined | ((path: string) => Promise<void>) }));
vi.mock('../../src/util/atomic-write.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/util/atomic-write.js')>();
  return {
    ...real,
    writeFileAtomic: async (...args: Parameters<typeof real.writeFileAtomic>) => {
      if (args[2]?.exclusive && hooks.beforeCreate) await hooks.beforeCreate(args[0]);
      return real.writeFileAtomic(...args);
    },
  };
});

const dir = () => mkdtemp(join(tmpdir(), 'omni-key-race-'));
const winnerKey = () => {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as PublicJwk & { d: string };
  const { d: _d, ...pub } = jwk;
  return { text: `${JSON.stringify({ ...jwk, alg: 'ES256' })}\n`, thumbprint: thumbprint(pub) };
};

beforeEach(() => {
  hooks.beforeCreate = undefined;
});

describe('a key file appears between the check and the create', () => {
  it('the exclusive create loses; the winner\'s key is used and left as it was', async () => {
    const home = await dir();
    const file = join(home, 'machine-key.json');
    const winner = winnerKey();
    let raced = 0;
    hooks.beforeCreate = async (path) => {
      raced += 1;
      await writeFile(path, winner.text, { mode: 0o600, flag: 'wx' });
    };
    const got = await loadOrCreateKey(file, {});
    expect(raced).toBe(1);
    expect(got).toMatchObject({ thumbprint: winner.thumbprint, created: false, source: file });
    expect(await readFile(file, 'utf8')).toBe(winner.text);
    expect(await readdir(home)).toEqual(['machine-key.json']); // the loser's temporary file is gone
    // And the next run agrees, without racing.
    expect((await loadOrCreateKey(file, {})).thumbprint).toBe(winner.thumbprint);
    expect(raced).toBe(1);
  });

  it('the winner\'s file is readable by others: refused with the chmod fix, not silently used or replaced', async () => {
    const home = await dir();
    const file = join(home, 'machine-key.json');
    const winner = winnerKey();
    hooks.beforeCreate = async (path) => writeFile(path, winner.text, { mode: 0o644, flag: 'wx' });
    await expect(loadOrCreateKey(file, {})).rejects.toMatchObject({ code: 'key_permissions', hint: `run: chmod 600 ${file}` });
    expect(await readFile(file, 'utf8')).toBe(winner.text);
  });

  it('what appeared is a dangling link: an error naming the file, no unsaved key', async () => {
    const home = await dir();
    const file = join(home, 'machine-key.json');
    hooks.beforeCreate = async (path) => symlink(join(home, 'nowhere'), path);
    await expect(loadOrCreateKey(file, {})).rejects.toMatchObject({ code: 'key_unusable', message: expect.stringContaining(file) });
    expect(await readdir(home)).toEqual(['machine-key.json']);
  });

  it('the winner\'s key is broken: refused naming the file, never replaced by the loser\'s', async () => {
    const home = await dir();
    const file = join(home, 'machine-key.json');
    hooks.beforeCreate = async (path) => writeFile(path, '{"kty":"EC"', { mode: 0o600, flag: 'wx' });
    await expect(loadOrCreateKey(file, {})).rejects.toMatchObject({ code: 'key_invalid', message: expect.stringContaining(file) });
    expect(await readFile(file, 'utf8')).toBe('{"kty":"EC"');
  });
});

describe('processes racing on an empty home', () => {
  let worker: string;
  beforeAll(async () => {
    worker = join(await dir(), 'create-key.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/create-key.ts', import.meta.url))],
      outfile: worker, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error',
    });
  });

  it('8 processes: exactly one creates the key, all agree on it', async () => {
    const home = await dir();
    const file = join(home, 'machine-key.json');
    const procs = Array.from({ length: 8 }, () => {
      const child = spawn(process.execPath, [worker, file], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.startsWith('ready\n')) resolve();
        });
        child.once('exit', () => reject(new Error(`worker exited before it was ready: ${err}`)));
      });
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.once('close', (code) => resolve({ code, out, err })));
      return { child, ready, done };
    });
    await Promise.all(procs.map((p) => p.ready));
    for (const p of procs) p.child.stdin.end('go\n');
    const results = await Promise.all(procs.map((p) => p.done));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const got = results.map((r) => JSON.parse(r.out.split('\n')[1]!) as { thumbprint: string; created: boolean });
    expect(new Set(got.map((g) => g.thumbprint)).size).toBe(1);
    expect(got.filter((g) => g.created)).toHaveLength(1);
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as PublicJwk & { d: string };
    const { d: _d, ...pub } = onDisk;
    expect(thumbprint(pub)).toBe(got[0]!.thumbprint);
    expect(await readdir(home)).toEqual(['machine-key.json']);
  });
});
