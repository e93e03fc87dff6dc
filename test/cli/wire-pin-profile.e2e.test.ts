/**
 * wire14 (issue 14 §3: "a wired entry carries its profile"): the built CLI against two emulators (two
 * tenants) in one temporary home. The default profile (top-level settings) is tenant a, profile b is
 * tenant b. An entry wired for the default profile while b exists says `--profile default`, so after
 * `profile use b` it still runs with tenant a's token; an entry wired without `--profile` (the old
 * shape) keeps `profile use` from changing the default until it is pinned with the command the error
 * names (or --force); `mcp list` labels each entry with the profile it runs with; `logout --profile`
 * restores exactly that profile's entries; re-wiring a pinned entry is "unchanged"; login wires the same way.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import type { ClientList } from '../../src/mcp/list.js';
import { type CliHome } from '../mcp/cli-home.js';
import { TOKEN_SHAPED } from '../tenant/helpers.js';
import { type CliResult } from './run-cli.js';
import { mgmtEnv, twoTenantsHome } from './two-tenants.js';

let a: Emulator;
let b: Emulator;
let home: CliHome;
let cursor: string;
let server: string;
const { run, outputs } = twoTenantsHome((t) => ({ a, b, home } = t), async () => {
  cursor = join(home.dir, '.cursor', 'mcp.json');
  await mkdir(dirname(cursor), { recursive: true });
  await writeFile(cursor, '{\n  "mcpServers": {}\n}\n');
  // The "MCP server": prints the issuer of the token exec gave it.
  server = join(home.dir, 'server.cjs');
  await writeFile(server, 'process.stdout.write(JSON.parse(Buffer.from(process.env.AUTH0_TOKEN.split(".")[1], "base64url")).iss)\n');
});

type CursorEntry = { command: string; args: string[]; url?: string };
const entries = async () => (JSON.parse(await readFile(cursor, 'utf8')) as { mcpServers: Record<string, CursorEntry> }).mcpServers;
const settings = async () => JSON.parse(await readFile(join(home.omniHome, 'settings.json'), 'utf8')) as { default_profile?: string };

/** Runs an entry as the MCP client would: its command and args, in the client's environment (no OMNI_AUTH_PROFILE). */
function start(entry: CursorEntry): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(entry.command, entry.args, { env: home.env, cwd: home.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      outputs.push({ code, signal: null, stdout: '', stderr });
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a wired entry keeps running with the profile it was wired for (the built CLI, two tenants, one home)', () => {
  let launcher = '';

  it('setup: the default profile is tenant a, profile b is tenant b', async () => {
    const da = await run(['setup', '--domain', a.domain, '--audience', a.info().audience, '--identity', 'both'], mgmtEnv(a));
    expect(da.code, da.stderr).toBe(0);
    const db = await run(['setup', '--profile', 'b', '--domain', b.domain, '--audience', b.info().audience, '--identity', 'both'], mgmtEnv(b));
    expect(db.code, db.stderr).toBe(0);
    expect((await settings()).default_profile).toBeUndefined();
  });

  it('mcp add under the default profile while profile b exists writes --profile default (stdio and proxy)', async () => {
    const added = await run(['mcp', 'add', 'srv', '--client', 'cursor', '--', process.execPath, server]);
    expect(added.code, added.stderr).toBe(0);
    const remote = await run(['mcp', 'add', 'rem', '--client', 'cursor', '--url', 'https://mcp.example.com/mcp']);
    expect(remote.code, remote.stderr).toBe(0);
    const e = await entries();
    launcher = e.srv!.args[0]!;
    expect(e.srv!.args).toEqual([launcher, 'exec', '--profile', 'default', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server]);
    expect(e.rem!.args).toEqual([launcher, 'proxy', '--profile', 'default', 'https://mcp.example.com/mcp']);
    // The same again: unchanged, not a byte written.
    const before = await readFile(cursor, 'utf8');
    const again = await run(['mcp', 'wire', '--server', 'srv', '--client', 'cursor']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('srv: already routed through omni-auth');
    expect(await readFile(cursor, 'utf8')).toBe(before);
  });

  it('profile use b is refused while an entry wired without --profile (the old shape) follows the default: it is named with the command that pins it', async () => {
    const e = await entries();
    // As an older omni-auth wrote it: no --profile.
    const old = { command: process.execPath, args: [launcher, 'exec', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server] };
    await writeFile(cursor, `${JSON.stringify({ mcpServers: { ...e, old } }, null, 2)}\n`);
    const refused = await run(['profile', 'use', 'b']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('[profile_entries_follow_default]');
    expect(refused.stderr).toContain('Cursor "old"');
    expect(refused.stderr).not.toContain('Cursor "srv"');
    expect(refused.stderr).toContain('omni-auth mcp wire --profile default --client cursor --server old');
    expect((await settings()).default_profile).toBeUndefined();
    const listed = JSON.parse((await run(['mcp', 'list', '--json', '--client', 'cursor'])).stdout) as ClientList;
    const servers = listed.clients[0]!.files.flatMap((f) => f.servers);
    expect(servers.find((s) => s.name === 'old')).toMatchObject({ profile: 'default', followsDefault: true });
    expect(servers.find((s) => s.name === 'srv')).toMatchObject({ profile: 'default' });
    expect(servers.find((s) => s.name === 'srv')!.followsDefault).toBeUndefined();

    const pin = await run(['mcp', 'wire', '--profile', 'default', '--client', 'cursor', '--server', 'old']);
    expect(pin.code, pin.stderr).toBe(0);
    expect((await entries()).old!.args).toEqual([launcher, 'exec', '--profile', 'default', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server]);
    const used = await run(['profile', 'use', 'b']);
    expect(used.code, used.stderr).toBe(0);
    expect((await settings()).default_profile).toBe('b');
  });

  it('after profile use b: the wired entries still get tenant a\'s token (cold and warm); a bare exec gets b\'s', async () => {
    const e = await entries();
    for (const name of ['srv', 'old', 'srv']) {
      const r = await start(e[name]!);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${a.domain}/`);
    }
    const bare = await run(['exec', '--', process.execPath, server]);
    expect(bare.stdout).toBe(`${b.domain}/`);
  });

  it('mcp list labels each entry with the profile it runs with; an unpinned entry as following the default (b)', async () => {
    const e = await entries();
    const follower = { command: process.execPath, args: [launcher, 'exec', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server] };
    await writeFile(cursor, `${JSON.stringify({ mcpServers: { ...e, follower } }, null, 2)}\n`);
    const text = await run(['mcp', 'list', '--client', 'cursor']);
    expect(text.stdout).toMatch(/^ +srv +stdio +via omni-auth exec {2}\[profile default\]$/m);
    expect(text.stdout).toMatch(/^ +rem +\S+ +via omni-auth proxy {2}\[profile default\]$/m);
    expect(text.stdout).toMatch(/^ +follower +stdio +via omni-auth exec {2}\[profile b: the default profile, no --profile in the entry\]$/m);
    const listed = JSON.parse((await run(['mcp', 'list', '--json', '--client', 'cursor'])).stdout) as ClientList;
    const servers = listed.clients[0]!.files.flatMap((f) => f.servers);
    expect(servers.find((s) => s.name === 'follower')).toMatchObject({ profile: 'b', followsDefault: true });
    // It really runs with b.
    expect((await start((await entries()).follower!)).stdout).toBe(`${b.domain}/`);
  });

  it('logout --profile b restores only the entry that runs with b; logout --profile default those wired --profile default', async () => {
    const outB = await run(['logout', '--profile', 'b']);
    expect(outB.code, outB.stderr).toBe(0);
    let e = await entries();
    expect(e.follower).toEqual({ command: process.execPath, args: [server] });
    expect(e.srv!.args).toContain('--profile');
    expect(e.old!.args).toContain('--profile');
    expect(e.rem!.args).toContain('proxy');
    const outA = await run(['logout', '--profile', 'default']);
    expect(outA.code, outA.stderr).toBe(0);
    e = await entries();
    expect(e.srv).toEqual({ command: process.execPath, args: [server] });
    expect(e.old).toEqual({ command: process.execPath, args: [server] });
    expect(e.rem).toEqual({ url: 'https://mcp.example.com/mcp' });
  });

  it('profile use --force moves an unpinned entry and says so', async () => {
    const e = await entries();
    const loose = { command: process.execPath, args: [launcher, 'exec', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server] };
    await writeFile(cursor, `${JSON.stringify({ mcpServers: { ...e, loose } }, null, 2)}\n`);
    // The default is b now: the entry runs with b; moving it to "default" needs --force.
    expect((await run(['profile', 'use', 'default'])).code).toBe(2);
    const forced = await run(['profile', 'use', 'default', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('1 MCP entry wired without --profile now runs with profile "default" (--force): Cursor "loose"');
    expect((await settings()).default_profile).toBeUndefined();
  });

  it('login wires for the default profile the same way: --profile default', async () => {
    const e = await entries();
    await writeFile(cursor, `${JSON.stringify({ mcpServers: { ...e, lg: { command: process.execPath, args: [server] } } }, null, 2)}\n`);
    const r = await run(['login', '--server', 'lg', '--client', 'cursor']);
    expect(r.code, r.stderr).toBe(0);
    expect((await entries()).lg!.args).toEqual([launcher, 'exec', '--profile', 'default', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server]);
  });

  it('printed no token or management secret on stderr', () => {
    for (const r of outputs) {
      expect(r.stderr).not.toMatch(TOKEN_SHAPED);
      for (const emu of [a, b]) expect(`${r.stderr}${r.stdout}`).not.toContain(emu.info().management.client_secret);
    }
  });
});
