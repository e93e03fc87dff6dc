/**
 * `omni-auth login` wires MCP clients, end to end: the built CLI in a temporary home, the emulator
 * (provisioned) over loopback HTTP, a Claude Desktop and a VS Code config that each start a small MCP
 * server (test/fixtures/mcp-server/report-token.mjs) as `omnispindle`. A real MCP client (the SDK's,
 * over stdio) then starts the server the way the written config says, and the token the server got
 * verifies against the emulator's JWKS. (Built CLI: run `npm run build` first.)
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI } from '../cli/run-cli.js';
import { cli, cliHome, type CliHome } from './cli-home.js';
import { backupPath } from '../../src/mcp/apply.js';

const SERVER = join(import.meta.dirname, '..', 'fixtures', 'mcp-server', 'report-token.mjs');
const q = (s: string) => JSON.stringify(s);

/** A Claude Desktop config like a user's: other servers, other top-level keys. */
const claudeFixture = `{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/dev/Documents"]
    },
    "omnispindle": {
      "command": ${q(process.execPath)},
      "args": [${q(SERVER)}],
      "env": {
        "OMNISPINDLE_LOG_LEVEL": "info"
      }
    },
    "weather-remote": {
      "url": "https://weather.example.com/mcp"
    }
  },
  "globalShortcut": "Ctrl+Space"
}
`;

/** A VS Code mcp.json like a user's: JSONC with comments, tabs, trailing commas, inputs. */
const vscodeFixture = `// MCP servers for this machine.
{
\t"inputs": [
\t\t{ "type": "promptString", "id": "github-pat", "description": "GitHub PAT", "password": true },
\t],
\t"servers": {
\t\t"github": {
\t\t\t"type": "http",
\t\t\t"url": "https://api.githubcopilot.com/mcp/",
\t\t\t"headers": { "Authorization": "Bearer \${input:github-pat}" },
\t\t},
\t\t/* The task server, from a local checkout. */
\t\t"omnispindle": {
\t\t\t"type": "stdio",
\t\t\t"command": ${q(process.execPath)},
\t\t\t"args": [${q(SERVER)}], // pin later
\t\t},
\t},
}
`;

interface StdioEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

let emu: Emulator;
let home: CliHome;
let claudePath: string;
let vscodePath: string;
let launcher: string;
/** Every token the tests saw; none may appear on stderr. */
const secrets = new Set<string>();
const stderrs: string[] = [];
// After every test (not once at the end, which would depend on the order and on earlier tests): no
// token any test of this file saw so far reached the stderr of any run so far.
afterEach(() => {
  for (const s of stderrs) for (const secret of secrets) expect(s).not.toContain(secret);
});

async function run(args: string[]) {
  const r = await cli(home, args);
  stderrs.push(r.stderr);
  return r;
}

/** The omnispindle entry's args once wired: this Node runs the launcher, which runs the original. */
const wiredArgs = () => [launcher, 'exec', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, SERVER];
const read = (path: string) => readFile(path, 'utf8');
const files = async () => [await read(claudePath), await read(vscodePath)];
const omnispindleOf = async (path: string, container: string): Promise<StdioEntry> =>
  (parseJsonc(await read(path)) as Record<string, Record<string, StdioEntry>>)[container]!.omnispindle!;

