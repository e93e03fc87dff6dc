/**
 * Issue 14 §3 leftovers: `omni-auth profile list|show|use|remove`, the built CLI against two emulators
 * (two tenants) in one temporary home. `profile use b` makes a plain `token` give b's tenant's token
 * (and `use a` a's); status and list mark the default; an unknown profile is refused (exit 2, the known
 * ones named) and nothing is written; `remove` refuses the default (unless --force) and a profile MCP
 * entries are wired for, removes its own cached tokens (revoked at its tenant) and keeps the ones
 * another profile of the same tenant, application and API shares; `logout --profile` says when the
 * tokens it removed were another profile's too. No secret on stderr or in any --json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import type { StatusReport } from '../../src/broker/status.js';
import type { ProfileListing } from '../../src/cli/profile.js';
import { parseCacheKey } from '../../src/cache/key.js';
import { type CliHome } from '../mcp/cli-home.js';
import { TOKEN_SHAPED } from '../tenant/helpers.js';
import { type CliResult } from './run-cli.js';
import { jwksOf, mgmtEnv, twoTenantsHome } from './two-tenants.js';

let a: Emulator;
let b: Emulator;
let home: CliHome;
const { run, outputs } = twoTenantsHome((t) => ({ a, b, home } = t));
const jwks = jwksOf;
const settingsText = () => readFile(join(home.omniHome, 'settings.json'), 'utf8');
type Saved = { default_profile?: string; profiles: Record<string, { domain: string; client_id: string; audience: string }> };
const saved = async () => JSON.parse(await settingsText()) as Saved;
type Cached = { access_token: string; refresh_token?: string };
const cache = async () => (JSON.parse(await readFile(join(home.omniHome, 'tokens.json'), 'utf8')) as { entries: Record<string, Cached> }).entries;
const ofTenant = (entries: Record<string, Cached>, emu: Emulator) => Object.entries(entries).filter(([k]) => parseCacheKey(k)?.domain === emu.domain);
const issuerOf = async (token: string, emu: Emulator) => (await jwtVerify(token, jwks(emu), { issuer: emu.info().issuer, audience: emu.info().audience })).payload.iss;

describe('omni-auth profile: choose the default profile by command (the built CLI, two tenants, one home)', () => {
  it('setup --profile a and --profile b; no default profile yet: a plain token names what is missing', async () => {
    for (const [name, emu] of [['a', a], ['b', b]] as const) {
      const r = await run(['setup', '--profile', name, '--domain', emu.domain, '--audience', emu.info().audience, '--identity', 'both'], mgmtEnv(emu));
      expect(r.code, r.stderr).toBe(0);
    }
    const bare = await run(['token']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    const list = await run(['profile', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const doc = JSON.parse(list.stdout) as { default_profile: string; profiles: ProfileListing[] };
    expect(doc.default_profile).toBe('default');
    expect(doc.profiles.map((p) => [p.name, p.default, p.domain, p.token.cached])).toEqual([['a', false, a.domain, false], ['b', false, b.domain, false]]);
  });

  it('profile use NAME of an unknown profile: exit 2, the saved ones named, nothing written', async () => {
    const before = await settingsText();
    const r = await run(['profile', 'use', 'c']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no profile named "c"');
    expect(r.stderr).toContain('[unknown_profile]');
    expect(r.stderr).toContain('saved profiles: a, b');
    const bad = await run(['profile', 'use', '../a']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a valid profile name');
    const missing = await run(['profile', 'use']);
    expect(missing.code).toBe(2);
    expect(await settingsText()).toBe(before);
  });

  it('profile use b: a plain token (warm entry) gives b\'s tenant\'s token; profile use a: a\'s; status and list mark the default', async () => {
    const used = await run(['profile', 'use', 'b']);
    expect(used.code, used.stderr).toBe(0);
    expect(used.stderr).toContain('default profile: "b" (was "default")');
    expect((await saved()).default_profile).toBe('b');
    expect(Object.keys((await saved()).profiles)).toEqual(['a', 'b']);

    const tb = await run(['token']);
    expect(tb.code, tb.stderr).toBe(0);
    expect(await issuerOf(tb.stdout.trim(), b)).toBe(`${b.domain}/`);
    await expect(jwtVerify(tb.stdout.trim(), jwks(a))).rejects.toThrow();
    // The second, warm: the same token from the cache.
    expect((await run(['token'])).stdout).toBe(tb.stdout);

    const status = await run(['status', '--json']);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.profile).toEqual({ name: 'b', source: 'saved' });
    expect(report.settings.domain).toBe(b.domain);
    expect(report.profiles?.map((p) => [p.name, p.active, p.token.cached])).toEqual([['a', false, false], ['b', true, true]]);
    const text = await run(['status']);
    expect(text.stderr).toContain('profile  b (the settings\' default_profile)');
    expect(text.stderr).toMatch(/^ +\* b +/m);
    const list = await run(['profile', 'list']);
    expect(list.stdout).toMatch(/^ {2}a +\S+ .*no token cached$/m);
    expect(list.stdout).toMatch(new RegExp(`^\\* b +${b.domain.replace(/[.]/g, '\\.')} .*token expires`, 'm'));

    expect((await run(['profile', 'use', 'a'])).stderr).toContain('default profile: "a" (was "b")');
    const ta = await run(['token']);
    expect(ta.code, ta.stderr).toBe(0);
    expect(await issuerOf(ta.stdout.trim(), a)).toBe(`${a.domain}/`);
    // exec follows the default too.
    const exec = await run(['exec', '--', process.execPath, '-e', 'process.stdout.write(JSON.parse(Buffer.from(process.env.AUTH0_TOKEN.split(".")[1], "base64url")).iss)']);
    expect(exec.stdout).toBe(`${a.domain}/`);
    // OMNI_AUTH_PROFILE and --profile still win over the saved default; use says so when the variable is set.
    expect((await run(['token'], { OMNI_AUTH_PROFILE: 'b' })).stdout).toBe(tb.stdout);
    expect((await run(['token', '--profile', 'b'])).stdout).toBe(tb.stdout);
    const again = await run(['profile', 'use', 'a'], { OMNI_AUTH_PROFILE: 'b' });
    expect(again.stderr).toContain('the default profile is already "a"');
    expect(again.stderr).toContain('OMNI_AUTH_PROFILE=b is set');
  });

  it('profile show [NAME]: the settings, never a secret; an unknown name is exit 2', async () => {
    const r = await run(['profile', 'show']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^profile +a \(default\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^domain +${a.domain.replace(/[.]/g, '\\.')}$`, 'm'));
    const j = await run(['profile', 'show', 'b', '--json']);
    const p = JSON.parse(j.stdout) as ProfileListing;
    expect(p).toMatchObject({ name: 'b', default: false, domain: b.domain, audience: b.info().audience, token: { cached: true } });
    expect(Object.keys(p).sort()).toEqual(['audience', 'client_id', 'default', 'domain', 'name', 'scope', 'subject_token_type', 'token']);
    const env = await run(['profile', 'show', '--json'], { OMNI_AUTH_PROFILE: 'b' });
    expect((JSON.parse(env.stdout) as ProfileListing).name).toBe('b');
    const global = await run(['--profile', 'b', 'profile', 'show', '--json']);
    expect((JSON.parse(global.stdout) as ProfileListing).name).toBe('b');
    const unknown = await run(['profile', 'show', 'zz']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('saved profiles: a, b');
  });

  it('two profiles of the same tenant, application and API share one token: status says so, logout --profile says whose else it removed', async () => {
    const { client_id, audience } = (await saved()).profiles.a!;
    const twin = await run(['login', '--profile', 'twin', '--no-write', '--domain', a.domain, '--client-id', client_id, '--audience', audience]);
    expect(twin.code, twin.stderr).toBe(0);
    const report = JSON.parse((await run(['status', '--json'])).stdout) as StatusReport;
    const byName = Object.fromEntries((report.profiles ?? []).map((p) => [p.name, p.token]));
    expect(byName.a).toMatchObject({ cached: true, shared_with: ['twin'] });
    expect(byName.twin).toMatchObject({ cached: true, shared_with: ['a'] });
    expect(byName.b!.shared_with).toBeUndefined();
    expect((await run(['status'])).stderr).toMatch(/^ +twin +.*\(shared with a\)$/m);
    expect(ofTenant(await cache(), a)).toHaveLength(1);

    const out = await run(['logout', '--profile', 'twin', '--keep-mcp']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain('profile "twin": removed 1 cached token');
    expect(out.stderr).toContain('the removed tokens were also profile "a"\'s');
    expect(ofTenant(await cache(), a)).toEqual([]);
    // a gets a new one at its next use.
    const ta = await run(['token']);
    expect(await issuerOf(ta.stdout.trim(), a)).toBe(`${a.domain}/`);
  });

  it('profile remove of a profile that shares its token keeps the token (the other still uses it)', async () => {
    const before = ofTenant(await cache(), a);
    expect(before).toHaveLength(1);
    const r = await run(['profile', 'remove', 'twin']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('removed profile "twin"');
    expect(r.stderr).toContain('kept its 1 cached token: profile "a" uses the same tenant, application and API');
    expect(Object.keys((await saved()).profiles)).toEqual(['a', 'b']);
    expect(ofTenant(await cache(), a)).toEqual(before);
  });

  it('profile remove: refuses the default (unless --force) and a profile MCP entries are wired for; then removes it, its token revoked at its tenant, the other profile untouched', async () => {
    const cursor = join(home.dir, '.cursor', 'mcp.json');
    await mkdir(dirname(cursor), { recursive: true });
    await writeFile(cursor, '{\n  "mcpServers": {}\n}\n');
    const server = join(home.dir, 'server.cjs');
    await writeFile(server, 'process.stdout.write("ok")\n');
    const added = await run(['mcp', 'add', 'srv-b', '--client', 'cursor', '--profile', 'b', '--', process.execPath, server]);
    expect(added.code, added.stderr).toBe(0);
    expect((await run(['profile', 'use', 'b'])).code).toBe(0);
    const settingsBefore = await settingsText();
    const cacheBefore = await cache();

    const isDefault = await run(['profile', 'remove', 'b']);
    expect(isDefault.code).toBe(2);
    expect(isDefault.stderr).toContain('[profile_is_default]');
    expect(isDefault.stderr).toContain('omni-auth profile use OTHER');
    const viaEnv = await run(['profile', 'remove', 'a'], { OMNI_AUTH_PROFILE: 'a' });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain('profile "a" is the default profile (OMNI_AUTH_PROFILE)');
    const wired = await run(['profile', 'remove', 'b', '--force']);
    expect(wired.code).toBe(2);
    expect(wired.stderr).toContain('[profile_wired]');
    expect(wired.stderr).toContain('Cursor "srv-b"');
    expect(wired.stderr).toContain('omni-auth logout --profile b');
    const unknown = await run(['profile', 'remove', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('[unknown_profile]');
    expect(await settingsText()).toBe(settingsBefore);
    expect(await cache()).toEqual(cacheBefore);

    const un = await run(['mcp', 'unwire', '--all', '--profile', 'b', '--client', 'cursor']);
    expect(un.code, un.stderr).toBe(0);
    const [[bKey, bToken]] = ofTenant(cacheBefore, b) as [[string, Cached]];
    expect(bToken.refresh_token).toBeDefined();
    const removed = await run(['profile', 'remove', 'b', '--force']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toContain('removed profile "b"');
    expect(removed.stderr).toContain('it was the default profile: commands without --profile now use "default"');
    expect(removed.stderr).toMatch(/removed its 1 cached token, revoked 1 refresh token/);
    const after = await saved();
    expect(after.default_profile).toBeUndefined();
    expect(Object.keys(after.profiles)).toEqual(['a']);
    const cacheAfter = await cache();
    expect(ofTenant(cacheAfter, b)).toEqual([]);
    expect(ofTenant(cacheAfter, a)).toEqual(ofTenant(cacheBefore, a));
    const refresh = await fetch(`${b.domain}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: parseCacheKey(bKey)!.clientId, refresh_token: bToken.refresh_token! }),
    });
    expect(refresh.status).toBe(403);
    // Gone: --profile b is a profile the file does not have; a still answers from its cache.
    const gone = await run(['token', '--profile', 'b']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('saved profiles: a');
    expect(decodeJwt((await run(['token', '--profile', 'a'])).stdout.trim()).iss).toBe(`${a.domain}/`);
  });

  it('an entry wired for "default" in a home with named profiles says --profile default: profile use does not move it (wire14)', async () => {
    const server = join(home.dir, 'server.cjs');
    // No default profile saved and no top-level settings: the entry is wired for "default", pinned (profile a exists).
    const added = await run(['mcp', 'add', 'srv-plain', '--client', 'cursor', '--', process.execPath, server]);
    expect(added.code, added.stderr).toBe(0);
    const cursor = JSON.parse(await readFile(join(home.dir, '.cursor', 'mcp.json'), 'utf8')) as { mcpServers: Record<string, { args: string[] }> };
    expect(cursor.mcpServers['srv-plain']!.args.slice(1, 4)).toEqual(['exec', '--profile', 'default']);
    const used = await run(['profile', 'use', 'a']);
    expect(used.code, used.stderr).toBe(0);
    expect(used.stderr).not.toContain('MCP entr');
  });

  it('printed no token or management secret on stderr or in --json output (only token\'s stdout has a token)', () => {
    for (const r of outputs) {
      expect(r.stderr).not.toMatch(TOKEN_SHAPED);
      for (const emu of [a, b]) expect(`${r.stderr}${r.stdout}`).not.toContain(emu.info().management.client_secret);
      if (r.stdout.startsWith('{')) expect(r.stdout).not.toMatch(TOKEN_SHAPED);
    }
  });
});
