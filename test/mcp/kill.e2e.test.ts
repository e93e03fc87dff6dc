/**
 * A writer killed at any moment leaves the old file or the new one, never a torn one: `omni-auth mcp
 * add` on a large Cursor config (so reading, backing up and writing take measurable time) is killed
 * with SIGKILL after a random delay, again and again; after each kill the file parses and is exactly
 * the content before, or that content plus the one new entry. (Built CLI: run `npm run build` first.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editorFor } from '../../src/mcp/formats/index.js';
import { cli, cliHome, startCli, type CliHome } from './cli-home.js';

const ITERATIONS = 20;
let home: CliHome;
let path: string;

/** A config like a heavy user's: thousands of servers, about 400 kB. */
function bigConfig(): string {
  const servers: Record<string, unknown> = {};
  for (let i = 0; i < 2000; i++) {
    servers[`filler-${i}`] = { command: 'npx', args: ['-y', `@example/server-${i}`, '--opt', `value-${i}`], env: { LOG_LEVEL: 'info' } };
  }
  return `${JSON.stringify({ mcpServers: servers, theme: 'dark' }, null, 2)}\n`;
}

beforeAll(async () => {
  home = await cliHome();
  path = join(home.dir, '.cursor', 'mcp.json');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bigConfig());
});
afterAll(() => home?.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `seen()` holds (a stage of the write has begun), or the writer has exited. */
async function stage(seen: () => boolean, exited: () => boolean): Promise<void> {
  while (!seen() && !exited()) await sleep(1);
}

describe('a writer killed at any moment', () => {
  it('leaves either the old or the new file, never a truncated one', { timeout: 180_000 }, async () => {
    const editor = editorFor('json');
    const dir = dirname(path);
    // The stages a kill should hit, for the writer with this pid (a killed writer leaves its lock and
    // temporary files behind): it holds the lock (reads again, edits, backs up, writes), and it has
    // created the backup's temporary file (the backup, then the file itself, are being written).
    const stages = {
      locked: (pid: number) => {
        try {
          return (JSON.parse(readFileSync(`${path}.omni-auth.lock`, 'utf8')) as { pid?: number }).pid === pid;
        } catch {
          return false;
        }
      },
      writing: (pid: number) => readdirSync(dir).some((n) => n.startsWith(`.mcp.json.omni-auth.bak.omni-tmp-${pid}-`)),
    };
    // One uninterrupted write (it also installs the launcher) measures how long each stage lasts.
    const t0 = Date.now();
    const warmUp = startCli(home, ['mcp', 'add', 'warm-up', '--client', 'cursor', '--', 'cmd']);
    let exited = false;
    void warmUp.done.then(() => (exited = true));
    const pid = warmUp.child.pid!;
    await stage(() => stages.locked(pid), () => exited);
    const t1 = Date.now();
    await stage(() => stages.writing(pid), () => exited);
    const t2 = Date.now();
    const first = await warmUp.done;
    expect(first.code, first.stderr).toBe(0);
    const t3 = Date.now();
    const windows = { anywhere: t3 - t0, locked: t3 - t1, writing: t3 - t2 };

    let before = await readFile(path, 'utf8');
    for (let i = 0; i < ITERATIONS; i++) {
      const name = `killed-${i}`;
      const { child, done } = startCli(home, ['mcp', 'add', name, '--client', 'cursor', '--', 'cmd', String(i)]);
      let gone = false;
      void done.then(() => (gone = true));
      // A quarter of the kills fall anywhere in the run, a quarter while the lock is held, half while
      // the backup and the file are written.
      const at = i % 4 === 0 ? 'anywhere' : i % 4 === 1 ? 'locked' : 'writing';
      if (at !== 'anywhere') await stage(() => stages[at](child.pid!), () => gone);
      await sleep(Math.random() * windows[at]);
      child.kill('SIGKILL');
      await done;

      const text = await readFile(path, 'utf8');
      expect(() => JSON.parse(text), `iteration ${i}: the file does not parse`).not.toThrow();
      if (text !== before) {
        // Then the new file: exactly the old one plus this writer's entry.
        expect(editor.setIn(text, ['mcpServers', name], undefined), `iteration ${i}: neither the old nor the new file`).toBe(before);
      }
      const backup = await readFile(`${path}.omni-auth.bak`, 'utf8').catch(() => undefined);
      if (backup !== undefined) expect(() => JSON.parse(backup), `iteration ${i}: the backup does not parse`).not.toThrow();
      before = text;
    }

    // The lock a killed writer may have left is recovered: the next writer gets through.
    const last = await cli(home, ['mcp', 'add', 'after-kills', '--client', 'cursor', '--', 'cmd']);
    expect(last.code, last.stderr).toBe(0);
    const final = await readFile(path, 'utf8');
    expect(editor.setIn(final, ['mcpServers', 'after-kills'], undefined)).toBe(before);
  });
});
