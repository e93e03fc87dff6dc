/**
 * scripts/*.sh (curl + jq) against the emulator: run in order on a fresh tenant, then an exchange
 * with the CLI (`login`); run again → no writes; they write the same secrets marker as `setup` (and
 * keep the allow-list the same way); failures exit non-zero with the API's error; http:// only for
 * an exact loopback host, refused before any request; the token never printed. Keyless CI
 * (create-ci-action.sh --policy, create-profile.sh --ci): a GitHub-style job then gets a token for
 * the policy's user (the built CLI, the emulator's stand-in issuer), doctor and setup read the
 * scripts' policy back, a bad policy is refused before any request.
 */
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { managementSdk } from '../emulator/helpers.js';
import { deployedRules, desiredCiAction, parseTrustPolicy, readCiActionSource } from '../../src/tenant/ci-policy.js';
import {
  actionCopy, cli, inputsFor, run, runSetupUseCase, SCRIPTS, stats, eachTestFreshTenant, type TempHome, writesBetween, type CliRun,
} from './helpers.js';

let emu: Emulator;
let home: TempHome;
eachTestFreshTenant((e, h) => {
  emu = e;
  home = h;
});

const script = (name: string, env: Record<string, string>, args: string[] = []): Promise<CliRun> =>
  run('bash', [join(SCRIPTS, name), ...args], { PATH: process.env.PATH ?? '', HOME: home.files.home, ...env });

async function mgmtToken(): Promise<string> {
  const got = await script('get-mgmt-token.sh', {
    AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
  });
  expect(got.code, got.stderr).toBe(0);
  expect(got.stderr).toBe('');
  return got.stdout.trim();
}

/**
 * The four provisioning scripts in order; returns their runs (the connection's first). IDENTITY=both
 * unless `extra` says otherwise: the tests' machine keys are bound to nobody.
 */
async function provision(token: string, extra: Record<string, string> = {}): Promise<CliRun[]> {
  const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, IDENTITY: 'both', ...extra };
  const connection = await script('create-connection.sh', { ...base, CLIENT_ID: emu.info().client_id });
  expect(connection.code, connection.stderr).toBe(0);
  const action = await script('create-or-update-action.sh', base);
  expect(action.code, action.stderr).toBe(0);
  const profile = await script('create-profile.sh', { ...base, ACTION_ID: action.stdout.trim() });
  expect(profile.code, profile.stderr).toBe(0);
  const client = await script('enable-client.sh', { ...base, CLIENT_ID: emu.info().client_id, AUDIENCE: emu.info().audience });
  expect(client.code, client.stderr).toBe(0);
  return [action, profile, client, connection];
}

