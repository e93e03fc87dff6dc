/**
 * A wired MCP entry works without the user's shell: MCP clients start servers with a bare
 * environment, so the launcher must find the (non-default) home `login` used by itself.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cleanEnv, runCli, tempHome } from './run-cli.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

describe('the launcher finds its home', () => {
  it('an exec entry written by login with OMNI_AUTH_HOME set runs in a bare environment', async () => {
    const userHome = await tempHome();
    const omniHome = join(userHome, 'elsewhere', 'omni'); // not the OS default
    await mkdir(join(userHome, '.cursor'), { recursive: true });
    const config = join(userHome, '.cursor', 'mcp.json');
    const printToken = 'process.stdout.write(process.env.AUTH0_TOKEN ?? "none")';
    await writeFile(config, `${JSON.stringify({ mcpServers: { omnispindle: { command: process.execPath, args: ['-e', printToken] } } }, null, 2)}\n`);

    const info = emu.info();
    const env = cleanEnv({
      HOME: userHome, OMNI_AUTH_HOME: omniHome,
      OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience,
    });
    const login = await runCli(['login', '--client', 'cursor'], env);
    expect(login.code, login.stderr).toBe(0);
    const token = (await runCli(['token'], env)).stdout.trim();

    const entry = (JSON.parse(await readFile(config, 'utf8')) as { mcpServers: { omnispindle: { command: string; args: string[] } } }).mcpServers.omnispindle;
    expect(entry.args[0]).toBe(join(omniHome, 'bin', 'omni-auth.cjs'));
    // What an MCP client gives a server: no OMNI_AUTH_*, no XDG_CONFIG_HOME, a minimal PATH.
    const child = spawn(entry.command, entry.args, { env: { PATH: '/usr/bin:/bin', HOME: userHome }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, err).toBe(0);
    expect(out).toBe(token);
  });
});
