/** `mcp add` that every selected client skips is a failure (exit 2), not a silent success. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempHome } from './run-cli.js';

describe('mcp add exit code', () => {
  it('is 2 when nothing could be added, 0 when something was', async () => {
    const home = await tempHome();
    const file = join(home, '.config', 'Claude', 'claude_desktop_config.json');
    await mkdir(join(home, '.config', 'Claude'), { recursive: true });
    await writeFile(file, '{ "mcpServers": {} }\n');
    const env = cleanEnv({ HOME: home, XDG_CONFIG_HOME: join(home, '.config'), OMNI_AUTH_HOME: join(home, 'omni') });

    const remote = await runCli(['mcp', 'add', 'srv', '--url', 'https://mcp.example.com/mcp', '--client', 'claude-desktop'], env);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/does not accept remote/);
    expect(await readFile(file, 'utf8')).toBe('{ "mcpServers": {} }\n');

    const stdio = await runCli(['mcp', 'add', 'srv', '--client', 'claude-desktop', '--', 'node', 'server.js'], env);
    expect(stdio.code, stdio.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).mcpServers.srv.args.slice(-2)).toEqual(['node', 'server.js']);
  });
});
