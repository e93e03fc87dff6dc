import { chmod, mkdir, mkdtemp, readFile, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, writeFileAtomic } from '../../src/util/atomic-write.js';
import { OmniAuthError } from '../../src/util/errors.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'omni-aw-'));
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('writeFileAtomic', () => {
  it('creates a new file 0600 by default, leaving nothing else in the directory', async () => {
    const dir = await tempDir();
    const file = join(dir, 'tokens.json');
    await expect(writeFileAtomic(file, '{"a":1}\n')).resolves.toBe(true);
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n');
    expect(await modeOf(file)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['tokens.json']);
  });

  it('replaces existing content and keeps the existing mode when none is given', async () => {
    const file = join(await tempDir(), 'settings.json');
    await writeFile(file, 'old content that is longer than the new one');
    await chmod(file, 0o640);
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await modeOf(file)).toBe(0o640);
  });

  it('applies an explicit mode, over the existing one', async () => {
    const file = join(await tempDir(), 'config.json');
    await writeFile(file, 'x');
    await chmod(file, 0o644);
    await writeFileAtomic(file, 'y', { mode: 0o600 });
    expect(await modeOf(file)).toBe(0o600);
    await writeFileAtomic(file, 'z', { mode: 0o644 });
    expect(await modeOf(file)).toBe(0o644);
  });

  it('writes a Buffer byte for byte', async () => {
    const file = join(await tempDir(), 'blob');
    const data = Buffer.from([0, 255, 10, 13, 128]);
    await writeFileAtomic(file, data);
    expect(Buffer.compare(await readFile(file), data)).toBe(0);
  });

  it('exclusive: creates an absent file, and leaves an existing one untouched (false)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'machine-key.json');
    await expect(writeFileAtomic(file, 'first', { mode: 0o600, exclusive: true })).resolves.toBe(true);
    await expect(writeFileAtomic(file, 'second', { mode: 0o600, exclusive: true })).resolves.toBe(false);
    expect(await readFile(file, 'utf8')).toBe('first');
    expect(await modeOf(file)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['machine-key.json']);
  });

  it('exclusive: of parallel creators exactly one wins', async () => {
    const dir = await tempDir();
    const file = join(dir, 'key');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => writeFileAtomic(file, `writer ${i}`, { exclusive: true })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readFile(file, 'utf8')).toBe(`writer ${results.indexOf(true)}`);
    expect(await readdir(dir)).toEqual(['key']);
  });

  it('fails with write_failed naming the file (never the data) when the directory is missing', async () => {
    const file = join(await tempDir(), 'missing', 'tokens.json');
    const error = await writeFileAtomic(file, 'SECRET-TOKEN-VALUE').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OmniAuthError);
    const e = error as OmniAuthError;
    expect(e.code).toBe('write_failed');
    expect(e.message).toContain(file);
    expect(e.hint).toContain('does not exist');
    expect(JSON.stringify(e.toJSON())).not.toContain('SECRET-TOKEN-VALUE');
  });

  it('refuses a directory at the target (not_a_regular_file), creating nothing beside it', async () => {
    const dir = await tempDir();
    const target = join(dir, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'x');
    await expect(writeFileAtomic(target, 'data')).rejects.toMatchObject({ code: 'not_a_regular_file', exitCode: 2 });
    expect(await readdir(dir)).toEqual(['taken']);
  });

  it('removes temporary files a killed writer left behind once they are 10 minutes old, and only those', async () => {
    const dir = await tempDir();
    const file = join(dir, 'tokens.json');
    const old = join(dir, '.tokens.json.omni-tmp-123-aaaaaaaaaaaa');
    const young = join(dir, '.tokens.json.omni-tmp-456-bbbbbbbbbbbb');
    const otherTargets = join(dir, '.settings.json.omni-tmp-789-cccccccccccc');
    for (const f of [old, young, otherTargets]) await writeFile(f, 'partial');
    const longAgo = new Date(Date.now() - 11 * 60_000);
    await utimes(old, longAgo, longAgo);
    await utimes(otherTargets, longAgo, longAgo);
    await writeFileAtomic(file, 'x');
    expect((await readdir(dir)).sort()).toEqual(['.settings.json.omni-tmp-789-cccccccccccc', '.tokens.json.omni-tmp-456-bbbbbbbbbbbb', 'tokens.json']);
  });
});

describe('ensurePrivateDir', () => {
  const savedHome = process.env.HOME;
  afterEach(() => {
    process.env.HOME = savedHome;
  });

  it('creates missing directories, parents included, 0700', async () => {
    const base = await tempDir();
    const dir = join(base, 'a', 'omni-auth');
    await ensurePrivateDir(dir);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(base, 'a'))).toBe(0o700);
  });

  it('tightens an existing directory open to group or others to 0700', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    await ensurePrivateDir(dir);
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('leaves the user home directory as it is (OMNI_AUTH_HOME=~ must not chmod ~)', async () => {
    const home = await tempDir();
    await chmod(home, 0o755);
    process.env.HOME = home; // os.homedir() reads $HOME
    await ensurePrivateDir(home);
    expect(await modeOf(home)).toBe(0o755);
  });

  it('noFollow: refuses a symbolic link in its place (unsafe_directory), and leaves where it leads alone', async () => {
    const base = await tempDir();
    const elsewhere = join(base, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o755 });
    await chmod(elsewhere, 0o755);
    await symlink(elsewhere, join(base, 'backups'));
    await expect(ensurePrivateDir(join(base, 'backups'), { noFollow: true })).rejects.toMatchObject({ code: 'unsafe_directory', exitCode: 2 });
    expect(await modeOf(elsewhere)).toBe(0o755);
  });

  it('fails with not_a_directory when a file is in the way', async () => {
    const file = join(await tempDir(), 'omni-auth');
    await writeFile(file, '');
    await expect(ensurePrivateDir(file)).rejects.toMatchObject({ code: 'not_a_directory', exitCode: 2 });
    await expect(ensurePrivateDir(join(file, 'below'))).rejects.toMatchObject({ code: 'not_a_directory' });
  });
});
