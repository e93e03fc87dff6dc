/**
 * The built CLI against files laid out by an attacker or by an unusual user (issue 9 §1, §6, §7): a
 * link committed beside an MCP config where the old backup went, a read-only config, a dotfiles link,
 * and a dangling link at the token cache's lock. (Built CLI: run `npm run build` first.)
 */
import { chmod, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupPath } from '../../src/mcp/apply.js';
import { cli, cliHome, type CliHome } from './cli-home.js';
import { fixture } from './helpers.js';

let home: CliHome;
let cursorPath: string;
let victim: string;
const VICTIM_TEXT = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVictim victim@laptop\n';

beforeEach(async () => {
  home = await cliHome({ OMNI_AUTH_DOMAIN: 'tenant.example.com', OMNI_AUTH_CLIENT_ID: 'client', OMNI_AUTH_AUDIENCE: 'https://api.example.com' });
  cursorPath = join(home.dir, '.cursor', 'mcp.json');
  await mkdir(dirname(cursorPath), { recursive: true });
  victim = join(home.dir, '.ssh', 'authorized_keys');
  await mkdir(dirname(victim), { recursive: true });
  await writeFile(victim, VICTIM_TEXT);
});
afterEach(() => home.cleanup());

describe('the CLI in a hostile file system', () => {
  it('mcp wire: a `<config>.omni-auth.bak` link to authorized_keys is left alone; the backup is in OMNI_AUTH_HOME and the report names it', async () => {
    const original = await fixture('cursor/mcp.json');
    await writeFile(cursorPath, original);
    await symlink(victim, `${cursorPath}.omni-auth.bak`);

    const r = await cli(home, ['mcp', 'wire', '--client', 'cursor']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(await readlink(`${cursorPath}.omni-auth.bak`)).toBe(victim);
    const backup = backupPath(cursorPath, home.omniHome);
    expect(await readFile(backup, 'utf8')).toBe(original);
    expect(r.stderr).toContain(backup);
    expect((await readdir(dirname(cursorPath))).sort()).toEqual(['mcp.json', 'mcp.json.omni-auth.bak']);
  });

  it('mcp wire: a read-only config is refused with a clear error (exit 2), not replaced', async () => {
    const original = await fixture('cursor/mcp.json');
    await writeFile(cursorPath, original);
    await chmod(cursorPath, 0o444);
    const r = await cli(home, ['mcp', 'wire', '--client', 'cursor']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cursorPath} is read-only (mode 0444)`);
    expect(r.stderr).toContain(`chmod u+w ${cursorPath}`);
    expect(await readFile(cursorPath, 'utf8')).toBe(original);
  });

  it("mcp wire: the user's own dotfiles link is followed, and stderr says where the write went", async () => {
    const real = join(home.dir, 'dotfiles', 'cursor-mcp.json');
    await mkdir(dirname(real), { recursive: true });
    await writeFile(real, await fixture('cursor/mcp.json'));
    await symlink(real, cursorPath);
    const r = await cli(home, ['mcp', 'wire', '--client', 'cursor']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${cursorPath} is a symbolic link: writing to ${real}`);
    expect(await readlink(cursorPath)).toBe(real);
    expect(await readFile(real, 'utf8')).toContain('"exec"');
  });

  it('token: a dangling link at the cache lock ends with a clear error (exit 2) instead of spinning forever', async () => {
    await mkdir(home.omniHome, { recursive: true, mode: 0o700 });
    const lock = join(home.omniHome, 'tokens.lock');
    await symlink(join(home.dir, 'nowhere'), lock);
    const r = await cli({ ...home, env: { ...home.env, OMNI_AUTH_LOCK_TIMEOUT: '2' } }, ['token']);
    // It returned by itself (the harness SIGKILLs a CLI that runs for a minute).
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`the lock file ${lock} is a symbolic link`);
    expect(r.stderr).toContain(`remove ${lock}`);
  });
});
