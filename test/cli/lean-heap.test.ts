/** The commands that edit MCP configs re-run themselves with a lean young generation when ~/.claude.json is big. */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leanHeapRerun } from '../../src/cli/lean-heap.js';

let dir: string;
let script: string;
let seen: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-lean-'));
  seen = join(dir, 'seen.json');
  // Stands in for the CLI: records how it was started, exits 7.
  script = join(dir, 'cli.cjs');
  await writeFile(script, `require('fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2) })); process.exit(7);`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bigClaudeJson = async (bytes: number) => {
  await writeFile(join(dir, '.claude.json'), '{}');
  await truncate(join(dir, '.claude.json'), bytes);
};

describe('leanHeapRerun', () => {
  it('re-runs `mcp wire` with --max-semi-space-size=2 when ~/.claude.json is over 1 MiB, passing args and the exit code through', async () => {
    await bigClaudeJson(2 * 1024 * 1024);
    const code = await leanHeapRerun([process.execPath, script, 'mcp', 'wire', '--client', 'claude-code'], { HOME: dir });
    expect(code).toBe(7);
    const { execArgv, argv } = JSON.parse(await readFile(seen, 'utf8')) as { execArgv: string[]; argv: string[] };
    expect(execArgv).toContain('--max-semi-space-size=2');
    expect(argv).toEqual(['mcp', 'wire', '--client', 'claude-code']);
  });

  it('goes on in-process for a small file, another command, no file, or OMNI_AUTH_LEAN_HEAP=0', async () => {
    await bigClaudeJson(1000);
    expect(leanHeapRerun([process.execPath, script, 'mcp', 'wire'], { HOME: dir })).toBeUndefined();
    await bigClaudeJson(2 * 1024 * 1024);
    expect(leanHeapRerun([process.execPath, script, 'token'], { HOME: dir })).toBeUndefined();
    expect(leanHeapRerun([process.execPath, script, 'mcp', 'wire'], { HOME: dir, OMNI_AUTH_LEAN_HEAP: '0' })).toBeUndefined();
    expect(leanHeapRerun([process.execPath, script, 'mcp', 'wire'], { HOME: join(dir, 'nowhere') })).toBeUndefined();
  });

  it('looks where Claude Code keeps it: $CLAUDE_CONFIG_DIR first', async () => {
    await bigClaudeJson(2 * 1024 * 1024);
    expect(await leanHeapRerun([process.execPath, script, 'logout'], { HOME: join(dir, 'nowhere'), CLAUDE_CONFIG_DIR: dir })).toBe(7);
  });
});
