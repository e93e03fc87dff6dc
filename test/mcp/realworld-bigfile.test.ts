/**
 * A big ~/.claude.json (Claude Code keeps every project's history in it; 5 MB is common): wiring,
 * re-wiring and unwiring cost a few passes over the text, however many projects hold the server —
 * counted, not timed (the bench measures time and memory: `npm run bench`). Before, every entry cost
 * several full parses, and 250 entries in 5 MB took minutes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwireClients, wireClients } from '../../src/mcp/index.js';
import { parseStats } from '../../src/mcp/formats/jsonc.js';
import { install, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

/** Claude Code's layout: top-level settings, `mcpServers`, and `projects` with history and servers. */
export function bigClaudeJson(projects: number): string {
  const doc: Record<string, unknown> = {
    numStartups: 812, installMethod: 'npm-global', autoUpdates: true, theme: 'dark',
    mcpServers: { omnispindle: { type: 'stdio', command: 'npx', args: ['-y', 'omnispindle@latest', '--stdio'], env: {} } },
  };
  const all: Record<string, unknown> = {};
  for (let i = 0; i < projects; i++) {
    all[`/home/dev/src/project-${i}`] = {
      allowedTools: ['Bash(npm test:*)'],
      history: Array.from({ length: 8 }, (_, h) => ({ display: `step ${h} of project ${i}: "quote" \\ backslash // not a comment /* nor this */ {[`, pastedContents: {} })),
      mcpContextUris: [],
      mcpServers: i % 3 === 0 ? { omnispindle: { type: 'stdio', command: '/home/dev/.local/bin/omnispindle', args: ['--project', `p${i}`], env: { OMNISPINDLE_PROJECT: `p${i}` } } } : {},
      hasTrustDialogAccepted: true,
      lastCost: 0.42,
    };
  }
  doc.projects = all;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

let home: TempHome;
beforeEach(async () => {
  home = await tempHome();
});
afterEach(() => home.cleanup());

const base = () => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, clients: ['claude-code'], scope: 'user' as const, launcherPath: LAUNCHER, nodePath: NODE });

async function measured<T>(run: () => Promise<T>): Promise<{ result: T; chars: number }> {
  const before = parseStats.chars;
  const result = await run();
  return { result, chars: parseStats.chars - before };
}

describe('wire and unwire on a big ~/.claude.json', () => {
  it('cost a few passes over the text, not a few per entry, and round-trip byte for byte', async () => {
    const path = await install(home, 'claude-code', 'user', 'claude-code/claude.json');
    const original = bigClaudeJson(600);
    await writeFile(path, original);
    const entries = 1 + 200;

    const wire = await measured(() => wireClients(base()));
    expect(wire.result.files[0]?.servers.filter((s) => s.outcome === 'wired')).toHaveLength(entries);
    // Read once, scan once (the locked re-run reuses the plan); each entry's container is parsed on its own.
    expect(wire.chars).toBeLessThan(3 * original.length);

    const wired = await readFile(path, 'utf8');
    const noop = await measured(() => wireClients(base()));
    expect(noop.result.files[0]?.status).toBe('unchanged');
    expect(noop.chars).toBeLessThanOrEqual(wired.length);

    const unwire = await measured(() => unwireClients(base()));
    expect(unwire.result.files[0]?.servers.filter((s) => s.outcome === 'unwired')).toHaveLength(entries);
    expect(unwire.chars).toBeLessThan(3 * wired.length);
    expect(await readFile(path, 'utf8')).toBe(original);
  });

  it('a minified file and a file with comments (JSONC) round-trip too', async () => {
    const path = await install(home, 'claude-code', 'user', 'claude-code/claude.json');
    const minified = JSON.stringify(JSON.parse(bigClaudeJson(60)));
    const commented = bigClaudeJson(60).replace('"projects": {', '// every project Claude Code has seen\n  "projects": { /* big */');
    for (const original of [minified, commented]) {
      await writeFile(path, original);
      await wireClients(base());
      const wired = await readFile(path, 'utf8');
      expect(wired).toContain(`"${LAUNCHER}"`);
      await unwireClients(base());
      expect(await readFile(path, 'utf8')).toBe(original);
    }
  });
});
