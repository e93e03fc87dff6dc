/**
 * The real-world files of realworld-configs.test.ts through the built CLI (exec mode: no tenant
 * needed): what cannot be wired safely is left alone with a warning and exit 2; hand-written wrappers
 * are reported as already routed; Zed's older shape round-trips. (Run `npm run build` first.)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliHome, type CliHome } from './cli-home.js';
import { fixture } from './helpers.js';

let home: CliHome;
beforeEach(async () => {
  home = await cliHome();
});
afterEach(() => home.cleanup());

async function put(path: string, name: string): Promise<string> {
  const text = await fixture(name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return text;
}
const read = (p: string) => readFile(p, 'utf8');

describe('mcp wire / unwire on files as people write them', () => {
  it('Cursor: the user\'s own AUTH0_TOKEN → left alone, warning, exit 2; hand-written wrappers → already routed, exit 0', async () => {
    const path = join(home.dir, '.cursor', 'mcp.json');
    const original = await put(path, 'realworld/cursor-mcp.json');
    const r = await cli(home, ['mcp', 'wire', '--client', 'cursor']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/"omnispindle" \(.*\) left as it is: "env\.AUTH0_TOKEN" already holds a value of its own/);
    expect(r.stderr).not.toContain('MY_STATIC_TOKEN');
    expect(await read(path)).toBe(original);

    for (const server of ['omnispindle-hand', 'omnispindle-npx', 'omnispindle-path']) {
      const w = await cli(home, ['mcp', 'wire', '--client', 'cursor', '--server', server]);
      expect(w.code, w.stderr).toBe(0);
      expect(w.stderr).toContain(`${server}: already routed through omni-auth by its own \`omni-auth exec\``);
      const u = await cli(home, ['mcp', 'unwire', '--client', 'cursor', '--server', server]);
      expect(u.code, u.stderr).toBe(0);
      expect(u.stderr).toContain(`${server}: nothing to restore`);
    }
    expect(await read(path)).toBe(original);
  });

  it('Codex: an entry with bearer_token_env_var → left alone, exit 2, the way to feed it named', async () => {
    const path = join(home.dir, '.codex', 'config.toml');
    const original = await put(path, 'realworld/codex-config.toml');
    const r = await cli(home, ['mcp', 'wire', '--client', 'codex']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('already takes its token from $OMNISPINDLE_TOKEN');
    expect(r.stderr).toContain('omni-auth exec --env-var OMNISPINDLE_TOKEN -- <client>');
    expect(await read(path)).toBe(original);
  });

  it('Zed, older command object: wire exit 0, wire again unchanged, unwire gives back the bytes', async () => {
    const path = join(home.config, 'zed', 'settings.json');
    const original = await put(path, 'realworld/zed-settings.json');
    const w = await cli(home, ['mcp', 'wire', '--client', 'zed']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain('omnispindle: routed through omni-auth');
    const wired = await read(path);
    expect(wired).toContain(`"args": ["${join(home.omniHome, 'bin', 'omni-auth.cjs')}", "exec", "--env-var", "AUTH0_TOKEN", "--", "/home/dev/.local/bin/omnispindle", "run", "--stdio"]`);
    expect((await cli(home, ['mcp', 'wire', '--client', 'zed'])).code).toBe(0);
    expect(await read(path)).toBe(wired);
    const u = await cli(home, ['mcp', 'unwire', '--client', 'zed']);
    expect(u.code, u.stderr).toBe(0);
    expect(await read(path)).toBe(original);
  });

  it('Goose, hand-added extensions: wire and unwire exit 0 and give back the bytes, comments included', async () => {
    const path = join(home.config, 'goose', 'config.yaml');
    const original = await put(path, 'realworld/goose-config.yaml');
    expect((await cli(home, ['mcp', 'wire', '--client', 'goose'])).code).toBe(0);
    expect(await read(path)).toContain('    cmd: ');
    const u = await cli(home, ['mcp', 'unwire', '--client', 'goose']);
    expect(u.code, u.stderr).toBe(0);
    expect(await read(path)).toBe(original);
  });
});