describe('scripts/', () => {
  it('in order on a fresh tenant, then `omni-auth login` exchanges; a second run writes nothing', async () => {
    const token = await mgmtToken();
    expect(token).toMatch(/^eyJ/);
    const runs = await provision(token);
    expect(runs[0]!.stdout.trim()).toBe([...emu.tenant.actions.keys()][0]);
    expect(runs[1]!.stdout.trim()).toMatch(/^tep_/);
    for (const r of runs) expect(`${r.stdout}${r.stderr}`).not.toContain(token);
    // The machines' connection: username the only identifier, sign-ups off, enabled for the CLI only.
    const machines = [...emu.tenant.connections.values()].find((c) => c.name === 'omni-auth-machines')!;
    expect(runs[3]!.stdout.trim()).toBe(machines.id);
    expect(machines.options).toMatchObject({ disable_signup: true, attributes: { username: { identifier: { active: true } } } });
    expect(machines.options!.attributes).not.toHaveProperty('email');
    expect(machines.enabled_clients).toEqual([emu.info().client_id]);

    const login = await cli(['login', '--no-write', '--domain', emu.domain, '--client-id', emu.info().client_id, '--audience', emu.info().audience],
      { OMNI_AUTH_HOME: home.files.home });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('Logged in');

    const before = await stats(emu);
    const again = await provision(token);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(again[0]!.stderr).toContain('is up to date and deployed');
    expect(again[3]!.stderr).toContain('has the machines\' options');

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
    // setup without --allowed-keys reads the scripts' list back.
    const kept = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id }), { dryRun: true });
    expect(kept.plan.allowed_keys).toEqual({ keys: [k1, k2], from: 'tenant' });
    expect(kept.changed).toBe(false);
  });

  it('without ALLOWED_KEYS the Action\'s list is kept (also one setup wrote); ALLOWED_KEYS= clears it; a bad thumbprint is refused', async () => {
    const token = await mgmtToken();
    const k1 = 'A'.repeat(43);
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id, allowedKeys: [k1] }));
    const actionId = [...emu.tenant.actions.keys()][0]!;
    const live = () => emu.tenant.actions.get(actionId)!.deployed_version!.secrets.map((s) => [s.name, s.value]);
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };

    let before = await stats(emu);
    const plain = await script('create-or-update-action.sh', base);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('is up to date and deployed');
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(live()).toContainEqual(['ALLOWED_KEYS', k1]);

    const bad = await script('create-or-update-action.sh', { ...base, ALLOWED_KEYS: 'not-a-thumbprint' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"not-a-thumbprint" is not a key thumbprint');

    before = await stats(emu);
    const cleared = await script('create-or-update-action.sh', { ...base, ALLOWED_KEYS: '' });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({
      [`PATCH /api/v2/actions/actions/${actionId}`]: 1, [`POST /api/v2/actions/actions/${actionId}/deploy`]: 1,
    });
    expect(live().map(([name]) => name)).toEqual(['ISSUER', 'CONNECTION', 'IDENTITY']);
    expect(emu.tenant.actions.get(actionId)!.code).not.toContain('omni-auth:allowed-keys');

    // An ALLOWED_KEYS secret no marker records: the script stops rather than drop it.
    const action = emu.tenant.actions.get(actionId)!;
    action.secrets.push({ ...action.secrets[0]!, name: 'ALLOWED_KEYS', value: k1 });
    const unknown = await script('create-or-update-action.sh', base);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has an ALLOWED_KEYS secret whose value cannot be read back');
  });

  it('IDENTITY: unset → person on a new Action and kept; a pre-policy Action stays machine; IDENTITY= changes it; unreadable or bad → refused', async () => {
    const token = await mgmtToken();
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const created = await script('create-or-update-action.sh', base);
    expect(created.code, created.stderr).toBe(0);
    const actionId = created.stdout.trim();
    const action = () => emu.tenant.actions.get(actionId)!;
    const live = () => action().deployed_version!.secrets.find((x) => x.name === 'IDENTITY')?.value;
    expect(live()).toBe('person');
    expect(action().code).toMatch(/\n\/\/ omni-auth:identity=person\n\/\/ omni-auth:secrets-sha256=[0-9a-f]{64}\n$/);
    // The same code as setup deploys for the same secrets: setup sees nothing to change, and keeps person.
    const plan = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id, identity: undefined }), { dryRun: true });
    expect(plan.plan.steps.find((x) => x.resource === 'action')!.change).toBe('unchanged');
    expect(plan.plan.identity).toEqual({ policy: 'person', from: 'tenant' });

    let before = await stats(emu);
    const kept = await script('create-or-update-action.sh', base);
    expect(kept.stderr).toContain('is up to date and deployed');
    expect(writesBetween(before, await stats(emu))).toEqual({});

    const changed = await script('create-or-update-action.sh', { ...base, IDENTITY: 'machine' });
    expect(changed.code, changed.stderr).toBe(0);
    expect(live()).toBe('machine');

    // An Action from before the policy: no IDENTITY secret, no identity line → kept as machine, said explicitly.
    const a = action();
    a.code = a.code.replace(/\/\/ omni-auth:identity=[^\n]*\n/, '');
    a.secrets = a.secrets.filter((x) => x.name !== 'IDENTITY');
    const legacy = await script('create-or-update-action.sh', base);
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(live()).toBe('machine');
    expect(action().code).toContain('// omni-auth:identity=machine\n');

    // The secret without a line recording it: stop rather than guess.
    action().code = action().code.replace(/\/\/ omni-auth:identity=[^\n]*\n/, '');
    before = await stats(emu);
    const unknown = await script('create-or-update-action.sh', base);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has an IDENTITY secret whose value cannot be read back');
    const bad = await script('create-or-update-action.sh', { ...base, IDENTITY: 'everyone' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('IDENTITY must be person, machine or both; got "everyone"');
    expect(writesBetween(before, await stats(emu))).toEqual({});
  });

  it('enable-client.sh adds the loopback callbacks and the authorization_code grant after the application\'s own; a second run writes nothing', async () => {
    const token = await mgmtToken();
    const clientId = emu.info().client_id;
    const own = ['https://app.example.com/callback'];
    Object.assign(emu.tenant.clients.get(clientId)!, { callbacks: own, grant_types: ['implicit', 'refresh_token'] });
    await provision(token);
    expect(emu.tenant.clients.get(clientId)).toMatchObject({
      callbacks: [...own, 'http://127.0.0.1:8765/callback', 'http://localhost:8765/callback'],
      grant_types: ['implicit', 'refresh_token', 'authorization_code'],
    });
    const before = await stats(emu);
    const again = await script('enable-client.sh', { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, CLIENT_ID: clientId, AUDIENCE: emu.info().audience });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`the application ${clientId} is ready`);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    // setup agrees: nothing to change on the application.
    const plan = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }), { dryRun: true });
    expect(plan.plan.steps.find((x) => x.resource === 'application')!.change).toBe('unchanged');
  });

  it('create-connection.sh brings an existing connection in line with ONE full-options PATCH, keeping the tenant\'s own options', async () => {
    const token = await mgmtToken();
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const first = await script('create-connection.sh', base);
    expect(first.code, first.stderr).toBe(0);
    const id = first.stdout.trim();
    const conn = emu.tenant.connections.get(id)!;
    // Someone changed it by hand: a shorter max_length, sign-ups on, a password policy of their own.
    (conn.options!.attributes as { username: { validation: { max_length: number } } }).username.validation.max_length = 15;
    conn.options!.disable_signup = false;
    conn.options!.passwordPolicy = 'excellent';
    const before = await stats(emu);
    const fixed = await script('create-connection.sh', base);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({ [`PATCH /api/v2/connections/${id}`]: 1 });
    expect(emu.tenant.connections.get(id)!.options).toMatchObject({
      passwordPolicy: 'excellent', disable_signup: true, attributes: { username: { validation: { max_length: 64 } } },
    });
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
    // Each script stops at the first refused call (also one made inside $(…), where set -e does not reach).
    expect(noScope.stderr.match(/answered HTTP 401/g)).toHaveLength(1);
    for (const [name, args] of [['create-profile.sh', []], ['create-profile.sh', ['--ci']], ['create-ci-action.sh', []]] as const) {
      const r = await script(name, { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: 'not.a.token' }, [...args]);
      expect(r.code, name).toBe(1);
      expect(r.stderr.match(/answered HTTP 401/g), `${name} ${args.join(' ')}`).toHaveLength(1);
    }

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

  it('http:// only for an exact loopback host (127.x.y.z, localhost, [::1]), refused before any request', async () => {
    // A curl that records each call and fails: a refusal must come before any call.
    const bin = join(home.files.home, 'bin');
    const log = join(home.files.home, 'curl.log');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'curl'), '#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$CURL_LOG"\nexit 7\n');
    await chmod(join(bin, 'curl'), 0o755);
    const env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`, CURL_LOG: log,
      AUTH0_MGMT_CLIENT_ID: 'x', AUTH0_MGMT_CLIENT_SECRET: 'y', AUTH0_MGMT_TOKEN: 'z', CLIENT_ID: 'c', AUDIENCE: 'a',
    };
    const refused = [
      'http://tenant.example.com', 'http://127.evil.example', 'http://127.0.0.1.nip.io', 'http://localhost.evil.com',
      'http://127.0.0.1@evil.example', 'http://127.0.0.1/path', 'http://127.0.0.1//', 'http://127.1', 'http://127.0.0.256', 'http://[::1].evil.example',
    ];
    for (const domain of refused) {
      for (const name of ['get-mgmt-token.sh', 'create-or-update-action.sh', 'create-profile.sh', 'enable-client.sh', 'create-connection.sh']) {
        const r = await script(name, { ...env, AUTH0_DOMAIN: domain });
        expect(r.code, `${name} ${domain}`).toBe(1);
        expect(r.stderr, `${name} ${domain}`).toContain('http:// is allowed only for 127.0.0.1, localhost or [::1]');
      }
    }
    expect(existsSync(log), 'curl was called for a refused domain').toBe(false);

    // The loopback forms pass the check and reach curl (the stub), each with its origin.
    const accepted = ['http://127.0.0.1:9', 'http://127.10.20.30:9/', 'http://localhost:9', 'http://[::1]:9/', 'http://localhost'];
    for (const domain of accepted) {
      const r = await script('get-mgmt-token.sh', { ...env, AUTH0_DOMAIN: domain });
      expect(r.stderr, domain).toContain('could not reach');
    }
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls.map((c) => /(http:\/\/\S+)\/oauth\/token/.exec(c)?.[1])).toEqual(accepted.map((d) => d.replace(/\/$/, '')));
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

/** A trust policy file in the test's home. */
async function policyFile(rules: unknown, name = 'ci-rules.json'): Promise<string> {
  const file = join(home.files.home, name);
  await writeFile(file, typeof rules === 'string' ? rules : JSON.stringify(rules));
  return file;
}

/** A GitHub Actions job on a runner of its own (empty home): `omni-auth token --ci github` against the emulator's stand-in issuer. */
async function githubJob(query = ''): Promise<CliRun> {
  const jobHome = await mkdtemp(join(home.files.home, 'job-'));
  const { ci, client_id, audience } = emu.info();
  return cli(['token', '--ci', 'github'], {
    OMNI_AUTH_HOME: jobHome, OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: client_id, OMNI_AUTH_AUDIENCE: audience,
    GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${ci.request_url}${query}`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: ci.request_token,
  });
}

