/**
 * The `omni-auth mcp` commands and `logout`'s unwiring, through the built CLI in a temporary home (no
 * tenant needed: exec-mode wiring stores no token). (Built CLI: run `npm run build` first.)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLIENTS } from '../../src/mcp/index.js';
import type { ClientList } from '../../src/mcp/index.js';
import { cli, cliHome, type CliHome } from './cli-home.js';
import { backupPath } from '../../src/mcp/apply.js';
import { fixture } from './helpers.js';

let home: CliHome;
let cursor: string;
let claude: string;
beforeEach(async () => {
  home = await cliHome();
  cursor = join(home.dir, '.cursor', 'mcp.json');
  claude = join(home.config, 'Claude', 'claude_desktop_config.json');
});
afterEach(() => home.cleanup());

async function put(path: string, name: string): Promise<string> {
  const text = await fixture(name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return text;
}

const launcher = () => join(home.omniHome, 'bin', 'omni-auth.cjs');
const omnispindle = async (path: string) => (JSON.parse(await readFile(path, 'utf8')) as { mcpServers: Record<string, { command: string; args?: string[] }> }).mcpServers.omnispindle;

describe('omni-auth mcp', () => {
  it('list --json: every client, its files, and which servers go through omni-auth; an unparsable file with its error', async () => {
    await put(cursor, 'cursor/mcp.json');
    await put(claude, 'broken/mcp.json');
    expect((await cli(home, ['mcp', 'wire', '--client', 'cursor'])).code).toBe(0);

    const r = await cli(home, ['mcp', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const list = JSON.parse(r.stdout) as ClientList;
    expect(list.clients.map((c) => c.id)).toEqual(CLIENTS.map((c) => c.id));
    const cursorFile = list.clients.find((c) => c.id === 'cursor')!.files.find((f) => f.scope === 'user')!;
    expect(cursorFile).toMatchObject({ path: cursor, exists: true });
    expect(cursorFile.servers.map((s) => [s.name, s.wiring ?? null])).toEqual([
      ['playwright', null], ['omnispindle', 'exec'], ['context7', null], ['omnispindle-cloud', null],
    ]);
    expect(list.clients.find((c) => c.id === 'claude-desktop')!.files[0]).toMatchObject({
      path: claude, exists: true, error: { code: 'config_unparsable', line: 7, column: 5 },
    });
    expect(list.clients.find((c) => c.id === 'goose')!.files[0]).toMatchObject({ exists: false, servers: [] });

    const table = await cli(home, ['mcp', 'list', '--client', 'cursor']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`Cursor (cursor)\n  user    ${cursor}\n`);
    expect(table.stdout).toMatch(/^ +omnispindle +stdio +via omni-auth exec$/m);
    expect(table.stdout).toMatch(/^ +playwright +stdio +not wired$/m);
  });

  it('wire: an unparsable file is an error naming file, line and column (exit 2); the other clients are still wired', async () => {
    const original = await put(cursor, 'cursor/mcp.json');
    const broken = await put(claude, 'broken/mcp.json');
    const r = await cli(home, ['mcp', 'wire']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`cannot parse ${claude}: `);
    expect(r.stderr).toContain('at line 7, column 5');
    expect(r.stderr).toContain('[config_unparsable]');
    expect(await readFile(claude, 'utf8')).toBe(broken);
    expect(await omnispindle(cursor)).toEqual({
      command: process.execPath,
      args: [launcher(), 'exec', '--env-var=AUTH0_TOKEN', '--', '/usr/local/bin/omnispindle'],
      env: { OMNISPINDLE_LOG_LEVEL: 'debug' },
    });
    expect(await readFile(backupPath(cursor, home.omniHome), 'utf8')).toBe(original);

    // Wiring again changes nothing; unwiring gives the user's bytes back.
    const again = await cli(home, ['mcp', 'wire', '--client', 'cursor']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already routed through omni-auth');
    const un = await cli(home, ['mcp', 'unwire', '--client', 'cursor']);
    expect(un.code, un.stderr).toBe(0);
    expect(await readFile(cursor, 'utf8')).toBe(original);
  });

  it('add --dry-run prints the diff on stderr and writes nothing; add writes the same', async () => {
    const original = await put(cursor, 'cursor/mcp.json');
    const dry = await cli(home, ['mcp', 'add', 'tasks', '--client', 'cursor', '--dry-run', '--', 'uvx', 'tasks-mcp', '--stdio']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('');
    const args = [launcher(), 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'uvx', 'tasks-mcp', '--stdio'];
    const added = `+    },\n+    "tasks": {\n+      "command": ${JSON.stringify(process.execPath)},\n+      "args": [${args.map((a) => JSON.stringify(a)).join(', ')}]\n`;
    expect(dry.stderr).toContain(`--- ${cursor}\n+++ ${cursor}\n@@ `);
    expect(dry.stderr).toContain(added);
    expect(await readFile(cursor, 'utf8')).toBe(original);
    await expect(readFile(launcher())).rejects.toThrow();

    const r = await cli(home, ['mcp', 'add', 'tasks', '--client', 'cursor', '--', 'uvx', 'tasks-mcp', '--stdio']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(await readFile(cursor, 'utf8')) as { mcpServers: Record<string, unknown> }).mcpServers.tasks).toEqual({ command: process.execPath, args });
    expect(r.stderr).toContain('Cursor reloads the file by itself');
  });

  it('unwire --all restores every wired entry; logout does too unless --keep-mcp', async () => {
    const original = await put(cursor, 'cursor/mcp.json');
    expect((await cli(home, ['mcp', 'wire'])).code).toBe(0);
    expect((await cli(home, ['mcp', 'wire', '--server', 'playwright'])).code).toBe(0);
    const wired = await readFile(cursor, 'utf8');

    const keep = await cli(home, ['logout', '--keep-mcp']);
    expect(keep.code, keep.stderr).toBe(0);
    expect(await readFile(cursor, 'utf8')).toBe(wired);

    const out = await cli(home, ['logout']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/omnispindle: restored/);
    expect(out.stderr).toMatch(/playwright: restored/);
    expect(await readFile(cursor, 'utf8')).toBe(original);

    expect((await cli(home, ['mcp', 'wire'])).code).toBe(0);
    const all = await cli(home, ['mcp', 'unwire', '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(await readFile(cursor, 'utf8')).toBe(original);
  });

  it.each([
    [['mcp', 'wire', '--client', 'cursor,notepad'], /unknown MCP client "notepad"/],
    [['mcp', 'unwire', '--server', 'x', '--all'], /--server and --all cannot be used together/],
    [['mcp', 'add', 'tasks'], /either --url URL or a command after --/],
    [['mcp', 'add', 'tasks', '--url', 'https://x.example/mcp', '--', 'cmd'], /either --url URL or a command after --/],
    [['mcp', 'add', 'tasks', '--url', 'ftp://x.example/'], /is not an http:\/\/ or https:\/\/ URL/],
    [['mcp', 'wire', '--mode', 'file'], /--mode must be exec, env or headers/],
    [['mcp', 'wire', '--env-var', 'A-B'], /not a valid environment variable name/],
    [['mcp', 'wire', '--mode', 'env'], /missing settings/],
    [['login', '--client', 'notepad'], /unknown MCP client "notepad"/],
  ])('%j is a usage error (exit 2) that changes nothing', async (args, message) => {
    const original = await put(cursor, 'cursor/mcp.json');
    const r = await cli(home, args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(await readFile(cursor, 'utf8')).toBe(original);
  });
});