/** Starts the server the way an MCP client would from the entry, calls `whoami`, returns the token. */
async function tokenViaMcpClient(entry: StdioEntry): Promise<string> {
  const transport = new StdioClientTransport({
    command: entry.command,
    args: entry.args,
    // What an MCP client passes: a minimal environment of the user's (here: the temporary home), and
    // the entry's own `env`. No OMNI_AUTH_* variable: the launcher finds its home by itself.
    env: { ...getDefaultEnvironment(), HOME: home.dir, XDG_CONFIG_HOME: home.config, ...entry.env },
    cwd: home.cwd,
    stderr: 'pipe',
  });
  let serverStderr = '';
  transport.stderr?.on('data', (d: Buffer) => (serverStderr += d.toString()));
  const client = new Client({ name: 'omni-auth-e2e', version: '1.0.0' });
  try {
    await client.connect(transport);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const content = result.content as Array<{ type: string; text?: string }>;
    const token = content[0]?.text ?? '';
    secrets.add(token);
    return token;
  } finally {
    await client.close();
    stderrs.push(serverStderr);
  }
}

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  const info = emu.info();
  home = await cliHome({ OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience });
  launcher = join(home.omniHome, 'bin', 'omni-auth.cjs');
  claudePath = join(home.config, 'Claude', 'claude_desktop_config.json');
  vscodePath = join(home.config, 'Code', 'User', 'mcp.json');
  for (const [path, text] of [[claudePath, claudeFixture], [vscodePath, vscodeFixture]] as const) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
});
afterAll(async () => {
  await emu?.close();
  await home?.cleanup();
});