const serviceUser = (username: string) => [...emu.tenant.users.values()].find((u) => u.username === username && u.connection === 'omni-auth-machines');

/** The machine scripts, then create-ci-action.sh --policy FILE and create-profile.sh --ci (with the machine Action's ACTION_ID still exported). */
async function provisionCi(token: string, rules: unknown): Promise<{ action: CliRun; profile: CliRun; machineActionId: string; file: string }> {
  const [machine] = await provision(token);
  const machineActionId = machine!.stdout.trim();
  const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token, ACTION_ID: machineActionId };
  const file = await policyFile(rules);
  const action = await script('create-ci-action.sh', base, ['--policy', file]);
  expect(action.code, action.stderr).toBe(0);
  const profile = await script('create-profile.sh', base, ['--ci']);
  expect(profile.code, profile.stderr).toBe(0);
  return { action, profile, machineActionId, file };
}

/** The tenant provisioned by the scripts with one good rule (acme/api → a created user), and its CI Action as deployed. */
async function provisionGoodCi(): Promise<{ token: string; good: { issuer: string; claims: Record<string, string>; user: { create: string } }[]; ciAction: { id: string; code: string }; code: string }> {
  const token = await mgmtToken();
  const good = [{ issuer: emu.info().ci.issuer, claims: { repository: 'acme/api' }, user: { create: 'api' } }];
  const { action } = await provisionCi(token, good);
  const ciAction = emu.tenant.actions.get(action.stdout.trim())!;
  return { token, good, ciAction, code: ciAction.code };
}

