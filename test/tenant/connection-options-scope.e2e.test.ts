/**
 * `omni-auth setup` and `doctor` (the built CLI) against an emulator that hides a connection's
 * `options` from a token without read:connections_options, as Auth0 does ("Migrate to Management API
 * Connection Options Scopes"): with the seeded grant setup works end to end and the machines'
 * connection gets its options; with the read scope taken from the grant, a second setup stops with
 * `connection_options_unreadable` (exit 3) before writing, and doctor warns that it cannot tell.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import type { DoctorReport } from '../../src/tenant/doctor.js';
import { cli, eachTestFreshTenant, stats, type TempHome, writesBetween } from './helpers.js';

let emu: Emulator;
let home: TempHome;
eachTestFreshTenant((e, h) => {
  emu = e;
  home = h;
});

const env = (): Record<string, string> => ({
  OMNI_AUTH_HOME: home.files.home,
  AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id,
  AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
});
const setupArgs = (): string[] => ['setup', '--domain', emu.domain, '--audience', emu.info().audience, '--identity', 'both'];

/** Takes `scope` out of the seeded application's Management API grant (an admin unticking it). */
function revoke(scope: string): void {
  const grant = emu.tenant.clientGrants.find((g) => g.client_id === emu.info().management.client_id)!;
  grant.scope = grant.scope.filter((s) => s !== scope);
}

describe('the connection options scopes, end to end', () => {
  it('with the seeded grant (both options scopes): setup creates omni-auth-machines with its options and a second run changes nothing', async () => {
    const first = await cli(setupArgs(), env());
    expect(first.code, first.stderr).toBe(0);
    const machines = [...emu.tenant.connections.values()].find((c) => c.name === 'omni-auth-machines')!;
    expect(machines.options).toMatchObject({ disable_signup: true, attributes: { username: { identifier: { active: true } } } });
    // A second run reads the options back (read:connections_options) and finds nothing to change.
    const before = await stats(emu);
    const again = await cli(setupArgs(), env());
    expect(again.code, again.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({});
  });

  it('without read:connections_options: setup stops with connection_options_unreadable (exit 3), nothing written; doctor warns', async () => {
    expect((await cli(setupArgs(), env())).code).toBe(0);
    expect((await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home.files.home })).code).toBe(0);
    revoke('read:connections_options');

    const before = await stats(emu);
    const run = await cli(setupArgs(), env());
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('[connection_options_unreadable]');
    expect(run.stderr).toContain('read:connections_options');
    expect(writesBetween(before, await stats(emu))).toEqual({});

    const json = await cli([...setupArgs(), '--json'], env());
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as { error: Record<string, unknown> };
    expect(doc.error).toMatchObject({ code: 'connection_options_unreadable', exit_code: 3, details: { missing_scopes: ['read:connections_options'] } });

    const doctor = await cli(['doctor', '--json'], env());
    const report = JSON.parse(doctor.stdout) as DoctorReport;
    const connection = report.checks.find((c) => c.id === 'connection');
    expect(connection).toMatchObject({ status: 'warn' });
    expect(JSON.stringify(connection)).toContain('read:connections_options');
  });
});