describe('login wires Claude Desktop and VS Code; a real MCP client gets a valid token through them', () => {
  it('login --dry-run prints a diff per file on stderr and writes nothing, not even the home', async () => {
    const r = await run(['login', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    for (const path of [claudePath, vscodePath]) {
      expect(r.stderr).toContain(`--- ${path}\n+++ ${path}\n@@ `);
    }
    // The one changed line of each file, in the file's own layout.
    expect(r.stderr).toContain(`\n-      "args": [${q(SERVER)}],\n+      "args": [${wiredArgs().map(q).join(', ')}],\n`);
    expect(r.stderr).toContain(`\n-\t\t\t"args": [${q(SERVER)}], // pin later\n+\t\t\t"args": [${wiredArgs().map(q).join(', ')}], // pin later\n`);
    expect(await files()).toEqual([claudeFixture, vscodeFixture]);
    expect(existsSync(home.omniHome)).toBe(false);
    expect(existsSync(backupPath(claudePath, home.omniHome))).toBe(false);
  });

  it('login --no-write logs in, refreshes the launcher, and leaves the configs untouched', async () => {
    const r = await run(['login', '--no-write']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Logged in to /);
    expect(await files()).toEqual([claudeFixture, vscodeFixture]);
    expect(await readdir(dirname(claudePath))).toEqual(['claude_desktop_config.json']);
    expect(await readdir(dirname(vscodePath))).toEqual(['mcp.json']);
    // The launcher is refreshed all the same: entries wired before run the version just used.
    expect((await readFile(launcher)).equals(await readFile(CLI))).toBe(true);
  });

  it('login routes the omnispindle entries through the launcher, editing nothing else', async () => {
    const r = await run(['login']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('quit and restart Claude Desktop');
    expect(r.stderr).toContain('VS Code picks the change up when the server is (re)started');

    // The launcher: the bundle, copied into OMNI_AUTH_HOME; entries run it with this Node.
    // Buffer.equals: a deep equality over 2 MB byte by byte takes seconds.
    expect((await readFile(launcher)).equals(await readFile(CLI))).toBe(true);
    expect(await omnispindleOf(claudePath, 'mcpServers')).toEqual({ command: process.execPath, args: wiredArgs(), env: { OMNISPINDLE_LOG_LEVEL: 'info' } });
    expect(await omnispindleOf(vscodePath, 'servers')).toEqual({ type: 'stdio', command: process.execPath, args: wiredArgs() });

    // Minimal edits: only the entry's args changed; every other byte is the user's (comments too).
    const wired = (fixture: string) => fixture.replace(`"args": [${q(SERVER)}]`, `"args": [${wiredArgs().map(q).join(', ')}]`);
    expect(await read(claudePath)).toBe(wired(claudeFixture));
    expect(await read(vscodePath)).toBe(wired(vscodeFixture));
    // The first change keeps the user's file.
    expect(await read(backupPath(claudePath, home.omniHome))).toBe(claudeFixture);
    expect(await read(backupPath(vscodePath, home.omniHome))).toBe(vscodeFixture);
  });

  it.each([
    ['Claude Desktop', () => omnispindleOf(claudePath, 'mcpServers')],
    ['VS Code', () => omnispindleOf(vscodePath, 'servers')],
  ])('an MCP client starting the %s entry gives the server a token that verifies against the JWKS', async (_, entry) => {
    const token = await tokenViaMcpClient(await entry());
    const info = emu.info();
    const jwks = createRemoteJWKSet(new URL(`${emu.issuer}.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { issuer: emu.issuer, audience: info.audience });
    expect(payload.sub).toMatch(/^auth0\|/);
    // The token login cached: the server start cost no new exchange.
    const cache = JSON.parse(await read(join(home.omniHome, 'tokens.json'))) as { entries: Record<string, { access_token: string; refresh_token?: string }> };
    const cached = Object.values(cache.entries);
    for (const t of cached) {
      secrets.add(t.access_token);
      if (t.refresh_token) secrets.add(t.refresh_token);
    }
    expect(cached.map((t) => t.access_token)).toContain(token);
  });

  it('login again changes nothing in the configs', async () => {
    const before = await files();
    const backups = [await read(backupPath(claudePath, home.omniHome)), await read(backupPath(vscodePath, home.omniHome))];
    const r = await run(['login']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/omnispindle: already routed through omni-auth/);
    expect(await files()).toEqual(before);
    expect([await read(backupPath(claudePath, home.omniHome)), await read(backupPath(vscodePath, home.omniHome))]).toEqual(backups);
  });

  it('login --mode env stores the token in the entry instead, and says when it expires', async () => {
    const claudeBefore = await read(claudePath);
    const r = await run(['login', '--mode', 'env', '--client', 'vscode']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(
      `warning: VS Code "omnispindle" \\(${vscodePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) now holds a copy of the access token, which expires \\d{4}-\\d\\d-\\d\\d [\\d:]+Z \\(in \\d+h \\d+m\\)`,
    ));
    const entry = await omnispindleOf(vscodePath, 'servers');
    expect(entry).toEqual({ type: 'stdio', command: process.execPath, args: [SERVER], env: { AUTH0_TOKEN: expect.stringMatching(/^ey/) } });
    const stored = entry.env!.AUTH0_TOKEN!;
    secrets.add(stored);
    expect(await read(claudePath)).toBe(claudeBefore);
    // The server gets exactly the stored token, straight from the entry.
    expect(await tokenViaMcpClient(entry)).toBe(stored);
  });

  it('mcp wire --mode env stores the cached token next to the entry\'s own env, and says when it expires', async () => {
    const r = await run(['mcp', 'wire', '--mode', 'env', '--client', 'claude-desktop']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/warning: Claude Desktop "omnispindle" \(.+\) now holds a copy of the access token, which expires .+ \(in \d+h \d+m\)/);
    const entry = await omnispindleOf(claudePath, 'mcpServers');
    expect(entry).toEqual({ command: process.execPath, args: [SERVER], env: { OMNISPINDLE_LOG_LEVEL: 'info', AUTH0_TOKEN: expect.stringMatching(/^ey/) } });
    secrets.add(entry.env!.AUTH0_TOKEN!);
    const cache = JSON.parse(await read(join(home.omniHome, 'tokens.json'))) as { entries: Record<string, { access_token: string }> };
    expect(Object.values(cache.entries).map((t) => t.access_token)).toContain(entry.env!.AUTH0_TOKEN);
  });

  it('logout restores both configs byte for byte (the stored token is recognised as ours and removed)', async () => {
    const r = await run(['logout']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(await files()).toEqual([claudeFixture, vscodeFixture]);
    // No lock or temporary file left next to them.
    const left = [...(await readdir(dirname(claudePath))), ...(await readdir(dirname(vscodePath)))];
    expect(left.filter((n) => n.endsWith('.lock') || n.includes('.omni-tmp-'))).toEqual([]);
  });
});