describe('scripts/ — keyless CI (create-ci-action.sh, create-profile.sh --ci)', () => {
  it('on a fresh tenant: the service user, the CI Action and profile; a GitHub job the policy names gets a token for that user, another gets exit 3; doctor and setup read the scripts\' policy; a second run writes nothing', async () => {
    const token = await mgmtToken();
    const { ci } = emu.info();
    const rules = [{ issuer: ci.issuer, claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: { create: 'api' } }];
    const { action, profile, machineActionId, file } = await provisionCi(token, rules);

    const ciActionId = action.stdout.trim();
    expect(ciActionId).not.toBe(machineActionId);
    const deployed = emu.tenant.actions.get(ciActionId)!;
    expect(deployed).toMatchObject({ name: 'omni-auth-ci-oidc-exchange', runtime: 'node22', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }] });
    expect(deployed.deployed_version?.deployed).toBe(true);
    const user = serviceUser('ci-api')!;
    expect(user).toBeDefined();
    expect(user.email).toBeUndefined();
    expect(deployed.deployed_version!.secrets.map((x) => [x.name, x.value])).toEqual([
      ['ISSUER', emu.issuer],
      ['CI_TRUST_POLICY', JSON.stringify([{ issuer: ci.issuer, claims: rules[0]!.claims, user: user.user_id }])],
      // The emulator only: its stand-in issuer is http on loopback (see the script's header).
      ['CI_ALLOW_LOOPBACK_HTTP', '1'],
    ]);
    // The CI profile binds the CI Action, not the machine Action whose ACTION_ID was exported.
    const ciProfile = [...emu.tenant.profiles.values()].find((p) => p.subject_token_type === 'urn:omni-auth:ci-oidc')!;
    expect(ciProfile).toMatchObject({ id: profile.stdout.trim(), name: 'omni-auth-ci-oidc', action_id: ciActionId, type: 'custom_authentication' });
    for (const r of [action, profile]) {
      expect(`${r.stdout}${r.stderr}`).not.toContain(token);
      expect(`${r.stdout}${r.stderr}`.toLowerCase()).not.toContain('password');
    }

    const ok = await githubJob();
    expect(ok.code, ok.stderr).toBe(0);
    expect(decodeJwt(ok.stdout.trim()).sub).toBe(user.user_id);
    const other = await githubJob('&ref=refs/heads/dev');
    expect(other.code).toBe(3);
    expect(other.stdout).toBe('');
    expect(other.stderr).toContain('repo:acme/api:ref:refs/heads/dev');

    // doctor lists the rules from the scripts' marker, as it does after setup.
    const doctor = await cli(['doctor', '--json', '--domain', emu.domain, '--client-id', emu.info().client_id, '--audience', emu.info().audience], {
      OMNI_AUTH_HOME: home.files.home, AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
    });
    const check = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; detail: string }[] }).checks.find((c) => c.id === 'ci_trust');
    expect(check).toEqual(expect.objectContaining({
      // The user's connection after it: doctor looks every rule's user up (src/tenant/ci-users.ts).
      status: 'pass', detail: `1 rule (first match wins): #0 ${ci.issuer} repository=acme/api ref=refs/heads/main → ${user.user_id} (omni-auth-machines)`,
    }));

    // setup sees the same policy: with the same trust file nothing CI changes (same code, marker and
    // digest; the user found, not re-created); without it, the rules are kept from the tenant.
    const inputs = await inputsFor(emu, { clientId: emu.info().client_id, ciTrust: parseTrustPolicy(await readFile(file, 'utf8')), ciAction: await readCiActionSource() });
    const plan = await runSetupUseCase(emu, home.files, inputs, { dryRun: true });
    expect(plan.plan.steps.filter((x) => x.resource.startsWith('ci_')).map((x) => `${x.resource}:${x.change}`)).toEqual(['ci_action:unchanged', 'ci_profile:unchanged']);
    const kept = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id }), { dryRun: true });
    expect(kept.plan.ci_trust).toEqual({ from: 'tenant', rules: [`#0 ${ci.issuer} repository=acme/api ref=refs/heads/main → ${user.user_id}`] });

    // Again, with and without --policy: nothing written.
    const before = await stats(emu);
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const again = await script('create-ci-action.sh', base, ['--policy', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(ciActionId);
    expect(again.stderr).toContain('is up to date and deployed');
    const keep = await script('create-ci-action.sh', base);
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stderr).toContain('keeping the deployed CI trust policy (1 rule(s))');
    const profileAgain = await script('create-profile.sh', { ...base, CI_ACTION_ID: ciActionId }, ['--ci']);
    expect(profileAgain.code, profileAgain.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect([...emu.tenant.users.values()].filter((u) => u.username === 'ci-api')).toHaveLength(1);
  });

  it('a changed policy is one update and deploy (an existing user id, no new user); without --policy a new Action file is deployed with the policy kept', async () => {
    const token = await mgmtToken();
    const { ci } = emu.info();
    const first = [{ issuer: ci.issuer, claims: { repository: 'acme/api' }, user: { create: 'api' } }];
    const { action } = await provisionCi(token, first);
    const ciActionId = action.stdout.trim();
    const apiUser = serviceUser('ci-api')!.user_id;
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };

    let before = await stats(emu);
    const second = await policyFile([...first, { issuer: ci.issuer, claims: { repository: 'acme/web' }, user: apiUser }], 'second.json');
    const changed = await script('create-ci-action.sh', base, ['--policy', second]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({
      [`PATCH /api/v2/actions/actions/${ciActionId}`]: 1, [`POST /api/v2/actions/actions/${ciActionId}/deploy`]: 1,
    });
    const web = await githubJob('&repository=acme/web');
    expect(web.code, web.stderr).toBe(0);
    expect(decodeJwt(web.stdout.trim()).sub).toBe(apiUser);

    // An upgraded Action file, no --policy: the code is updated, the two rules stay.
    const copy = await actionCopy();
    try {
      await appendFile(join(copy.dir, 'ci_oidc_exchange.js'), '\n// a newer omni-auth\n');
      before = await stats(emu);
      const upgraded = await script('create-ci-action.sh', { ...base, ACTION_DIR: copy.dir });
      expect(upgraded.code, upgraded.stderr).toBe(0);
      expect(upgraded.stderr).toContain('keeping the deployed CI trust policy (2 rule(s))');
      expect(writesBetween(before, await stats(emu))).toEqual({
        [`PATCH /api/v2/actions/actions/${ciActionId}`]: 1, [`POST /api/v2/actions/actions/${ciActionId}/deploy`]: 1,
      });
      expect(emu.tenant.actions.get(ciActionId)!.code).toContain('// a newer omni-auth\n');
    } finally {
      await copy.cleanup();
    }
    expect((await githubJob('&repository=acme/web')).code).toBe(0);
    expect((await githubJob('&repository=acme/other')).code).toBe(3);
  });

  it('takes over a tenant setup --ci-trust-file provisioned: the same trust file finds the user and writes nothing', async () => {
    const token = await mgmtToken();
    const { ci } = emu.info();
    const rules = [{ issuer: ci.issuer, claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: { create: 'ci-api' } }];
    const file = await policyFile(rules);
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id, ciTrust: parseTrustPolicy(JSON.stringify(rules)), ciAction: await readCiActionSource() }));
    const before = await stats(emu);
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const action = await script('create-ci-action.sh', base, ['--policy', file]);
    expect(action.code, action.stderr).toBe(0);
    expect(action.stderr).toContain(`the service user ci-api is ${serviceUser('ci-api')!.user_id}`);
    expect(action.stderr).toContain('is up to date and deployed');
    const profile = await script('create-profile.sh', base, ['--ci']);
    expect(profile.code, profile.stderr).toBe(0);
    expect(writesBetween(before, await stats(emu))).toEqual({});
  });

  it('a bad policy file is refused naming the rule, and a policy over 4096 characters, before any request: the deployed Action is unchanged', async () => {
    const { token, good, ciAction, code } = await provisionGoodCi();
    const users = emu.tenant.users.size;
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const huge = Array.from({ length: 40 }, (_, i) => ({ issuer: 'github', claims: { repository: `acme/repository-with-a-long-name-${i}`, ref: 'refs/heads/main' }, user: { create: `user-${i}` } }));
    const cases: [unknown, string | RegExp][] = [
      ['[{"issuer":', 'is not valid JSON'],
      [{ issuer: 'github' }, 'must hold a JSON array of rules'],
      [[...good, 'x'], 'rule 1: is not an object'],
      [[...good, { issuer: 'github', claims: { ref: 'refs/heads/main' }, user: 'auth0|x' }], /rule 1: a rule for https:\/\/token\.actions\.githubusercontent\.com must name one of repository/],
      // As setup and the Action judge (src/tenant/ci-policy.ts SCOPING): anyone's job can carry these.
      [[...good, { issuer: 'github', claims: { job_workflow_ref: 'acme/wf/.github/workflows/ci.yml@refs/heads/main' }, user: 'auth0|x' }], /rule 1: a rule for https:\/\/token\.actions\.githubusercontent\.com must name one of repository/],
      [[{ issuer: 'github', claims: { sub: 'environment:prod' }, user: 'auth0|x' }], /rule 0: a rule for https:\/\/token\.actions\.githubusercontent\.com must name one of .* or a sub beginning with repo:OWNER\/REPO/],
      [[{ issuer: 'gitlab', claims: { ci_config_ref_uri: 'gitlab.com/acme/ci//x.yml@refs/heads/main' }, user: 'auth0|x' }], /rule 0: a rule for https:\/\/gitlab\.com must name one of project_path/],
      [[{ issuer: 'gitlab', claims: { sub: 'ref_type:branch' }, user: 'auth0|x' }], /rule 0: a rule for https:\/\/gitlab\.com must name one of .* or a sub beginning with project_path:GROUP\/PROJECT/],
      [[{ issuer: 'gitlab', claims: { project_path: 'a/b' }, user: 42 }], 'rule 0: user must be a user id'],
      [[...good, good[0], { issuer: 'http://ci.example.com', claims: { sub: 'x' }, user: 'auth0|x' }], 'rule 2: issuer "http://ci.example.com" must be https (http only on loopback)'],
      [[{ issuer: 'https://ci.example.com', claims: {}, user: 'auth0|x' }], 'rule 0: claims must be an object naming at least one claim'],
      [[{ issuer: 'https://ci.example.com', claims: { sub: true }, user: 'auth0|x' }], 'rule 0: claim "sub" must be a non-empty string'],
      [[{ issuer: 'https://ci.example.com', claims: { aud: 'x' }, user: 'auth0|x' }], 'rule 0: claim "aud" is checked by the Action itself'],
      [[{ issuer: 'https://ci.example.com', claims: { sub: 'x' }, user: { create: 'API' } }], 'rule 0: user.create "API" must be 1–50 characters'],
      [[{ issuer: 'https://ci.example.com', claims: { sub: 'x' }, user: 'auth0|x', users: [] }], 'rule 0: unknown field "users"'],
      [huge, /the CI trust policy is \d{4} characters as deployed; Auth0 allows at most 4096 in one Action secret \(CI_TRUST_POLICY\)/],
    ];
    for (const [rules, message] of cases) {
      const before = await stats(emu);
      const bad = await script('create-ci-action.sh', base, ['--policy', await policyFile(rules, 'bad.json')]);
      expect(bad.code, JSON.stringify(rules).slice(0, 80)).toBe(1);
      expect(bad.stdout).toBe('');
      if (typeof message === 'string') expect(bad.stderr).toContain(message);
      else expect(bad.stderr).toMatch(message);
      // Not a single request, let alone a write.
      expect(await stats(emu)).toEqual(before);
    }
    expect(emu.tenant.actions.get(ciAction.id)!.code).toBe(code);
    expect(emu.tenant.users.size).toBe(users);
    expect((await githubJob()).code).toBe(0);
  });

  it('the users rules name by id are looked up before any write, as setup does: missing, blocked, a person\'s account without "allow_person": true → refused naming the rule; with it, or a service user → deployed', async () => {
    const { token, good, ciAction, code } = await provisionGoodCi();
    const sdk = managementSdk(emu, token);
    const password = 'Pw-scripts-rule-users-Aa1!';
    const blocked = (await sdk.users.create({ connection: 'omni-auth-machines', username: 'ci-blocked', password })).user_id!;
    await sdk.users.update(blocked, { blocked: true });
    const person = (await sdk.users.create({ connection: 'Username-Password-Authentication', email: 'dana@example.com', password, email_verified: true })).user_id!;
    const service = (await sdk.users.create({ connection: 'omni-auth-machines', username: 'ci-deploy', password })).user_id!;
    const users = emu.tenant.users.size;
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const rule = (user: string, extra: Record<string, unknown> = {}) => ({ issuer: emu.info().ci.issuer, claims: { repository: 'acme/web' }, user, ...extra });
    const cases: [unknown, string][] = [
      [[...good, rule('auth0|000000000000000000000000')], 'rule 1: the user auth0|000000000000000000000000 does not exist on this tenant'],
      [[rule(blocked)], `rule 0: the user ${blocked} is blocked`],
      [[...good, rule(person)], `rule 1: the user ${person} is in the connection Username-Password-Authentication, not omni-auth-machines`],
      [[rule(person, { allow_person: 'yes' })], 'rule 0: allow_person must be true or false'],
      [[{ ...good[0], allow_person: true }], 'rule 0: allow_person applies to a user id'],
    ];
    for (const [rules, message] of cases) {
      const before = await stats(emu);
      const bad = await script('create-ci-action.sh', base, ['--policy', await policyFile(rules, 'bad.json')]);
      expect(bad.code, JSON.stringify(rules).slice(0, 80)).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toContain(message);
      expect(writesBetween(before, await stats(emu))).toEqual({});
    }
    expect(emu.tenant.actions.get(ciAction.id)!.code).toBe(code);
    expect(emu.tenant.users.size).toBe(users);

    const ok = await script('create-ci-action.sh', base, ['--policy', await policyFile([rule(service), rule(person, { allow_person: true }), ...good], 'ok.json')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(`rule 0: the user ${service} is in omni-auth-machines`);
    expect(ok.stderr).toContain(`rule 1: the user ${person} is in Username-Password-Authentication: a person's account, allowed by allow_person`);
    const policy = JSON.parse(emu.tenant.actions.get(ciAction.id)!.secrets.find((x) => x.name === 'CI_TRUST_POLICY')!.value) as { user: string }[];
    expect(policy.map((r) => r.user)).toEqual([service, person, serviceUser('ci-api')!.user_id]);
    expect(JSON.stringify(policy)).not.toContain('allow_person');
    const job = await githubJob('&repository=acme/web');
    expect(job.code, job.stderr).toBe(0);
    expect(decodeJwt(job.stdout.trim()).sub).toBe(service);
  });

  it('without --policy and no CI Action yet: refused, naming --policy; create-profile.sh --ci without the CI Action names create-ci-action.sh', async () => {
    const token = await mgmtToken();
    await provision(token);
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const before = await stats(emu);
    const none = await script('create-ci-action.sh', base);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('there is no CI Action omni-auth-ci-oidc-exchange yet: give the trust policy with --policy FILE');
    const profile = await script('create-profile.sh', { ...base, ACTION_ID: [...emu.tenant.actions.keys()][0]! }, ['--ci']);
    expect(profile.code).toBe(1);
    expect(profile.stderr).toContain('no Action named omni-auth-ci-oidc-exchange: run create-ci-action.sh first, or set CI_ACTION_ID');
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect([...emu.tenant.profiles.values()].map((p) => p.subject_token_type)).not.toContain('urn:omni-auth:ci-oidc');
  });

  it('urn:omni-auth:ci-oidc held by another Action\'s profile: create-ci-action.sh names it before any write (no user, no Action)', async () => {
    const token = await mgmtToken();
    const [machine] = await provision(token);
    const base = { AUTH0_DOMAIN: emu.domain, AUTH0_MGMT_TOKEN: token };
    const stale = await script('create-profile.sh', { ...base, ACTION_ID: machine!.stdout.trim(), SUBJECT_TOKEN_TYPE: 'urn:omni-auth:ci-oidc', PROFILE_NAME: 'stale-ci' });
    expect(stale.code, stale.stderr).toBe(0);
    const before = await stats(emu);
    const file = await policyFile([{ issuer: emu.info().ci.issuer, claims: { repository: 'acme/api' }, user: { create: 'api' } }]);
    const refused = await script('create-ci-action.sh', base, ['--policy', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the subject token type urn:omni-auth:ci-oidc is already used by the profile "stale-ci" (${stale.stdout.trim()}), which runs the Action "omni-auth-custom-token-exchange"`);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(serviceUser('ci-api')).toBeUndefined();
    const profile = await script('create-profile.sh', base, ['--ci']);
    expect(profile.code).toBe(1);
  });

  it('on a real (https) tenant: setup\'s exact code and secrets — no CI_ALLOW_LOOPBACK_HTTP —, and neither the Management token nor the new user\'s password on any command line', async () => {
    // A curl standing in for https://tenant.example.com: it records each call's argv and body and answers as Auth0 would.
    const bin = join(home.files.home, 'bin');
    const log = join(home.files.home, 'curl.jsonl');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'curl'), `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i < 0 ? undefined : argv[i + 1]; };
const headers = argv.flatMap((a, i) => (argv[i - 1] === '-H' ? [a.startsWith('@') ? fs.readFileSync(a.slice(1), 'utf8').trim() : a] : []));
const method = opt('-X') ?? 'GET';
const url = new URL(argv[argv.length - 1]);
const body = argv.includes('--data-binary') ? fs.readFileSync(0, 'utf8') : undefined;
fs.appendFileSync(process.env.CURL_LOG, JSON.stringify({ argv, method, path: url.pathname, body, authorized: headers.includes('Authorization: Bearer ' + process.env.EXPECTED_TOKEN) }) + '\\n');
const route = method + ' ' + url.pathname;
const answers = {
  'GET /api/v2/actions/actions': { actions: [] },
  'GET /api/v2/token-exchange-profiles': { token_exchange_profiles: [] },
  'GET /api/v2/users': [],
  'GET /api/v2/users/auth0%7C65f0c0ffee': { user_id: 'auth0|65f0c0ffee', identities: [{ connection: 'omni-auth-machines', user_id: '65f0c0ffee', provider: 'auth0' }] },
  'POST /api/v2/users': { user_id: 'auth0|0123456789abcdef01234567' },
  'POST /api/v2/actions/actions': { id: 'act_ci' },
  'GET /api/v2/actions/actions/act_ci': { id: 'act_ci', status: 'built', deployed_version: { id: 'ver_1', deployed: true } },
  'POST /api/v2/actions/actions/act_ci/deploy': { id: 'ver_1' },
};
const answer = answers[route];
fs.writeFileSync(opt('-o'), JSON.stringify(answer ?? { message: 'unexpected ' + route }));
fs.writeFileSync(opt('-D'), '');
process.stdout.write(answer ? (method === 'POST' ? '201' : '200') : '404');
`);
    await chmod(join(bin, 'curl'), 0o755);
    // And a jq that records its arguments (NUL-separated) before running the real one.
    const realJq = (process.env.PATH ?? '').split(':').map((d) => join(d, 'jq')).find((f) => existsSync(f))!;
    const jqLog = join(home.files.home, 'jq.args');
    await writeFile(join(bin, 'jq'), `#!/bin/sh\nprintf '%s\\0' "$@" >> "${jqLog}"\nexec "${realJq}" "$@"\n`);
    await chmod(join(bin, 'jq'), 0o755);
    const token = 'eyJhbGciOiJSUzI1NiJ9.management-token-under-test.signature';
    const rules = [
      { issuer: 'github', claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: { create: 'deploy' } },
      { issuer: 'https://gitlab.example.com', claims: { project_path: 'acme/infra', 10: 'b', 9: 'a' }, user: 'auth0|65f0c0ffee' },
    ];
    // The file lists the integer-like claim names last; JavaScript (setup) lists them first, ascending, and so must the script.
    const text = JSON.stringify(rules).replace('{"9":"a","10":"b","project_path":"acme/infra"}', '{"project_path":"acme/infra","10":"b","9":"a"}');
    expect(text).toContain('{"project_path":"acme/infra","10":"b","9":"a"}');
    const file = await policyFile(text);
    const res = await run('bash', [join(SCRIPTS, 'create-ci-action.sh'), '--policy', file], {
      PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: home.files.home, CURL_LOG: log, EXPECTED_TOKEN: token,
      AUTH0_DOMAIN: 'tenant.example.com', AUTH0_MGMT_TOKEN: token,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('act_ci');
    const calls = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; method: string; path: string; body?: string; authorized: boolean });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v2/actions/actions', 'GET /api/v2/token-exchange-profiles', 'GET /api/v2/users/auth0%7C65f0c0ffee', 'GET /api/v2/users', 'POST /api/v2/users', 'POST /api/v2/actions/actions',
      'GET /api/v2/actions/actions/act_ci', 'POST /api/v2/actions/actions/act_ci/deploy', 'GET /api/v2/actions/actions/act_ci',
    ]);
    expect(calls.every((c) => c.authorized)).toBe(true);
    const user = JSON.parse(calls[4]!.body!) as { connection: string; username: string; password: string };
    expect(user).toMatchObject({ connection: 'omni-auth-machines', username: 'ci-deploy' });
    expect(user.password.length).toBeGreaterThanOrEqual(32);
    // Its random part, whatever is appended to it.
    const secretPart = user.password.slice(0, 24);
    for (const c of calls) {
      expect(c.argv.join(' ')).not.toContain(token);
      expect(c.argv.join(' ')).not.toContain(secretPart);
    }
    const jqArgs = await readFile(jqLog, 'utf8');
    expect(jqArgs).toContain('ci-deploy');
    expect(jqArgs).not.toContain(secretPart);
    expect(jqArgs).not.toContain(token);
    expect(`${res.stdout}${res.stderr}`).not.toContain(secretPart);
    expect(`${res.stdout}${res.stderr}`).not.toContain(token);

    const created = JSON.parse(calls[5]!.body!) as { code: string; secrets: { name: string; value: string }[]; runtime: string; dependencies: unknown[]; name: string };
    const desired = desiredCiAction(await readCiActionSource(), 'https://tenant.example.com/',
      deployedRules(parseTrustPolicy(text), new Map([['deploy', 'auth0|0123456789abcdef01234567']])));
    expect(created.secrets.map((x) => x.name)).toEqual(['ISSUER', 'CI_TRUST_POLICY']);
    expect(created).toEqual({
      name: 'omni-auth-ci-oidc-exchange', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }],
      code: desired.code, runtime: 'node22', dependencies: desired.dependencies, secrets: desired.secrets,
    });
  });
});
