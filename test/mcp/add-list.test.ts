/** `mcp add` (new entries, wired) and `mcp list` (what is where, and what goes through omni-auth). */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addServer, CLIENTS, listClients, renderList, resolveFiles, wireClients, findClient } from '../../src/mcp/index.js';
import { editorFor } from '../../src/mcp/formats/index.js';
import { Secret } from '../../src/util/secret.js';
import { changedRange, fixture, install, JWT, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeEach(async () => {
  home = await tempHome();
});
afterEach(() => home.cleanup());

const target = () => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, launcherPath: LAUNCHER, nodePath: NODE });
const pathOf = (client: string, scope: 'user' | 'project' = 'user') =>
  resolveFiles({ env: home.env, platform: 'linux', cwd: home.cwd }, [findClient(client)!]).find((f) => f.scope === scope)!.path;

describe('addServer', () => {
  it('adds a wired stdio entry in each client\'s own shape, only inserting text', async () => {
    const files = {
      // In registry order, which is the report's order.
      cursor: ['cursor/mcp.json', ['mcpServers']],
      zed: ['zed/settings.json', ['context_servers']],
      codex: ['codex/config.toml', ['mcp_servers']],
      goose: ['goose/config.yaml', ['extensions']],
    } as const;
    for (const [client, [name]] of Object.entries(files)) await install(home, client, 'user', name);
    const r = await addServer({ ...target(), clients: Object.keys(files), name: 'tasks', command: 'uvx', args: ['tasks-mcp', '--stdio'] });
    expect(r.files.map((f) => [f.client, f.status, f.servers[0]?.outcome, f.servers[0]?.wiring])).toEqual(
      Object.keys(files).map((c) => [c, 'changed', 'added', 'exec']));
    const args = [LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'uvx', 'tasks-mcp', '--stdio'];
    for (const [client, [name, container]] of Object.entries(files)) {
      const spec = findClient(client)!;
      const editor = editorFor(spec.format);
      const before = await fixture(name);
      const after = await readFile(pathOf(client), 'utf8');
      const entry = editor.getIn(after, [...container, 'tasks']) as Record<string, unknown>;
      expect(entry).toEqual({ ...spec.entry.stdio('tasks', NODE, args) });
      const d = changedRange(before, after);
      expect(d.endA).toBe(d.start); // a pure insertion
      if (spec.format !== 'toml') expect(editor.setIn(after, [...container, 'tasks'], undefined)).toBe(before);
    }
  });

  it('adds a remote entry: a header helper for Claude Code, through omni-auth proxy elsewhere (no token), nothing for Claude Desktop', async () => {
    await install(home, 'claude-code', 'user', 'claude-code/claude.json');
    await install(home, 'vscode', 'user', 'vscode/mcp.json');
    await install(home, 'claude-desktop', 'user', 'claude-desktop/claude_desktop_config.json');
    const getToken = vi.fn(async () => new Secret(JWT));
    const r = await addServer({ ...target(), clients: ['claude-code', 'vscode', 'claude-desktop'], name: 'tasks', url: 'https://tasks.example/mcp', getToken });
    const by = Object.fromEntries(r.files.map((f) => [f.client, f]));
    expect(getToken).not.toHaveBeenCalled();
    expect(by['claude-code']?.servers).toMatchObject([{ outcome: 'added', wiring: 'headers-helper', holdsToken: false }]);
    expect(by.vscode?.servers).toMatchObject([{ outcome: 'added', wiring: 'proxy', holdsToken: false }]);
    expect(editorFor('jsonc').getIn(await readFile(pathOf('vscode'), 'utf8'), ['servers', 'tasks'])).toEqual({
      type: 'stdio', command: NODE, args: [LAUNCHER, 'proxy', 'https://tasks.example/mcp'],
    });
    expect(by['claude-desktop']?.servers).toMatchObject([{ outcome: 'skipped', code: 'remote_unsupported' }]);
  });

  it('adds a remote entry with --mode headers: a header helper for Claude Code, a token elsewhere, nothing for Claude Desktop', async () => {
    await install(home, 'claude-code', 'user', 'claude-code/claude.json');
    await install(home, 'vscode', 'user', 'vscode/mcp.json');
    await install(home, 'claude-desktop', 'user', 'claude-desktop/claude_desktop_config.json');
    const getToken = vi.fn(async () => new Secret(JWT));
    const r = await addServer({ ...target(), clients: ['claude-code', 'vscode', 'claude-desktop'], name: 'tasks', url: 'https://tasks.example/mcp', mode: 'headers', getToken });
    const by = Object.fromEntries(r.files.map((f) => [f.client, f]));
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(by['claude-code']?.servers).toMatchObject([{ outcome: 'added', wiring: 'headers-helper', holdsToken: false }]);
    expect(editorFor('json').getIn(await readFile(pathOf('claude-code'), 'utf8'), ['mcpServers', 'tasks'])).toEqual({
      type: 'http', url: 'https://tasks.example/mcp', headersHelper: `${NODE} ${LAUNCHER} token --format headers-json`,
    });
    expect(by.vscode?.servers).toMatchObject([{ outcome: 'added', wiring: 'header-token', holdsToken: true }]);
    expect(editorFor('jsonc').getIn(await readFile(pathOf('vscode'), 'utf8'), ['servers', 'tasks'])).toEqual({
      type: 'http', url: 'https://tasks.example/mcp', headers: { Authorization: `Bearer ${JWT}` },
    });
    expect(by['claude-desktop']?.servers).toMatchObject([{ outcome: 'skipped', code: 'remote_unsupported' }]);
    expect(await readFile(pathOf('claude-desktop'), 'utf8')).toBe(await fixture('claude-desktop/claude_desktop_config.json'));
  });

  it('does not replace an existing server', async () => {
    const path = await install(home, 'cursor', 'user', 'cursor/mcp.json');
    const r = await addServer({ ...target(), clients: ['cursor'], name: 'omnispindle', command: 'x' });
    expect(r.files[0]).toMatchObject({ status: 'unchanged', servers: [{ outcome: 'skipped', code: 'server_exists' }] });
    expect(await readFile(path, 'utf8')).toBe(await fixture('cursor/mcp.json'));
  });

  it('creates a named client\'s file (0600) when its directory exists, not when the client is absent', async () => {
    await mkdir(dirname(pathOf('windsurf')), { recursive: true });
    const r = await addServer({ ...target(), clients: ['windsurf', 'gemini'], name: 'tasks', command: 'node', args: ['t.js'] });
    expect(r.files.map((f) => [f.client, f.status])).toEqual([['windsurf', 'changed'], ['gemini', 'missing']]);
    expect((await stat(pathOf('windsurf'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(pathOf('windsurf'), 'utf8'))).toEqual({ mcpServers: { tasks: { command: NODE, args: [LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'node', 't.js'] } } });
  });

  it('by default adds to the clients whose file exists, and rejects unknown client ids', async () => {
    await install(home, 'cline', 'user', 'cline/cline_mcp_settings.json');
    const r = await addServer({ ...target(), name: 'tasks', command: 'node' });
    expect(r.files.map((f) => [f.client, f.status])).toEqual([['cline', 'changed']]);
    await expect(addServer({ ...target(), clients: ['cursr'], name: 'x', command: 'y' })).rejects.toMatchObject({ code: 'unknown_client', exitCode: 2 });
  });
});

describe('listClients', () => {
  it('lists every client with its files, and which servers go through omni-auth', async () => {
    await install(home, 'cursor', 'user', 'cursor/mcp.json');
    await install(home, 'claude-code', 'user', 'claude-code/claude.json');
    await install(home, 'goose', 'user', 'broken/config.yaml');
    await wireClients({ ...target(), clients: ['claude-code'] });
    await wireClients({ ...target(), clients: ['claude-code'], server: 'omnispindle-cloud' });

    const list = await listClients({ env: home.env, platform: 'linux', cwd: home.cwd, launcherPath: LAUNCHER });
    expect(list.clients.map((c) => c.id)).toEqual(CLIENTS.map((c) => c.id));
    const byId = Object.fromEntries(list.clients.map((c) => [c.id, c]));

    expect(byId['claude-desktop']?.files).toEqual([expect.objectContaining({ exists: false, servers: [] })]);
    const code = byId['claude-code']?.files.find((f) => f.scope === 'user');
    expect(code?.servers.map((s) => [s.name, s.location.join('>'), s.transport, s.wiring ?? null])).toEqual([
      ['omnispindle', 'mcpServers', 'stdio', 'exec'],
      ['linear', 'mcpServers', 'remote', null],
      ['omnispindle-cloud', 'mcpServers', 'remote', 'headers-helper'],
      ['omnispindle', 'projects>/home/dev/src/webapp>mcpServers', 'stdio', 'exec'],
    ]);
    expect(byId.cursor?.files[0]?.servers.every((s) => !s.wired)).toBe(true);
    expect(byId.goose?.files[0]).toMatchObject({ exists: true, servers: [], error: { code: 'config_unparsable', line: 5, column: 5 } });

    const text = renderList(list);
    expect(text).toContain('Claude Code (claude-code)');
    expect(text).toMatch(/omnispindle\s+stdio\s+via omni-auth exec\s+\(projects > \/home\/dev\/src\/webapp > mcpServers\)/);
    expect(text).toContain('[not found]');
    expect(JSON.parse(JSON.stringify(list))).toEqual(list);
  });

  it('recognises tokens stored by mode env', async () => {
    await install(home, 'windsurf', 'user', 'windsurf/mcp_config.json');
    await wireClients({ ...target(), mode: 'env', getToken: async () => new Secret(JWT) });
    const list = await listClients({ env: home.env, platform: 'linux', cwd: home.cwd, clients: ['windsurf'] });
    expect(list.clients[0]?.files[0]?.servers.find((s) => s.name === 'omnispindle')).toMatchObject({ wired: true, wiring: 'env-token' });
  });
});
