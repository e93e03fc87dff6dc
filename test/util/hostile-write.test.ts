/**
 * writeFileAtomic against files laid out by someone else (issue 9 §1, §6): a symbolic link at the
 * target, a directory or FIFO, a file of another user, a read-only file. Each is refused with a typed
 * error and left exactly as it was — the file a link leads to included. A link of the user's own in
 * their home (dotfiles) is followed only when the caller allows it, and the caller is told.
 */
import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { UsageError } from '../../src/util/errors.js';

const isRoot = process.getuid?.() === 0;
/** nobody: a uid that is not ours (only root can give a file to it). */
const OTHER_UID = 65534;

let base: string;
let home: string;
const savedHome = process.env.HOME;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'omni-hostile-'));
  home = join(base, 'home');
  await mkdir(home);
  process.env.HOME = home; // os.homedir() reads $HOME
});
afterEach(() => {
  process.env.HOME = savedHome;
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('a symbolic link at the target', () => {
  it('is refused (symlink_refused, exit 2): the link stays and the file it leads to is untouched', async () => {
    const victim = join(base, 'authorized_keys');
    await writeFile(victim, 'ssh-ed25519 AAAA victim\n');
    const link = join(home, 'project', '.vscode', 'mcp.json');
    await mkdir(join(home, 'project', '.vscode'), { recursive: true });
    await symlink(victim, link);

    const error = await writeFileAtomic(link, 'attacker content').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'symlink_refused', exitCode: 2, details: { path: link, target: victim } });
    expect((error as UsageError).hint).toBe(`omni-auth does not write through symbolic links; edit ${victim} directly or pass it explicitly`);
    expect(await readFile(victim, 'utf8')).toBe('ssh-ed25519 AAAA victim\n');
    expect(await readlink(link)).toBe(victim);
    expect(await readdir(join(home, 'project', '.vscode'))).toEqual(['mcp.json']);
  });

  it('a dangling link is refused too, and nothing is created where it points', async () => {
    const nowhere = join(base, 'created-by-attacker');
    const link = join(home, 'tokens.json');
    await symlink(nowhere, link);
    await expect(writeFileAtomic(link, 'x', { mode: 0o600 })).rejects.toMatchObject({ code: 'symlink_refused' });
    await expect(lstat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("links: 'own' follows a link of the user's own inside their home (stow) and says so", async () => {
    await mkdir(join(home, 'dotfiles'));
    const real = join(home, 'dotfiles', 'claude.json');
    const link = join(home, '.claude.json');
    await writeFile(real, 'old');
    await chmod(real, 0o644);
    await symlink(real, link);
    const followed: Array<[string, string]> = [];
    await writeFileAtomic(link, 'new', { links: 'own', onFollow: (l, t) => followed.push([l, t]) });
    expect(followed).toEqual([[link, real]]);
    expect(await readlink(link)).toBe(real);
    expect(await readFile(real, 'utf8')).toBe('new');
    expect(await modeOf(real)).toBe(0o644);
  });

  it("links: 'own' still refuses a link that leads out of the home directory", async () => {
    const victim = join(base, 'outside.json');
    await writeFile(victim, 'victim');
    const link = join(home, '.cursor-mcp.json');
    await symlink(victim, link);
    await expect(writeFileAtomic(link, 'x', { links: 'own', onFollow: () => { throw new Error('must not follow'); } }))
      .rejects.toMatchObject({ code: 'symlink_refused' });
    expect(await readFile(victim, 'utf8')).toBe('victim');
  });

  it.runIf(isRoot)("links: 'own' refuses a link to a file of another user, inside the home", async () => {
    const theirs = join(home, 'theirs.json');
    await writeFile(theirs, 'theirs');
    await chown(theirs, OTHER_UID, OTHER_UID);
    const link = join(home, '.mine.json');
    await symlink(theirs, link);
    await expect(writeFileAtomic(link, 'x', { links: 'own' })).rejects.toMatchObject({ code: 'symlink_refused' });
    expect(await readFile(theirs, 'utf8')).toBe('theirs');
  });
});

describe('files omni-auth does not write', () => {
  it('a FIFO is refused (not_a_regular_file), without blocking on it', async () => {
    const fifo = join(home, 'settings.json');
    execFileSync('mkfifo', [fifo]);
    await expect(writeFileAtomic(fifo, 'x')).rejects.toMatchObject({ code: 'not_a_regular_file', exitCode: 2 });
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it.runIf(isRoot)('a file of another user is refused (foreign_owner) and left as it was', async () => {
    const file = join(home, 'shared.json');
    await writeFile(file, 'theirs');
    await chown(file, OTHER_UID, OTHER_UID);
    await expect(writeFileAtomic(file, 'mine')).rejects.toMatchObject({ code: 'foreign_owner', exitCode: 2, details: { owner_uid: OTHER_UID } });
    expect(await readFile(file, 'utf8')).toBe('theirs');
    expect((await stat(file)).uid).toBe(OTHER_UID);
  });

  it('a read-only file (0444) is refused (read_only) with a hint, not replaced', async () => {
    const file = join(home, 'mcp.json');
    await writeFile(file, '{"locked": true}');
    await chmod(file, 0o444);
    const error = await writeFileAtomic(file, '{}').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'read_only', exitCode: 2 });
    expect((error as UsageError).message).toContain('mode 0444');
    expect((error as UsageError).hint).toBe(`if omni-auth may change it, run: chmod u+w ${file}`);
    expect(await readFile(file, 'utf8')).toBe('{"locked": true}');
    expect(await modeOf(file)).toBe(0o444);
    expect(await readdir(home)).toEqual(['mcp.json']);
  });
});

describe('the mode, whatever the umask', () => {
  it('an explicit 0600 holds under umask 000, over an existing 0644 file', async () => {
    const file = join(home, 'config.json');
    await writeFile(file, 'x');
    await chmod(file, 0o644);
    const saved = process.umask(0o000);
    try {
      await writeFileAtomic(file, 'token inside', { mode: 0o600 });
    } finally {
      process.umask(saved);
    }
    expect(await modeOf(file)).toBe(0o600);
  });
});
