/**
 * The MCP write path in a cloned repository laid out by an attacker (issue 9 §1, §6): links committed
 * beside or instead of a project's MCP config, a project folder that leads out of the project, a
 * read-only config, a config that comes to hold a token under umask 000 — and a user's own dotfiles
 * link, which is followed and announced. The project is the current directory, as for the CLI.
 */
import { chmod, lstat, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyToFile, backupPath, backupRecordPath, newRun } from '../../src/mcp/apply.js';
import { JWT, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
let omniHome: string;
let victim: string;
const saved = { cwd: process.cwd(), HOME: process.env.HOME };
const VICTIM_TEXT = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVictim victim@laptop\n';
/** The attacker's committed config: any edit of it must not reach the victim. */
const REPO_CONFIG = '{"mcpServers": {"omnispindle": {"command": "npx", "args": ["-y", "evil"]}}}\n';

beforeEach(async () => {
  home = await tempHome();
  omniHome = process.env.OMNI_AUTH_HOME as string;
  process.env.HOME = home.dir;
  process.chdir(home.cwd);
  await mkdir(join(home.dir, '.ssh'), { recursive: true });
  victim = join(home.dir, '.ssh', 'authorized_keys');
  await writeFile(victim, VICTIM_TEXT);
});
afterEach(async () => {
  process.chdir(saved.cwd);
  process.env.HOME = saved.HOME;
  await home.cleanup();
});

const addEntry = (t: string | undefined) => {
  const doc = JSON.parse(t ?? '{}') as { mcpServers?: Record<string, unknown> };
  return `${JSON.stringify({ ...doc, mcpServers: { ...doc.mcpServers, added: { command: 'x' } } }, null, 2)}\n`;
};
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function projectFile(name: string, content = REPO_CONFIG): Promise<string> {
  const path = join(home.cwd, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

describe('backups', () => {
  it('a committed `<config>.omni-auth.bak` link to ~/.ssh/authorized_keys no longer touches it: the backup goes under OMNI_AUTH_HOME', async () => {
    const path = await projectFile('.vscode/mcp.json');
    await symlink(victim, `${path}.omni-auth.bak`);

    const r = await applyToFile(path, addEntry, { run: newRun() });

    expect(await readFile(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(await readlink(`${path}.omni-auth.bak`)).toBe(victim);
    const backup = backupPath(path);
    expect(r.backup).toBe(backup);
    expect(backup.startsWith(join(omniHome, 'backups'))).toBe(true);
    expect(await readFile(backup, 'utf8')).toBe(REPO_CONFIG);
    expect(await modeOf(backup)).toBe(0o600);
    expect(await modeOf(join(omniHome, 'backups'))).toBe(0o700);
    const record = JSON.parse(await readFile(backupRecordPath(backup), 'utf8')) as { path: string; backed_up_at: string };
    expect(record.path).toBe(path);
    expect(Number.isNaN(Date.parse(record.backed_up_at))).toBe(false);
    // Nothing of omni-auth's is left beside the project's file.
    expect((await readdir(join(home.cwd, '.vscode'))).sort()).toEqual(['mcp.json', 'mcp.json.omni-auth.bak']);
  });

  it('two files of the same name in different folders get different backups', async () => {
    const a = await projectFile('.vscode/mcp.json');
    const b = await projectFile('.cursor/mcp.json', '{"b": 1}');
    expect(backupPath(a)).not.toBe(backupPath(b));
    await applyToFile(a, addEntry, { run: newRun() });
    await applyToFile(b, addEntry, { run: newRun() });
    expect(await readFile(backupPath(a), 'utf8')).toBe(REPO_CONFIG);
    expect(await readFile(backupPath(b), 'utf8')).toBe('{"b": 1}');
  });

  it('a backups directory that is a link is refused (unsafe_directory); where it leads gets nothing', async () => {
    const elsewhere = join(home.dir, 'elsewhere');
    await mkdir(elsewhere);
    await mkdir(omniHome, { recursive: true });
    await symlink(elsewhere, join(omniHome, 'backups'));
    const path = await projectFile('.mcp.json');
    await expect(applyToFile(path, addEntry, { run: newRun() })).rejects.toMatchObject({ code: 'unsafe_directory' });
    expect(await readdir(elsewhere)).toEqual([]);
    expect(await readFile(path, 'utf8')).toBe(REPO_CONFIG);
  });
});

describe('links in the project', () => {
  it('a project config that is a link to a file of the user is refused (symlink_refused): no write, no lock, no backup', async () => {
    const path = join(home.cwd, '.mcp.json');
    await symlink(victim, path);
    const error = await applyToFile(path, () => REPO_CONFIG, { run: newRun() }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'symlink_refused',
      exitCode: 2,
      hint: `omni-auth does not write through symbolic links; edit ${victim} directly or pass it explicitly`,
    });
    expect(await readFile(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(await readdir(home.cwd)).toEqual(['.mcp.json']);
    await expect(stat(backupPath(path))).rejects.toThrow();
  });

  it('a project folder committed as a link out of the project (.vscode → ~/.ssh) is refused; nothing is created there', async () => {
    await symlink(join(home.dir, '.ssh'), join(home.cwd, '.vscode'));
    const path = join(home.cwd, '.vscode', 'mcp.json');
    await expect(applyToFile(path, () => REPO_CONFIG, { run: newRun() })).rejects.toMatchObject({ code: 'symlink_refused', exitCode: 2 });
    expect(await readdir(join(home.dir, '.ssh'))).toEqual(['authorized_keys']);
  });

  it('a committed lock link (`<config>.omni-auth.lock` → victim) ends in lock_unsafe; the victim is untouched', async () => {
    const path = await projectFile('.cursor/mcp.json');
    await symlink(victim, `${path}.omni-auth.lock`);
    await expect(applyToFile(path, addEntry, { run: newRun(), lockTimeoutMs: 300 })).rejects.toMatchObject({ code: 'lock_unsafe' });
    expect(await readFile(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(await readFile(path, 'utf8')).toBe(REPO_CONFIG);
  });
});

describe('user files', () => {
  it("a user config that is the user's own link into ~/dotfiles (stow) is followed, and said so", async () => {
    await mkdir(join(home.dir, 'dotfiles'));
    const real = join(home.dir, 'dotfiles', 'cursor-mcp.json');
    await writeFile(real, '{"mcpServers": {}}\n');
    await mkdir(join(home.dir, '.cursor'));
    const link = join(home.dir, '.cursor', 'mcp.json');
    await symlink(real, link);
    const notices: string[] = [];
    await applyToFile(link, addEntry, { run: newRun(), onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([`${link} is a symbolic link: writing to ${real}, the file it leads to`]);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({ mcpServers: { added: { command: 'x' } } });
  });

  it('a user config linked out of the home directory is refused', async () => {
    const outside = join(home.dir, '..', `${home.dir.split('/').pop()}-outside.json`);
    await writeFile(outside, '{}');
    const link = join(home.dir, '.gemini-settings.json');
    await symlink(outside, link);
    await expect(applyToFile(link, addEntry, { run: newRun(), onNotice: () => {} })).rejects.toMatchObject({ code: 'symlink_refused' });
    expect(await readFile(outside, 'utf8')).toBe('{}');
  });

  it('a read-only config (0444) is refused with read_only, not replaced; no backup is made', async () => {
    const path = join(home.dir, '.cursor', 'mcp.json');
    await mkdir(join(home.dir, '.cursor'));
    await writeFile(path, '{}');
    await chmod(path, 0o444);
    await expect(applyToFile(path, addEntry, { run: newRun() })).rejects.toMatchObject({ code: 'read_only', exitCode: 2, hint: `if omni-auth may change it, run: chmod u+w ${path}` });
    expect(await readFile(path, 'utf8')).toBe('{}');
    expect(await modeOf(path)).toBe(0o444);
    await expect(stat(backupPath(path))).rejects.toThrow();
  });

  it('a config that comes to hold a token is 0600 after the write, whatever its old mode, under umask 000', async () => {
    const path = join(home.dir, '.cursor', 'mcp.json');
    const plain = join(home.dir, '.cursor', 'plain.json');
    await mkdir(join(home.dir, '.cursor'));
    for (const p of [path, plain]) {
      await writeFile(p, '{"mcpServers": {}}\n');
      await chmod(p, 0o644);
    }
    const previous = process.umask(0o000);
    try {
      await applyToFile(path, () => `{"mcpServers": {"s": {"env": {"AUTH0_TOKEN": "${JWT}"}}}}\n`, { run: newRun() });
      await applyToFile(plain, addEntry, { run: newRun() });
    } finally {
      process.umask(previous);
    }
    expect(await modeOf(path)).toBe(0o600);
    // Without a token, the mode the user chose stays.
    expect(await modeOf(plain)).toBe(0o644);
  });
});
