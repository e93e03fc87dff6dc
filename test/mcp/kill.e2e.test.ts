/**
 * A writer killed in the middle of a write leaves the old file, never a torn one — and the kill is
 * known to have landed there, not hoped for: with OMNI_AUTH_TEST_PAUSE_DIR set, every atomic write of
 * the CLI stops once its temporary file is complete and before the rename, and says so with a file
 * (src/util/atomic-write.ts). An uninterrupted `omni-auth mcp add` on a large Cursor config lists the
 * writes of a run (the backup and its record, the config, the launcher if it changed); then, for each of them, a
 * run is SIGKILLed while paused at exactly that write. After each kill: the config is byte for byte
 * the one before, the complete new content sat in a temporary file (so the kill was mid-write), the
 * backup parses, and the next run gets through the lock the killed one left. (Built CLI: run
 * `npm run build` first.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupPath } from '../../src/mcp/apply.js';
import { editorFor } from '../../src/mcp/formats/index.js';
import { cli, cliHome, startCli, type CliHome } from './cli-home.js';

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

interface Pause {
  /** `<pid>-<n>` in the pause directory. */
  name: string;
  /** The file being written. */
  target: string;
}

/**
 * Runs `mcp add <name>` with writes paused; `stopAt(pause)` says at which pause to SIGKILL it
 * (every other pause is resumed). Returns the pauses seen, the one killed at (if any) and the
 * temporary files that existed in the target's directory at that moment.
 */
async function run(name: string, stopAt: (p: Pause) => boolean) {
  const pauseDir = await mkdtemp(join(tmpdir(), 'omni-pause-'));
  const { child, done } = startCli({ ...home, env: { ...home.env, OMNI_AUTH_TEST_PAUSE_DIR: pauseDir } }, ['mcp', 'add', name, '--client', 'cursor', '--', 'cmd', name]);
  let exited = false;
  void done.then(() => (exited = true));
  const pauses: Pause[] = [];
  for (let n = 1; ; n++) {
    const marker = join(pauseDir, `${child.pid}-${n}`);
    while (!existsSync(`${marker}.paused`) && !exited) await sleep(2);
    if (!existsSync(`${marker}.paused`)) return { pauses, result: await done };
    // The writer creates the marker with one write(2); wait for its content if we raced it.
    let target = '';
    while (target === '') target = readFileSync(`${marker}.paused`, 'utf8');
    const pause = { name: basename(marker), target };
    pauses.push(pause);
    if (stopAt(pause)) {
      const prefix = `.${basename(target)}.omni-tmp-${child.pid}-`;
      const temps = readdirSync(dirname(target)).filter((f) => f.startsWith(prefix)).map((f) => readFileSync(join(dirname(target), f), 'utf8'));
      child.kill('SIGKILL');
      return { pauses, killedAt: pause, temps, result: await done };
    }
    await writeFile(`${marker}.resume`, '');
  }
}

describe('a writer killed in the middle of a write', () => {
  it('leaves the old file at every write of a run, and the next run gets through', { timeout: 180_000 }, async () => {
    const editor = editorFor('json');
    const backup = backupPath(path, home.omniHome);

    // Uninterrupted runs: every write pauses and is resumed; the second lists the writes of a run
    // once the first has installed the launcher.
    const warmUp = await run('warm-up', () => false);
    expect(warmUp.result.code, warmUp.result.stderr).toBe(0);
    const full = await run('steady', () => false);
    expect(full.result.code, full.result.stderr).toBe(0);
    const targets = full.pauses.map((p) => p.target);
    // The backup, its record and the config itself are among them, in that order.
    const order = [backup, `${backup}.json`, path].map((t) => targets.indexOf(t));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    let before = await readFile(path, 'utf8');
    for (let round = 0; round < 2; round++) {
      for (const [index, target] of targets.entries()) {
        const name = `killed-${round}-${index}`;
        const killed = await run(name, (p) => p.target === target);
        // The kill landed where it was aimed: paused at that write, after its temp file was complete.
        expect(killed.killedAt?.target).toBe(target);
        expect(killed.result.signal).toBe('SIGKILL');
        expect(killed.temps).toHaveLength(1);

        const text = await readFile(path, 'utf8');
        expect(text, `${name}: the config changed though the writer was killed before its rename`).toBe(before);
        if (target === path) {
          // What the temp held was the complete new file: the old one plus this writer's entry.
          const temp = killed.temps![0]!;
          expect(editor.setIn(temp, ['mcpServers', name], undefined)).toBe(before);
          expect(JSON.parse(temp).mcpServers[name]).toBeDefined();
        }
        if (existsSync(backup)) expect(() => JSON.parse(readFileSync(backup, 'utf8')), `${name}: the backup does not parse`).not.toThrow();
      }
      // The lock a killed writer left is recovered (its pid is gone): the next writer gets through.
      const next = await cli(home, ['mcp', 'add', `after-kills-${round}`, '--client', 'cursor', '--', 'cmd']);
      expect(next.code, next.stderr).toBe(0);
      const after = await readFile(path, 'utf8');
      expect(editor.setIn(after, ['mcpServers', `after-kills-${round}`], undefined)).toBe(before);
      before = after;
    }
  });
});
