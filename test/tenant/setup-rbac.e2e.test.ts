/**
 * `omni-auth setup --rbac [--permissions] [--role]` and doctor's RBAC report (issue 12 §3), the built
 * CLI against the emulator: the dry-run plan shows the RBAC and role steps and writes nothing; the run
 * turns RBAC on with permissions in the token, adds the permissions to the API's scopes (its other
 * scopes stay), creates the role holding them; a second run writes nothing; a role that exists is
 * reused and only given what it lacks; doctor says whether tokens carry permissions and which exist.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import type { DoctorReport } from '../../src/tenant/doctor.js';
import { api, managementToken } from '../emulator/helpers.js';
import { TOKEN_SHAPED, cli, eachTestFreshTenant, stats, writesBetween, type TempHome } from './helpers.js';

let emu: Emulator;
let home: TempHome;
eachTestFreshTenant((e, h) => {
  emu = e;
  home = h;
});

const mgmtEnv = () => ({ OMNI_AUTH_HOME: home.files.home, AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret });
const setupArgs = () => ['setup', '--domain', emu.domain, '--audience', emu.info().audience, '--identity', 'both'];
const RBAC = ['--rbac', '--permissions', 'tool:echo,tool:add', '--role', 'mcp-tools'];
const theApi = () => [...emu.tenant.resourceServers.values()].find((rs) => rs.identifier === emu.info().audience)!;
const roleNamed = (name: string) => [...emu.tenant.roles.values()].find((r) => r.name === name);

function noSecrets(...outputs: string[]): void {
  for (const text of outputs) {
    expect(text).not.toContain(emu.info().management.client_secret);
    expect(text).not.toMatch(TOKEN_SHAPED);
  }
}

describe('setup --rbac', () => {
  it('dry run: the plan shows RBAC and the role, in text and --json, and nothing is written', async () => {
    const before = await stats(emu);
    const dry = await cli([...setupArgs(), ...RBAC, '--dry-run'], mgmtEnv());
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/~ RBAC\s+\S+\s+update: enforce_policies, token_dialect, scopes/);
    expect(dry.stderr).toMatch(/\+ role\s+mcp-tools\s+create/);
    expect(dry.stderr).toContain('RBAC: tokens for');
    const json = await cli([...setupArgs(), ...RBAC, '--dry-run', '--json'], mgmtEnv());
    const doc = JSON.parse(json.stdout) as { plan: { steps: { resource: string; change: string; fields: string[] }[] } };
    expect(doc.plan.steps.filter((s) => s.resource === 'rbac' || s.resource === 'role')).toEqual([
      { resource: 'rbac', target: emu.info().audience, change: 'update', fields: ['enforce_policies', 'token_dialect', 'scopes'] },
      { resource: 'role', target: 'mcp-tools', change: 'create', fields: ['name', 'permissions'] },
    ]);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(roleNamed('mcp-tools')).toBeUndefined();
    expect(theApi().enforce_policies).toBe(false);
    noSecrets(dry.stdout, dry.stderr, json.stderr);
  });

  it('applies: RBAC on with permissions in tokens, the API\'s own scopes kept, the role created with the permissions; a second run writes nothing', async () => {
    const token = await managementToken(emu);
    const patched = await api(emu, token, 'PATCH', `/resource-servers/${encodeURIComponent(emu.info().audience)}`, { scopes: [{ value: 'read:notes', description: 'the API\'s own' }] });
    expect(patched.status).toBe(200);
    const first = await cli([...setupArgs(), ...RBAC], mgmtEnv());
    expect(first.code, first.stderr).toBe(0);
    noSecrets(first.stdout, first.stderr);
    expect(theApi()).toMatchObject({ enforce_policies: true, token_dialect: 'access_token_authz' });
    expect(theApi().scopes.map((s) => s.value)).toEqual(['read:notes', 'tool:echo', 'tool:add']);
    const role = roleNamed('mcp-tools')!;
    expect(role).toBeDefined();
    expect(emu.tenant.rolePermissions.get(role.id)!.map((p) => [p.resource_server_identifier, p.permission_name]))
      .toEqual([[emu.info().audience, 'tool:echo'], [emu.info().audience, 'tool:add']]);

    const before = await stats(emu);
    const second = await cli([...setupArgs(), ...RBAC], mgmtEnv());
    expect(second.code, second.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(second.stderr).toMatch(/= RBAC/);
    expect(second.stderr).toMatch(/= role\s+mcp-tools \(rol_/);
    expect([...emu.tenant.roles.values()].filter((r) => r.name === 'mcp-tools')).toHaveLength(1);
  });

  it('reuses a role that exists and gives it only the permissions it lacks; keeps an rfc9068 profile', async () => {
    const token = await managementToken(emu);
    await api(emu, token, 'PATCH', `/resource-servers/${encodeURIComponent(emu.info().audience)}`, { token_dialect: 'rfc9068_profile', scopes: [{ value: 'tool:echo' }] });
    const made = await api(emu, token, 'POST', '/roles', { name: 'mcp-tools', description: 'made by hand' });
    await api(emu, token, 'POST', `/roles/${made.body.id}/permissions`, { permissions: [{ resource_server_identifier: emu.info().audience, permission_name: 'tool:echo' }] });
    const dry = await cli([...setupArgs(), ...RBAC, '--dry-run', '--json'], mgmtEnv());
    const steps = (JSON.parse(dry.stdout) as { plan: { steps: { resource: string; change: string; fields: string[]; target: string }[] } }).plan.steps;
    expect(steps.find((s) => s.resource === 'role')).toEqual({ resource: 'role', target: `mcp-tools (${made.body.id})`, change: 'update', fields: ['permissions'] });
    expect(steps.find((s) => s.resource === 'rbac')!.fields).toEqual(['enforce_policies', 'token_dialect', 'scopes']);
    const r = await cli([...setupArgs(), ...RBAC], mgmtEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(theApi().token_dialect).toBe('rfc9068_profile_authz');
    expect(emu.tenant.roles.get(made.body.id)!.description).toBe('made by hand');
    expect(emu.tenant.rolePermissions.get(made.body.id)!.map((p) => p.permission_name)).toEqual(['tool:echo', 'tool:add']);
  });

  it('refuses --permissions or --role without --rbac, and --role without --permissions (exit 2, nothing written)', async () => {
    const before = await stats(emu);
    for (const args of [['--permissions', 'tool:x'], ['--role', 'r'], ['--rbac', '--role', 'r']]) {
      const r = await cli([...setupArgs(), ...args], mgmtEnv());
      expect(r.code, r.stderr).toBe(2);
    }
    expect(writesBetween(before, await stats(emu))).toEqual({});
  });
});

describe('doctor reports RBAC', () => {
  it('off before setup --rbac; on with permissions in tokens and the permissions listed after', async () => {
    expect((await cli(setupArgs(), mgmtEnv())).code).toBe(0);
    const off = JSON.parse((await cli(['doctor', '--json'], mgmtEnv())).stdout) as DoctorReport;
    expect(off.checks.find((c) => c.id === 'rbac')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/RBAC is off .*no permissions claim/) });
    expect((await cli([...setupArgs(), ...RBAC], mgmtEnv())).code).toBe(0);
    const on = await cli(['doctor'], mgmtEnv());
    expect(on.stderr).toMatch(/✓ RBAC permissions\s+RBAC is on for \S+ and tokens carry permissions \(token dialect access_token_authz\); permissions defined: tool:echo, tool:add/);
    // RBAC on but the dialect leaves permissions out: a warning with the fix.
    const token = await managementToken(emu);
    await api(emu, token, 'PATCH', `/resource-servers/${encodeURIComponent(emu.info().audience)}`, { token_dialect: 'access_token' });
    const warned = JSON.parse((await cli(['doctor', '--json'], mgmtEnv())).stdout) as DoctorReport;
    expect(warned.checks.find((c) => c.id === 'rbac')).toMatchObject({ status: 'warn', fix: expect.stringContaining('setup --rbac') });
  });
});
