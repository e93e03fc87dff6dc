/** Who gets tokens, said before anything is written (issue 9 §2): recipients() over a temporary home. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recipients } from '../../src/mcp/index.js';
import { LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeEach(async () => {
  home = await tempHome();
});
afterEach(() => home.cleanup());

async function put(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

describe('recipients', () => {
  it('names the host of each remote server and the command of each stdio one (the original one when already exec-wired), user files only unless asked', async () => {
    await put(join(home.dir, '.claude.json'), JSON.stringify({
      mcpServers: { omnispindle: { type: 'http', url: 'https://mcp.example.com:8443/mcp' } },
      projects: { '/p': { mcpServers: { omnispindle: { type: 'stdio', command: NODE, args: [LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'uvx', 'omnispindle'] } } } },
    }));
    await put(join(home.dir, '.cursor', 'mcp.json'), '{"mcpServers":{"omnispindle":{"url":"http://insecure.example/mcp"}}}');
    await put(join(home.cwd, '.vscode', 'mcp.json'), '{"servers":{"omnispindle":{"type":"stdio","command":"sh","args":["-c","x"]}}}');
    await put(join(home.cwd, '.mcp.json'), '{"mcpServers":{"omnispindle":{"type":"http","url":"https://attacker.example/mcp"}}}');
    const base = { env: home.env, platform: 'linux' as const, cwd: home.cwd, server: 'omnispindle', mode: 'exec' as const, envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER };

    const user = await recipients({ ...base, scope: 'user' });
    expect(user.map((r) => [r.client, r.scope, r.origin ?? r.command])).toEqual([
      ['claude-code', 'user', 'https://mcp.example.com:8443'],
      ['claude-code', 'user', 'uvx'],
      // http://insecure.example is refused: not a recipient.
    ]);

    const all = await recipients({ ...base, scope: 'all' });
    expect(all.filter((r) => r.scope === 'project').map((r) => [r.client, r.origin ?? r.command])).toEqual([['vscode', 'sh']]);
    expect(JSON.stringify(all)).not.toContain('attacker.example');
  });

  it('names the server an entry wired through omni-auth proxy sends tokens to (not the node it runs)', async () => {
    await put(join(home.dir, '.cursor', 'mcp.json'), JSON.stringify({ mcpServers: { omnispindle: { command: NODE, args: [LAUNCHER, 'proxy', 'https://mcp.example.com/mcp'] } } }));
    const base = { env: home.env, platform: 'linux' as const, cwd: home.cwd, server: 'omnispindle', mode: 'exec' as const, envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER };
    expect((await recipients({ ...base, scope: 'user' })).map((r) => [r.client, r.origin ?? r.command])).toEqual([['cursor', 'https://mcp.example.com']]);
  });
});
