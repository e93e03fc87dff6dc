/**
 * 20 `omni-auth mcp add` processes at once on one Cursor config: the per-file lock serialises their
 * read-edit-write, so every entry lands, the file stays valid, and the user's own entries keep their
 * bytes. (Built CLI: run `npm run build` first.)
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editorFor } from '../../src/mcp/formats/index.js';
import { CLI } from '../cli/run-cli.js';
import { cli, cliHome, type CliHome } from './cli-home.js';
import { backupPath } from '../../src/mcp/apply.js';
import { fixture } from './helpers.js';

const WRITERS = 20;
let home: CliHome;
let path: string;

beforeAll(async () => {
  home = await cliHome();
  path = join(home.dir, '.cursor', 'mcp.json');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, await fixture('cursor/mcp.json'));
});
afterAll(() => home?.cleanup());

describe('20 concurrent writer processes on one file', () => {
  it('end with valid content, all 20 entries present, the other entries byte for byte intact', { timeout: 120_000 }, async () => {
    const original = await fixture('cursor/mcp.json');
    const results = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) => cli(home, ['mcp', 'add', `srv-${i}`, '--client', 'cursor', '--', `cmd-${i}`, '--flag'])),
    );
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
    }

    const text = await readFile(path, 'utf8');
    const doc = JSON.parse(text) as { mcpServers: Record<string, { command: string; args: string[] }> };
    const launcher = join(home.omniHome, 'bin', 'omni-auth.cjs');
    for (let i = 0; i < WRITERS; i++) {
      expect(doc.mcpServers[`srv-${i}`]).toEqual({
        command: process.execPath,
        args: [launcher, 'exec', '--env-var', 'AUTH0_TOKEN', '--', `cmd-${i}`, '--flag'],
      });
    }
    expect(Object.keys(doc.mcpServers)).toHaveLength(4 + WRITERS);

    // Each writer appended one entry: taking them out again, last first, gives the original bytes.
    const editor = editorFor('json');
    const added = Object.keys(doc.mcpServers).filter((k) => k.startsWith('srv-')).reverse();
    let back = text;
    for (const name of added) back = editor.setIn(back, ['mcpServers', name], undefined);
    expect(back).toBe(original);

    // The launcher all of them refreshed is the bundle; no lock or temporary file is left behind.
    // Buffer.equals: a deep equality over 2 MB byte by byte takes seconds.
    expect((await readFile(launcher)).equals(await readFile(CLI))).toBe(true);
    const left = await readdir(dirname(path));
    expect(left.filter((n) => n.endsWith('.omni-auth.lock') || n.includes('.omni-tmp-'))).toEqual([]);
    // Each run backs up the file as it found it: the last writer's backup holds the 19 others' entries.
    const backup = JSON.parse(await readFile(backupPath(path, home.omniHome), 'utf8')) as { mcpServers: Record<string, unknown> };
    expect(Object.keys(backup.mcpServers)).toHaveLength(4 + WRITERS - 1);
  });
});
