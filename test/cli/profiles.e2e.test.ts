/**
 * Issue 14 §3, "how it will be checked": two profiles give two different tenants' tokens from one home.
 * Two emulators (two tenants) over loopback, one temporary home, the built CLI: `setup --profile a`
 * against one and `setup --profile b` against the other; `token --profile a|b` give tokens whose `iss`
 * differ, each verifying against its own tenant's JWKS (and not the other's); OMNI_AUTH_PROFILE=b gives
 * what --profile b gives; status lists both; an MCP entry wired with --profile b runs with b's token;
 * `mcp list` and `mcp unwire --all --profile` know which profile an entry belongs to. No secret on stderr.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import type { StatusReport } from '../../src/broker/status.js';
import type { ClientList } from '../../src/mcp/index.js';
import { parseCacheKey } from '../../src/cache/key.js';
import { FULL_CLI_FILE } from '../../src/warm/files.js';
import { type CliHome } from '../mcp/cli-home.js';
import { TOKEN_SHAPED } from '../tenant/helpers.js';
import { CLI, type CliResult } from './run-cli.js';
import { jwksOf, mgmtEnv, twoTenantsHome } from './two-tenants.js';

let a: Emulator;
let b: Emulator;
let home: CliHome;
const { run, outputs } = twoTenantsHome((t) => ({ a, b, home } = t));
const jwks = jwksOf;

describe('two profiles, two tenants, one home (the built CLI)', () => {
  const tokens: Record<'a' | 'b', string> = { a: '', b: '' };

  it('setup --profile a and --profile b provision each tenant and save each profile side by side', async () => {
    for (const [name, emu] of [['a', a], ['b', b]] as const) {
      const r = await run(['setup', '--profile', name, '--domain', emu.domain, '--audience', emu.info().audience, '--identity', 'both'], mgmtEnv(emu));
      expect(r.code, r.stderr).toBe(0);
      // The line for teammates names the profile.
      expect(r.stdout.trim()).toMatch(new RegExp(`^npx omni-auth login --profile ${name} --domain \\S+ --client-id \\S+ --audience \\S+$`));
    }
    const saved = JSON.parse(await readFile(join(home.omniHome, 'settings.json'), 'utf8')) as { domain?: string; profiles: Record<string, { domain: string; client_id: string; audience: string }> };
    expect(saved.domain).toBeUndefined();
    expect(Object.keys(saved.profiles)).toEqual(['a', 'b']);
    expect(saved.profiles.a!.domain).toBe(a.domain);
    expect(saved.profiles.b!.domain).toBe(b.domain);
    expect(saved.profiles.a!.client_id).not.toBe(saved.profiles.b!.client_id);
  });

  it('token --profile a and --profile b: two tenants\' tokens, each verifying against its own tenant\'s keys only', async () => {
    for (const [name, emu] of [['a', a], ['b', b]] as const) {
      const r = await run(['token', '--profile', name]);
      expect(r.code, r.stderr).toBe(0);
      tokens[name] = r.stdout.trim();
      const { payload } = await jwtVerify(tokens[name], jwks(emu), { issuer: emu.info().issuer, audience: emu.info().audience });
      expect(payload.iss).toBe(`${emu.domain}/`);
    }
    expect(decodeJwt(tokens.a).iss).not.toBe(decodeJwt(tokens.b).iss);
    await expect(jwtVerify(tokens.a, jwks(b))).rejects.toThrow();
    await expect(jwtVerify(tokens.b, jwks(a))).rejects.toThrow();
    // No default profile was saved: a bare `token` names what is missing (exit 2), and gets nothing.
    const bare = await run(['token']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('missing settings');
  });

  it('OMNI_AUTH_PROFILE=b gives what --profile b gives, on the warm entry and on the full CLI; --profile wins over it', async () => {
    const viaEnv = await run(['token'], { OMNI_AUTH_PROFILE: 'b' });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout.trim()).toBe(tokens.b);
    const full = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(dirname(CLI), FULL_CLI_FILE), 'token'], { env: { ...home.env, OMNI_AUTH_PROFILE: 'b' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', () => resolve(out));
    });
    expect(full.trim()).toBe(tokens.b);
    const global = await run(['--profile', 'b', 'token']);
    expect(global.stdout.trim()).toBe(tokens.b);
    const flagWins = await run(['token', '--profile', 'a'], { OMNI_AUTH_PROFILE: 'b' });
    expect(flagWins.stdout.trim()).toBe(tokens.a);
    const bad = await run(['token'], { OMNI_AUTH_PROFILE: 'b/../a' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('OMNI_AUTH_PROFILE "b/../a" is not a valid profile name');
  });

  it('status lists both profiles, which one is active and which has a cached token — never a token', async () => {
    const r = await run(['status', '--json', '--profile', 'b']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as StatusReport;
    expect(report.profile).toEqual({ name: 'b', source: 'flag' });
    expect(report.settings.domain).toBe(b.domain);
    expect(report.token.cached).toBe(true);
    expect(report.profiles?.map((p) => [p.name, p.active, p.domain, p.token.cached])).toEqual([['a', false, a.domain, true], ['b', true, b.domain, true]]);
    const text = await run(['status'], { OMNI_AUTH_PROFILE: 'a' });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain('profile  a (OMNI_AUTH_PROFILE)');
    expect(text.stderr).toMatch(new RegExp(`^profiles \\* a +${a.domain.replace(/[.]/g, '\\.')} .*token`, 'm'));
    expect(text.stderr).toMatch(new RegExp(`^ +b +${b.domain.replace(/[.]/g, '\\.')} .*token`, 'm'));
    for (const out of [r.stdout, text.stdout, text.stderr]) expect(out).not.toMatch(TOKEN_SHAPED);
  });

  it('an MCP entry wired with --profile b carries it, runs with b\'s token, and is listed and unwired as b\'s', async () => {
    const cursor = join(home.dir, '.cursor', 'mcp.json');
    await mkdir(dirname(cursor), { recursive: true });
    await writeFile(cursor, '{\n  "mcpServers": {}\n}\n');
    // The server: writes the issuer of the token it was given.
    const server = join(home.dir, 'server.cjs');
    await writeFile(server, `const t = process.env.AUTH0_TOKEN; process.stdout.write(JSON.parse(Buffer.from(t.split('.')[1], 'base64url')).iss);\n`);
    const added = await run(['mcp', 'add', 'srv-b', '--client', 'cursor', '--profile', 'b', '--', process.execPath, server]);
    expect(added.code, added.stderr).toBe(0);
    const addedA = await run(['mcp', 'add', 'srv-a', '--client', 'cursor', '--', process.execPath, server], { OMNI_AUTH_PROFILE: 'a' });
    expect(addedA.code, addedA.stderr).toBe(0);
    const entries = (JSON.parse(await readFile(cursor, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[]; env?: unknown }> }).mcpServers;
    const entry = entries['srv-b']!;
    expect(entry.args).toEqual([join(home.omniHome, 'bin', 'omni-auth.cjs'), 'exec', '--profile', 'b', '--env-var', 'AUTH0_TOKEN', '--', process.execPath, server]);
    expect(JSON.stringify(entries)).not.toMatch(TOKEN_SHAPED);

    // Run it as the MCP client would: the entry's command and args, no OMNI_AUTH_HOME (the launcher finds its home).
    const { OMNI_AUTH_HOME: _, ...clientEnv } = home.env;
    const ran = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(entry.command, entry.args, { env: clientEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout }));
    });
    expect(ran).toEqual({ code: 0, stdout: `${b.domain}/` });

    const list = await run(['mcp', 'list', '--json', '--client', 'cursor']);
    const servers = (JSON.parse(list.stdout) as ClientList).clients[0]!.files.flatMap((f) => f.servers);
    expect(servers.map((s) => [s.name, s.profile])).toEqual([['srv-b', 'b'], ['srv-a', 'a']]);
    const table = await run(['mcp', 'list', '--client', 'cursor']);
    expect(table.stdout).toMatch(/^ +srv-b +stdio +via omni-auth exec {2}\[profile b\]$/m);

    // A profile with no settings: wired all the same (exec needs none now), with a warning; a bad name is exit 2.
    const ghost = await run(['mcp', 'add', 'srv-ghost', '--client', 'cursor', '--profile', 'ghost', '--dry-run', '--', process.execPath, server]);
    expect(ghost.code, ghost.stderr).toBe(0);
    expect(ghost.stderr).toContain('profile "ghost" has no usable settings yet');
    const badName = await run(['mcp', 'wire', '--client', 'cursor', '--profile', 'a/b']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--profile "a/b" is not a valid profile name');

    // unwire --all --profile a restores only a's entry.
    const un = await run(['mcp', 'unwire', '--all', '--profile', 'a', '--client', 'cursor']);
    expect(un.code, un.stderr).toBe(0);
    const after = (JSON.parse(await readFile(cursor, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers;
    expect(after['srv-a']).toEqual({ command: process.execPath, args: [server] });
    expect(after['srv-b']).toEqual(entry);
  });

  it('login --profile NAME saves that profile (beside the others) and uses it', async () => {
    const saved = () => readFile(join(home.omniHome, 'settings.json'), 'utf8').then((t) => JSON.parse(t) as { profiles: Record<string, { domain: string; client_id: string; audience: string }> });
    const before = await saved();
    const { client_id, audience } = before.profiles.a!;
    const r = await run(['login', '--profile', 'a2', '--no-write', '--domain', a.domain, '--client-id', client_id, '--audience', audience]);
    expect(r.code, r.stderr).toBe(0);
    const after = await saved();
    expect(after.profiles).toEqual({ ...before.profiles, a2: { domain: a.domain, client_id, audience } });
    const t = await run(['token', '--profile', 'a2']);
    expect(decodeJwt(t.stdout.trim()).iss).toBe(`${a.domain}/`);
    // A login of another profile leaves b's token in the cache: b still answers without a new exchange.
    expect((await run(['token', '--profile', 'b'])).stdout.trim()).toBe(tokens.b);
  });

  it('setup --json names the profile it saved, and doctor\'s settings line the profile it checked', async () => {
    const r = await run(['setup', '--profile', 'b', '--json', '--domain', b.domain, '--audience', b.info().audience, '--identity', 'both'], mgmtEnv(b));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { changed: boolean; settings: { profile: string; domain: string } };
    expect(doc.changed).toBe(false);
    expect(doc.settings).toMatchObject({ profile: 'b', domain: b.domain });
    for (const [args, extra, name, emu] of [[['doctor', '--json', '--profile', 'a'], {}, 'a', a], [['doctor', '--json'], { OMNI_AUTH_PROFILE: 'b' }, 'b', b]] as const) {
      const d = await run([...args], { ...mgmtEnv(emu), ...extra });
      const settings = (JSON.parse(d.stdout) as { checks: { id: string; status: string; detail: string }[] }).checks.find((c) => c.id === 'settings');
      expect(settings).toMatchObject({ status: 'pass' });
      expect(settings!.detail).toMatch(new RegExp(`^profile ${name} · ${emu.domain.replace(/[.]/g, '\\.')} · client `));
    }
  });

  it('logout --profile a removes a\'s cached token (revoked at a) and a\'s wired entry; b\'s token and entry stay; --all-profiles clears the rest', async () => {
    const cursor = join(home.dir, '.cursor', 'mcp.json');
    const server = join(home.dir, 'server.cjs');
    const tokensFile = join(home.omniHome, 'tokens.json');
    type Cached = { access_token: string; refresh_token?: string };
    const cache = async () => (JSON.parse(await readFile(tokensFile, 'utf8')) as { entries: Record<string, Cached> }).entries;
    const ofTenant = (entries: Record<string, Cached>, emu: Emulator) => Object.entries(entries).filter(([k]) => parseCacheKey(k)?.domain === emu.domain).map(([, t]) => t);
    const servers = async () => (JSON.parse(await readFile(cursor, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers;

    expect((await run(['token', '--profile', 'a'])).code).toBe(0);
    // srv-a is back to its original (the unwire above): wire it again, for a.
    const wiredA = await run(['mcp', 'wire', '--server', 'srv-a', '--client', 'cursor', '--profile', 'a']);
    expect(wiredA.code, wiredA.stderr).toBe(0);
    const before = await cache();
    const [aToken] = ofTenant(before, a);
    expect(aToken?.refresh_token).toBeDefined();
    expect(ofTenant(before, b)).toHaveLength(1);
    const entriesBefore = await servers();
    expect(entriesBefore['srv-a']!.args).toContain('--profile');
    expect(entriesBefore['srv-b']!.args.slice(1, 4)).toEqual(['exec', '--profile', 'b']);

    // No profile named, named profiles in the file: logout acts on the default profile (none here) — a's and b's stay.
    const bare = await run(['logout']);
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toContain('profile "default": removed 0 cached tokens');
    expect(bare.stderr).toMatch(/kept \d+ cached tokens? of other profiles/);
    expect(await cache()).toEqual(before);
    expect(await servers()).toEqual(entriesBefore);

    // --forget-key on one profile of several: refused (the key is every profile's), nothing touched.
    const forget = await run(['logout', '--profile', 'a', '--forget-key']);
    expect(forget.code).toBe(2);
    expect(forget.stderr).toContain('--all-profiles');
    expect((await stat(join(home.omniHome, 'machine-key.json'))).isFile()).toBe(true);
    expect(await cache()).toEqual(before);
    expect((await run(['logout', '--profile', 'a', '--all-profiles'])).code).toBe(2);

    const out = await run(['logout', '--profile', 'a']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/profile "a": removed [1-9]\d* cached tokens?, revoked [1-9]\d* refresh tokens?/);
    expect(out.stderr).toContain('kept 1 cached token of other profiles');
    const after = await cache();
    expect(ofTenant(after, a)).toEqual([]);
    expect(ofTenant(after, b)).toEqual(ofTenant(before, b));
    const entriesAfter = await servers();
    expect(entriesAfter['srv-a']).toEqual({ command: process.execPath, args: [server] });
    expect(entriesAfter['srv-b']).toEqual(entriesBefore['srv-b']);
    // a's refresh token is dead at a's tenant; b still answers from its cache.
    const refresh = await fetch(`${a.domain}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: parseCacheKey(Object.keys(before).find((k) => parseCacheKey(k)?.domain === a.domain)!)!.clientId, refresh_token: aToken!.refresh_token! }),
    });
    expect(refresh.status).toBe(403);
    expect((await run(['token', '--profile', 'b'])).stdout.trim()).toBe(tokens.b);

    // OMNI_AUTH_PROFILE selects too; then --all-profiles clears everything left.
    const viaEnv = await run(['logout', '--keep-mcp'], { OMNI_AUTH_PROFILE: 'a' });
    expect(viaEnv.stderr).toContain('profile "a": removed 0 cached tokens');
    const all = await run(['logout', '--all-profiles']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toMatch(/removed 1 cached token, revoked 1 refresh token/);
    expect(await cache()).toEqual({});
    expect((await servers())['srv-b']).toEqual({ command: process.execPath, args: [server] });
  });

  it('printed no token or management secret on stderr', () => {
    for (const r of outputs) {
      expect(r.stderr).not.toMatch(TOKEN_SHAPED);
      for (const emu of [a, b]) expect(r.stderr).not.toContain(emu.info().management.client_secret);
    }
  });
});
