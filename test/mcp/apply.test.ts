/** The write path: lock, re-read, backup once per run, atomic write, BOM, and what is never written. */
import { writeFileSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyToFile, backupPath, newRun } from '../../src/mcp/apply.js';
import { addServer, unwireClients, wireClients } from '../../src/mcp/index.js';
import { UsageError } from '../../src/util/errors.js';
import { fixture, install, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeEach(async () => {
  home = await tempHome();
});
afterEach(() => home.cleanup());

const target = () => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, launcherPath: LAUNCHER, nodePath: NODE });

describe('applyToFile', () => {
  it('keeps a UTF-8 BOM, hidden from the edit', async () => {
    const path = join(home.dir, 'bom.json');
    await writeFile(path, '\uFEFF{"a": 1}\n');
    const r = await applyToFile(path, (t) => {
      expect(t).toBe('{"a": 1}\n');
      return '{"a": 2}\n';
    }, { run: newRun() });
    expect(r).toMatchObject({ changed: true, before: '{"a": 1}\n', after: '{"a": 2}\n', backup: backupPath(path) });
    expect(await readFile(path, 'utf8')).toBe('\uFEFF{"a": 2}\n');
    expect(await readFile(backupPath(path), 'utf8')).toBe('\uFEFF{"a": 1}\n');
  });

  it('never writes a file that is not UTF-8', async () => {
    const path = join(home.dir, 'latin1.json');
    const bytes = Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]);
    await writeFile(path, bytes);
    await expect(applyToFile(path, () => '{}', { run: newRun() })).rejects.toMatchObject({ code: 'config_unparsable', exitCode: 2 });
    expect(await readFile(path)).toEqual(bytes);
  });

  it('starts over when another program rewrites the file while it edits (and keeps that change)', async () => {
    const path = join(home.dir, 'busy.json');
    await writeFile(path, '{"theirs": 0}');
    let calls = 0;
    const r = await applyToFile(path, (t) => {
      calls++;
      // The client rewrites its file right after our (locked) re-read: the first attempt must not win.
      if (calls === 2) writeFileSync(path, '{"theirs": 1}');
      const doc = JSON.parse(t ?? '{}') as Record<string, unknown>;
      return JSON.stringify({ ...doc, ours: true });
    }, { run: newRun() });
    expect(r.changed).toBe(true);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ theirs: 1, ours: true });
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('writes nothing, takes no lock and makes no backup on a dry run or when nothing changes', async () => {
    const path = join(home.dir, 'same.json');
    await writeFile(path, '{}');
    expect(await applyToFile(path, () => '{"x": 1}', { run: newRun(), dryRun: true })).toMatchObject({ changed: true, after: '{"x": 1}' });
    expect(await applyToFile(path, (t) => t, { run: newRun() })).toMatchObject({ changed: false });
    expect(await readdir(home.dir)).toEqual(expect.not.arrayContaining(['same.json.omni-auth.lock']));
    await expect(stat(backupPath(path))).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('{}');
  });
});

describe('runs', () => {
  it('back up a file once per run; a new run backs up the file as it then is', async () => {
    const path = await install(home, 'cursor', 'user', 'cursor/mcp.json');
    const original = await fixture('cursor/mcp.json');
    const run = newRun();
    await wireClients({ ...target(), run });
    const wired = await readFile(path, 'utf8');
    await unwireClients({ ...target(), run });
    await wireClients({ ...target(), run });
    expect(await readFile(backupPath(path), 'utf8')).toBe(original);
    await unwireClients({ ...target(), run: newRun() });
    expect(await readFile(backupPath(path), 'utf8')).toBe(wired);
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('20 concurrent writers to one file end with valid content holding every entry, and no lock left', async () => {
    const path = await install(home, 'vscode', 'user', 'vscode/mcp.json');
    const names = Array.from({ length: 20 }, (_, i) => `server-${i}`);
    const reports = await Promise.all(names.map((name) => addServer({ ...target(), clients: ['vscode'], name, command: 'node', args: [`${name}.js`] })));
    expect(reports.every((r) => r.files[0]?.status === 'changed')).toBe(true);
    const text = await readFile(path, 'utf8');
    const { jsoncEditor } = await import('../../src/mcp/formats/jsonc.js');
    const servers = jsoncEditor.getIn(text, ['servers']) as Record<string, { args: string[] }>;
    for (const name of names) expect(servers[name]?.args).toEqual([LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'node', `${name}.js`]);
    // The user's own entries and comments are all still there.
    expect(text.startsWith('// MCP servers for this machine.\n')).toBe(true);
    expect(Object.keys(servers).slice(0, 3)).toEqual(['github', 'omnispindle', 'omnispindle-cloud']);
    expect((await readdir(dirname(path))).filter((f) => f.includes('.lock') || f.includes('omni-tmp'))).toEqual([]);
  });
});

describe('unparsable files', () => {
  it('are reported with file, line and column (exit 2), left untouched, and the other clients still processed', async () => {
    const broken = {
      cursor: await install(home, 'cursor', 'user', 'broken/mcp.json'),
      codex: await install(home, 'codex', 'user', 'broken/config.toml'),
      goose: await install(home, 'goose', 'user', 'broken/config.yaml'),
    };
    const good = await install(home, 'vscode', 'user', 'vscode/mcp.json');
    const r = await wireClients({ ...target(), clients: ['cursor', 'codex', 'goose', 'vscode'], scope: 'user' });
    const byClient = Object.fromEntries(r.files.map((f) => [f.client, f]));
    expect(byClient.vscode?.status).toBe('changed');
    expect(await readFile(good, 'utf8')).not.toBe(await fixture('vscode/mcp.json'));

    const expected = { cursor: [7, 5, 'broken/mcp.json'], codex: [5, 8, 'broken/config.toml'], goose: [5, 5, 'broken/config.yaml'] } as const;
    for (const [client, [line, column, name]] of Object.entries(expected)) {
      const file = byClient[client];
      const path = broken[client as keyof typeof broken];
      expect(file?.status).toBe('error');
      expect(file?.error).toBeInstanceOf(UsageError);
      expect(file?.error).toMatchObject({ code: 'config_unparsable', exitCode: 2, details: { path, line, column } });
      expect(file?.error?.message).toContain(`cannot parse ${path}:`);
      expect(file?.error?.message).toContain(`at line ${line}, column ${column}`);
      expect(await readFile(path, 'utf8')).toBe(await fixture(name));
      await expect(stat(backupPath(path))).rejects.toThrow();
    }
  });
});
