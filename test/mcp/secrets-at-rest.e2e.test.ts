/**
 * After `logout`, no MCP config file and no backup of one holds the token omni-auth
 * stored there: mode env (also under a custom --env-var) and a remote entry's header, through the
 * built CLI against the emulator in a temporary home. (Built CLI: run `npm run build` first.)
 */
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cli, cliHome, type CliHome } from './cli-home.js';
import { backupPath } from '../../src/mcp/apply.js';
import { fixture } from './helpers.js';

let emu: Emulator;
let home: CliHome;
let cursorPath: string;
let vscodePath: string;
const originals = new Map<string, string>();

async function run(args: string[]) {
  const r = await cli(home, args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** Every file under dir (recursively), but for omni-auth's own home. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === home.omniHome) continue;
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  const info = emu.info();
  home = await cliHome({ OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience });
  cursorPath = join(home.dir, '.cursor', 'mcp.json');
  vscodePath = join(home.config, 'Code', 'User', 'mcp.json');
  for (const [path, name] of [[cursorPath, 'cursor/mcp.json'], [vscodePath, 'vscode/mcp.json']] as const) {
    const text = await fixture(name);
    originals.set(path, text);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
});
afterAll(async () => {
  await emu?.close();
  await home?.cleanup();
});

describe('secrets at rest after logout', () => {
  it('wire --mode env (cursor under MY_TOK, vscode) and a vscode header entry (--mode headers); logout restores both files and no backup holds the token', async () => {
    await run(['login', '--no-write']);
    await run(['mcp', 'wire', '--client', 'cursor', '--mode', 'env', '--env-var', 'MY_TOK']);
    await run(['mcp', 'wire', '--client', 'vscode', '--mode', 'env']);
    await run(['mcp', 'wire', '--client', 'vscode', '--server', 'omnispindle-cloud', '--mode', 'headers']);

    const cursor = JSON.parse(await readFile(cursorPath, 'utf8')) as { mcpServers: { omnispindle: { env: Record<string, string> } } };
    const token = cursor.mcpServers.omnispindle.env.MY_TOK;
    expect(token).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    const vscode = await readFile(vscodePath, 'utf8');
    expect(vscode).toMatch(new RegExp(`"AUTH0_TOKEN": *"${token}"`));
    expect(vscode).toMatch(new RegExp(`"Authorization": *"Bearer ${token}"`));
    // Before logout the backups are the user's files (the first change of each run found them clean,
    // or holding only the token that run replaced).
    for (const path of originals.keys()) expect(await readFile(backupPath(path, home.omniHome), 'utf8')).not.toContain(token);

    const r = await run(['logout']);
    expect(r.stderr).not.toContain(token);
    for (const [path, text] of originals) expect(await readFile(path, 'utf8')).toBe(text);
    const bak = await readFile(backupPath(vscodePath, home.omniHome), 'utf8');
    expect(bak).toContain('<omni-auth token removed>');
    // The backups live in omni-auth's home now (apply.ts), never beside the files.
    const files = [...(await filesUnder(home.dir)), ...(await filesUnder(join(home.omniHome, 'backups')))];
    expect(files).toEqual(expect.arrayContaining([backupPath(cursorPath, home.omniHome), backupPath(vscodePath, home.omniHome)]));
    for (const f of files) expect(await readFile(f, 'utf8'), f).not.toContain(token);
  });
});
