/**
 * scripts/*.sh (curl + jq) against the emulator: run in order on a fresh tenant, then an exchange
 * with the CLI (`login`); run again → no writes; they write the same secrets marker as `setup`;
 * failures exit non-zero with the API's error; http:// only for loopback; the token never printed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { cli, freshTenant, inputsFor, run, runSetupUseCase, SCRIPTS, stats, tempHome, writesBetween, type CliRun } from './helpers.js';

let emu: Emulator;
let home: Awaited<ReturnType<typeof tempHome>>;
beforeEach(async () => {
  emu = await freshTenant();
  home = await tempHome();
});
afterEach(async () => {
  await emu.close();
  await home.cleanup();
});

const script = (name: string, env: Record<string, string>): Promise<CliRun> =>
  run('bash', [join(SCRIPTS, name)], { PATH: process.env.PATH ?? '', HOME: home.files.home, ...env });

async function mgmtToken(): Promise<string> {
  const got = await script('get-mgmt-token.sh', {
    AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
  });
  expect(got.code, got.stderr).toBe(0);
  expect(got.stderr).toBe('');
  return got.stdout.trim();
}

/** The three provisioning scripts in order; returns their runs. */
async function provision(token: string, extra: Record<string, string> = {}): Promise<CliRun[]> {
  const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, ...extra };
  const action = await script('create-or-update-action.sh', base);
  expect(action.code, action.stderr).toBe(0);
  const profile = await script('create-profile.sh', { ...base, ACTION_ID: action.stdout.trim() });
  expect(profile.code, profile.stderr).toBe(0);
  const client = await script('enable-client.sh', { ...base, CLIENT_ID: emu.info().client_id, AUDIENCE: emu.info().audience });
  expect(client.code, client.stderr).toBe(0);
  return [action, profile, client];
}

describe('scripts/', () => {
  it('in order on a fresh tenant, then `omni-auth login` exchanges; a second run writes nothing', async () => {
    const token = await mgmtToken();
    expect(token).toMatch(/^eyJ/);
    const runs = await provision(token);
    expect(runs[0]!.stdout.trim()).toBe([...emu.tenant.actions.keys()][0]);
    expect(runs[1]!.stdout.trim()).toMatch(/^tep_/);
    for (const r of runs) expect(`${r.stdout}${r.stderr}`).not.toContain(token);

    const login = await cli(['login', '--no-write', '--domain', emu.domain, '--client-id', emu.info().client_id, '--audience', emu.info().audience],
      { OMNI_AUTH_HOME: home.files.home });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('Logged in');

    const before = await stats(emu);
    const again = await provision(token);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(again[0]!.stderr).toContain('is up to date and deployed');

    // `setup` sees the scripts' tenant as done: the same secrets marker.
    const plan = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id }), { dryRun: true });
    expect(plan.plan.steps.map((s) => s.change)).toEqual(Array(6).fill('unchanged'));
  });

  it('ALLOWED_KEYS: one update and deploy, and the marker matches setup\'s whatever the order of the keys', async () => {
    const token = await mgmtToken();
    await provision(token);
    const k1 = 'A'.repeat(43);
    const k2 = 'z'.repeat(43);
    const actionId = [...emu.tenant.actions.keys()][0]!;
    const before = await stats(emu);
    const updated = await script('create-or-update-action.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, ALLOWED_KEYS: ` ${k2}, ${k1} ` });
    expect(updated.code, updated.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({
      [`PATCH /api/v2/actions/actions/${actionId}`]: 1, [`POST /api/v2/actions/actions/${actionId}/deploy`]: 1,
    });
    const plan = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id, allowedKeys: [k1, k2] }), { dryRun: true });
    expect(plan.plan.steps.find((s) => s.resource === 'action')!.change).toBe('unchanged');
  });

  it('a refused call exits non-zero with the API\'s error body on stderr', async () => {
    const bad = await script('get-mgmt-token.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: 'wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('HTTP 401');
    expect(bad.stderr).toContain('"error":"invalid_client"');

    const noScope = await script('create-or-update-action.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: 'not.a.token' });
    expect(noScope.code).toBe(1);
    expect(noScope.stderr).toMatch(/GET \/api\/v2\/actions\/actions\?\S* answered HTTP 401/);
    expect(noScope.stderr).toContain('"message":"Invalid token"');

    const missing = await script('enable-client.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: await mgmtToken(), CLIENT_ID: 'nope', AUDIENCE: emu.info().audience });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no application with client id nope');

    const unset = await script('create-profile.sh', { AUTH0_DOMAIN: emu.domain });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('AUTH0_MGMT_TOKEN is not set');
  });

  it('a subject token type held by another Action\'s profile: create-profile.sh names it', async () => {
    const token = await mgmtToken();
    await provision(token);
    const other = await script('create-or-update-action.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, ACTION_NAME: 'their-action' });
    expect(other.code, other.stderr).toBe(0);
    const clash = await script('create-profile.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, ACTION_ID: other.stdout.trim() });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/already used by the profile "omnispindle-local-auth" \(tep_\w+\), which runs the Action "omni-auth-custom-token-exchange"/);
  });

  it('http:// only for loopback', async () => {
    const env = { AUTH0_MGMT_CLIENT_ID: 'x', AUTH0_MGMT_CLIENT_SECRET: 'y', AUTH0_MGMT_TOKEN: 'z', CLIENT_ID: 'c', AUDIENCE: 'a' };
    for (const name of ['get-mgmt-token.sh', 'create-or-update-action.sh', 'create-profile.sh', 'enable-client.sh']) {
      const r = await script(name, { ...env, AUTH0_DOMAIN: 'http://tenant.example.com' });
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toContain('http:// is allowed only for 127.0.0.1, localhost or [::1]');
    }
  });

  // util-linux `script -c` gives the command a terminal as stdout.
  it.skipIf(process.platform !== 'linux' || !existsSync('/usr/bin/script'))('get-mgmt-token.sh never prints the token on a terminal', async () => {
    const tty = await run('script', ['-qec', `bash ${join(SCRIPTS, 'get-mgmt-token.sh')}`, '/dev/null'], {
      PATH: process.env.PATH ?? '', AUTH0_DOMAIN: emu.domain,
      AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
    });
    expect(tty.stdout).toContain('refusing to print the token on a terminal');
    expect(tty.stdout).not.toMatch(/eyJ/);
  });
});
