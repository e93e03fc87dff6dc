/**
 * `omni-auth setup` against the emulator over loopback HTTP: a fresh tenant, then `login`; a second
 * run that writes nothing; a changed Action file or secret → one PATCH and one deploy; the allow-list
 * kept by a run without --allowed-keys; dry run (also reporting missing scopes); a missing scope; a
 * taken subject token type; a failed build; --json; no secret in any output.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { loadOrCreateKey } from '../../src/identity/key-store.js';
import { applyPlan } from '../../src/tenant/apply.js';
import { DEFAULT_POLL } from '../../src/tenant/action-deploy.js';
import { ManagementClient } from '../../src/tenant/management-client.js';
import { ManagementApiError } from '../../src/tenant/management-errors.js';
import { planSetup } from '../../src/tenant/plan.js';
import { readSnapshot } from '../../src/tenant/snapshot.js';
import { OmniAuthError } from '../../src/util/errors.js';
import { Secret } from '../../src/util/secret.js';
import { api, call, managementToken, pollUntil } from '../emulator/helpers.js';
import {
  ACTION_DIR, TOKEN_SHAPED, actionCopy, cli, clientCredentials, inputsFor, runSetupUseCase, stats, eachTestFreshTenant, tempHome, type TempHome, writesBetween,
} from './helpers.js';

let emu: Emulator;
let home: TempHome;
eachTestFreshTenant((e, h) => {
  emu = e;
  home = h;
});

const mgmtEnv = () => ({ AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret });
/** Without --identity: the policy as setup chooses it (person on a new Action). */
const bareSetupArgs = () => ['setup', '--domain', emu.domain, '--audience', emu.info().audience];
/** The machine keys of these tests are bound to nobody: `both` lets them in as their own users. */
const setupArgs = () => [...bareSetupArgs(), '--identity', 'both'];

function expectNoSecrets(...outputs: string[]): void {
  for (const text of outputs) {
    expect(text).not.toContain(emu.info().management.client_secret);
    expect(text).not.toMatch(TOKEN_SHAPED);
  }
}

describe('setup on a fresh tenant (the built CLI)', () => {
  it('provisions everything, creates the application, saves the settings; then login works, also from the printed line', async () => {
    const env = { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() };
    const first = await cli(setupArgs(), env);
    expect(first.code, first.stderr).toBe(0);
    expectNoSecrets(first.stdout, first.stderr);
    expect(first.stderr).toMatch(/\+ application\s+omni-auth\s+create/);
    const line = first.stdout.trim();
    expect(line.split('\n')).toHaveLength(1);
    const m = /^npx omni-auth login --domain (\S+) --client-id (\S+) --audience (\S+)$/.exec(line);
    expect(m, line).not.toBeNull();
    const [, domain, clientId, audience] = m!;
    expect([domain, audience]).toEqual([emu.domain, emu.info().audience]);
    expect(clientId).not.toBe(emu.info().client_id); // a new application, not the seeded one
    expect(emu.tenant.clients.get(clientId!)).toMatchObject({
      app_type: 'native', is_first_party: true, oidc_conformant: true, token_endpoint_auth_method: 'none',
      token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
      grant_types: ['authorization_code', 'refresh_token'], callbacks: ['http://127.0.0.1:8765/callback', 'http://localhost:8765/callback'],
    });
    expect(JSON.parse(await readFile(home.files.settings, 'utf8'))).toEqual({ domain: emu.domain, client_id: clientId, audience });

    // login from the saved settings, in the same home
    const login = await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home.files.home });
    expect(login.code, login.stderr).toBe(0);
    // and a teammate's machine: only the printed line
    const teammate = await tempHome();
    try {
      const args = line.split(' ').slice(2);
      const theirs = await cli([...args, '--no-write'], { OMNI_AUTH_HOME: teammate.files.home });
      expect(theirs.code, theirs.stderr).toBe(0);
    } finally {
      await teammate.cleanup();
    }
  });

  it('a second run sends no write request and says "nothing to change"; the application is found again by name', async () => {
    const env = { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() };
    expect((await cli(setupArgs(), env)).code).toBe(0);
    // A fresh home: nothing saved, so the application must be found on the tenant.
    const other = await tempHome();
    try {
      const before = await stats(emu);
      const second = await cli(setupArgs(), { OMNI_AUTH_HOME: other.files.home, ...mgmtEnv() });
      expect(second.code, second.stderr).toBe(0);
      expect(writesBetween(before, await stats(emu))).toEqual({});
      expect(second.stderr).toContain('nothing to change');
      expect(second.stderr).not.toMatch(/^\s*[+~↑]/m);
    } finally {
      await other.cleanup();
    }
  });

  it('--json with --mgmt-token: plan and result on stdout; the token appears nowhere', async () => {
    const token = await managementToken(emu);
    const run = await cli([...setupArgs(), '--json', '--mgmt-token', token], { OMNI_AUTH_HOME: home.files.home });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain(token);
    expect(run.stderr).not.toContain(token);
    expect((await readFile(home.files.settings, 'utf8'))).not.toContain(token);
    const doc = JSON.parse(run.stdout) as Record<string, any>;
    expect(Object.keys(doc).sort()).toEqual(['applied', 'changed', 'dry_run', 'login_command', 'plan', 'settings']);
    expect(doc.plan.steps.map((s: { resource: string }) => s.resource)).toEqual(['api', 'application', 'action', 'profile', 'token_exchange', 'connection']);
    expect(doc.plan.steps[0]).toEqual({ resource: 'api', target: emu.info().audience, change: 'update', fields: ['skip_consent_for_verifiable_first_party_clients', 'allow_offline_access'] });
    expect(doc.plan.blockers).toEqual([]);
    expect(doc.dry_run).toBe(false);
    expect(doc.changed).toBe(true);
    expect(doc.applied).toHaveLength(6);
    expect(doc.applied.every((s: { id?: string }) => typeof s.id === 'string')).toBe(true);
    expect(doc.settings).toEqual({ domain: emu.domain, client_id: expect.any(String), audience: emu.info().audience, subject_token_type: 'urn:omnispindle:local-auth', file: home.files.settings, profile: 'default' });
    expect(doc.login_command).toBe(`npx omni-auth login --domain ${emu.domain} --client-id ${doc.settings.client_id} --audience ${emu.info().audience}`);

    const again = JSON.parse((await cli([...setupArgs(), '--json', '--mgmt-token', token], { OMNI_AUTH_HOME: home.files.home })).stdout);
    expect(again.changed).toBe(false);
    expect(again.plan.steps.every((s: { change: string }) => s.change === 'unchanged')).toBe(true);
  });
});

describe('the allow-list (the built CLI)', () => {
  const liveSecrets = () => emu.tenant.actions.get([...emu.tenant.actions.keys()][0]!)!.deployed_version!.secrets.map((s) => [s.name, s.value]);

  it('setup --allowed-keys, then a plain setup: nothing to change and still enforced; --allowed-keys \'\' clears it', async () => {
    const env = { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() };
    const mine = (await loadOrCreateKey(home.files.key, {})).thumbprint;
    const first = await cli([...setupArgs(), '--allowed-keys', mine], env);
    expect(first.code, first.stderr).toBe(0);
    expect(liveSecrets()).toContainEqual(['ALLOWED_KEYS', mine]);

    const before = await stats(emu);
    const plain = await cli(setupArgs(), env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('nothing to change');
    expect(plain.stderr).toContain(`allowed keys: ${mine} (kept from the tenant`);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(liveSecrets()).toContainEqual(['ALLOWED_KEYS', mine]);

    // Enforced: this machine's key gets through, another machine's is denied.
    const listed = await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home.files.home });
    expect(listed.code, listed.stderr).toBe(0);
    const teammate = await tempHome();
    try {
      const saved = JSON.parse(await readFile(home.files.settings, 'utf8')) as { domain: string; client_id: string; audience: string };
      const loginArgs = ['login', '--no-write', '--domain', saved.domain, '--client-id', saved.client_id, '--audience', saved.audience];
      const denied = await cli(loginArgs, { OMNI_AUTH_HOME: teammate.files.home });
      expect(denied.code).toBe(3);
      expect(denied.stderr).toContain('[access_denied]');

      // --json says where the list came from.
      const json = JSON.parse((await cli([...setupArgs(), '--dry-run', '--json'], env)).stdout) as Record<string, any>;
      expect(json.plan.allowed_keys).toEqual({ keys: [mine], from: 'tenant' });

      // An explicit empty list clears it: one update, and the other machine gets in.
      const cleared = await cli([...setupArgs(), '--allowed-keys', ''], env);
      expect(cleared.code, cleared.stderr).toBe(0);
      expect(cleared.stderr).toMatch(/~ Action\s+\S+ \(\S+\)\s+update: secrets/);
      expect(liveSecrets().map(([name]) => name)).toEqual(['ISSUER', 'CONNECTION', 'IDENTITY']);
      const admitted = await cli(loginArgs, { OMNI_AUTH_HOME: teammate.files.home });
      expect(admitted.code, admitted.stderr).toBe(0);
    } finally {
      await teammate.cleanup();
    }
  });

  it('an ALLOWED_KEYS secret no marker records (set before the marker held it): a plain setup stops (exit 2) instead of dropping it', async () => {
    const clientId = emu.info().client_id;
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId, allowedKeys: ['A'.repeat(43)] }));
    // What an older omni-auth (or a hand edit) left: the secret, and only the digest line.
    const action = () => emu.tenant.actions.get([...emu.tenant.actions.keys()][0]!)!;
    action().code = action().code.replace(/\/\/ omni-auth:allowed-keys=[^\n]*\n/, '');
    expect(action().code).not.toContain('omni-auth:allowed-keys');
    const before = await stats(emu);
    const run = await cli([...setupArgs(), '--client-id', clientId], { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[allowed_keys_unknown]');
    expect(run.stderr).toContain("--allowed-keys ''");
    expect(writesBetween(before, await stats(emu))).toEqual({});
    // Naming the list proceeds, and records it.
    const named = await cli([...setupArgs(), '--client-id', clientId, '--allowed-keys', 'A'.repeat(43)], { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() });
    expect(named.code, named.stderr).toBe(0);
    expect(action().code).toContain(`// omni-auth:allowed-keys=${'A'.repeat(43)}\n`);
  });
});

describe('the identity policy (the built CLI)', () => {
  const action = () => emu.tenant.actions.get([...emu.tenant.actions.keys()][0]!)!;
  const liveIdentity = () => action().deployed_version!.secrets.find((s) => s.name === 'IDENTITY')?.value;
  const env = () => ({ OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() });
  const dryJson = async (args: string[]) => JSON.parse((await cli([...args, '--dry-run', '--json'], env())).stdout) as Record<string, any>;

  it('a fresh tenant without --identity gets person: in the plan, the live Action (secret and marker) and --json; a second run keeps it and writes nothing', async () => {
    expect((await dryJson(bareSetupArgs())).plan.identity).toEqual({ policy: 'person', from: 'new' });
    const first = await cli(bareSetupArgs(), env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('identity policy: person: only machine keys a person bound with `omni-auth login --browser` get tokens, for that person (a new Action: closed by default');
    expect(liveIdentity()).toBe('person');
    expect(action().deployed_version!.code).toMatch(/\n\/\/ omni-auth:identity=person\n\/\/ omni-auth:secrets-sha256=[0-9a-f]{64}\n$/);

    const before = await stats(emu);
    const again = await cli(bareSetupArgs(), env());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to change');
    expect(again.stderr).toContain('identity policy: person: ');
    expect(again.stderr).toContain('(kept from the tenant; --identity changes it)');
    expect(writesBetween(before, await stats(emu))).toEqual({});
    const json = await dryJson(bareSetupArgs());
    expect(json.plan.identity).toEqual({ policy: 'person', from: 'tenant' });
    expect(json.changed).toBe(false);
  });

  it('an Action deployed before the policy (no IDENTITY secret) is kept as machine, now explicitly; its machine keys keep their tokens', async () => {
    expect((await cli(setupArgs(), env())).code).toBe(0);
    // What an older omni-auth deployed: no IDENTITY secret, no identity line.
    const a = action();
    a.code = a.code.replace(/\/\/ omni-auth:identity=[^\n]*\n/, '');
    a.secrets = a.secrets.filter((x) => x.name !== 'IDENTITY');
    Object.assign(a.deployed_version!, { code: a.code, secrets: a.secrets.map((x) => ({ ...x })) });
    expect(liveIdentity()).toBeUndefined();

    expect((await dryJson(bareSetupArgs())).plan.identity).toEqual({ policy: 'machine', from: 'legacy' });
    const run = await cli(bareSetupArgs(), env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('identity policy: machine: every machine key is its own user (kept: the deployed Action predates the policy');
    expect(run.stderr).toMatch(/~ Action\s+\S+ \(\S+\)\s+update: secrets/);
    expect(liveIdentity()).toBe('machine');
    expect(action().deployed_version!.code).toContain('// omni-auth:identity=machine\n');
    const login = await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home.files.home });
    expect(login.code, login.stderr).toBe(0);
    // From now on the marker records it.
    expect((await dryJson(bareSetupArgs())).plan.identity).toEqual({ policy: 'machine', from: 'tenant' });
  });

  it('--identity changes it (one PATCH, one deploy); a policy that does not exist is a usage error before any request', async () => {
    expect((await cli(bareSetupArgs(), env())).code).toBe(0);
    expect(liveIdentity()).toBe('person');
    const before = await stats(emu);
    const both = await cli(setupArgs(), env());
    expect(both.code, both.stderr).toBe(0);
    expect(both.stderr).toMatch(/~ Action\s+\S+ \(\S+\)\s+update: secrets/);
    expect(both.stderr).toContain('identity policy: both: a bound key gets tokens for its person, any other key for its own machine user\n');
    const id = action().id;
    expect(writesBetween(before, await stats(emu))).toEqual({ [`PATCH /api/v2/actions/actions/${id}`]: 1, [`POST /api/v2/actions/actions/${id}/deploy`]: 1 });
    expect(liveIdentity()).toBe('both');

    const settled = await stats(emu);
    const bad = await cli([...bareSetupArgs(), '--identity', 'everyone'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[invalid_identity]');
    expect(bad.stderr).toContain('--identity must be one of person, machine, both; got "everyone"');
    expect(Object.keys(writesBetween(settled, await stats(emu)))).toEqual([]);
    expect(liveIdentity()).toBe('both');
  });

  it('an IDENTITY secret no marker records (set by hand): a plain setup stops (exit 2) naming --identity, nothing written; with the flag it proceeds', async () => {
    expect((await cli(setupArgs(), env())).code).toBe(0);
    action().code = action().code.replace(/\/\/ omni-auth:identity=[^\n]*\n/, '');
    const before = await stats(emu);
    const run = await cli(bareSetupArgs(), env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[identity_unknown]');
    expect(run.stderr).toContain('--identity person');
    expect(run.stderr).toMatch(/✗ Action\s+.*blocked: IDENTITY unknown/);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    const json = await dryJson(bareSetupArgs());
    expect(json.plan.identity).toEqual({ policy: 'unknown', from: 'unknown' });
    expect(json.error.code).toBe('identity_unknown');
    const named = await cli([...bareSetupArgs(), '--identity', 'machine'], env());
    expect(named.code, named.stderr).toBe(0);
    expect(liveIdentity()).toBe('machine');
  });
});

describe('the browser sign-in on the application (the built CLI)', () => {
  it('the loopback callbacks and both grants are added to an existing application, its own kept; a second run changes nothing', async () => {
    const clientId = emu.info().client_id;
    const token = await managementToken(emu);
    const own = ['https://app.example.com/callback', 'http://localhost:8765/callback'];
    expect((await api(emu, token, 'PATCH', `/clients/${clientId}`, { callbacks: own, grant_types: ['implicit', 'refresh_token'] })).status).toBe(200);
    const env = { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() };
    const run = await cli([...setupArgs(), '--client-id', clientId], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/~ application\s+.*update: .*grant_types, callbacks/);
    expect(emu.tenant.clients.get(clientId)).toMatchObject({
      callbacks: [...own, 'http://127.0.0.1:8765/callback'],
      grant_types: ['implicit', 'refresh_token', 'authorization_code'],
    });
    const before = await stats(emu);
    const again = await cli([...setupArgs(), '--client-id', clientId], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/= application\s/);
    expect(writesBetween(before, await stats(emu))).toEqual({});
  });
});

describe('setup (the use case)', () => {
  it('--dry-run: the plan, and no request other than GETs and the token request; nothing saved', async () => {
    const before = await stats(emu);
    const result = await runSetupUseCase(emu, home.files, await inputsFor(emu), { dryRun: true });
    const after = await stats(emu);
    expect(writesBetween(before, after)).toEqual({});
    expect(Object.keys(after).filter((k) => !k.startsWith('GET ') && !(k in before))).toEqual(['POST /oauth/token']);
    expect(result).toMatchObject({ dry_run: true, changed: true });
    expect(result.plan.steps.map((s) => s.change)).toEqual(['update', 'create', 'create', 'create', 'update', 'create']);
    expect(result.plan.steps[5]).toMatchObject({ resource: 'connection', target: 'omni-auth-machines' });
    expect([...emu.tenant.connections.values()].map((c) => c.name)).not.toContain('omni-auth-machines');
    await expect(readFile(home.files.settings)).rejects.toThrow(/ENOENT/);
  });

  it('the machines\' connection: created with username the only identifier and sign-ups off, enabled for the CLI only, named in CONNECTION; a second run writes nothing', async () => {
    const clientId = emu.info().client_id;
    const result = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    const machines = [...emu.tenant.connections.values()].find((c) => c.name === 'omni-auth-machines');
    expect(machines).toBeDefined();
    expect(machines!.strategy).toBe('auth0');
    expect(machines!.options).toEqual({
      attributes: { username: {
        identifier: { active: true }, profile_required: true, signup: { status: 'required' },
        validation: { min_length: 1, max_length: 64, allowed_types: { email: false, phone_number: false } },
      } },
      disable_signup: true,
    });
    expect(machines!.enabled_clients).toEqual([clientId]);
    expect(result.applied!.find((s) => s.resource === 'connection')).toMatchObject({ change: 'create', id: machines!.id });
    const actionId = [...emu.tenant.actions.keys()][0]!;
    expect(emu.tenant.actions.get(actionId)!.deployed_version!.secrets).toContainEqual(expect.objectContaining({ name: 'CONNECTION', value: 'omni-auth-machines' }));

    const before = await stats(emu);
    const again = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(again.changed).toBe(false);
  });

  it('the machines\' connection changed by hand: one PATCH with the FULL options (the tenant\'s own kept), nothing else', async () => {
    const clientId = emu.info().client_id;
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    const machines = [...emu.tenant.connections.values()].find((c) => c.name === 'omni-auth-machines')!;
    machines.options = { ...machines.options, disable_signup: false, passwordPolicy: 'excellent' };
    // Auth0 changes a connection's options only for a caller with update:connections_options.
    emu.tenant.clientGrants[0]!.scope.push('update:connections_options');
    const dry = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }), { dryRun: true });
    expect(dry.plan.steps[5]).toMatchObject({ change: 'update', fields: ['options.disable_signup'] });
    const before = await stats(emu);
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    expect(writesBetween(before, await stats(emu))).toEqual({ [`PATCH /api/v2/connections/${machines.id}`]: 1 });
    expect(emu.tenant.connections.get(machines.id)!.options).toMatchObject({ disable_signup: true, passwordPolicy: 'excellent' });
  });

  it('with --client-id: provisions that application; a changed Action file → exactly one PATCH of the Action and one deploy', async () => {
    const clientId = emu.info().client_id;
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    const actionId = [...emu.tenant.actions.keys()][0]!;

    const copy = await actionCopy();
    try {
      await appendFile(join(copy.dir, 'custom_token_exchange.js'), '\n// a change\n');
      const before = await stats(emu);
      const result = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId, actionDir: copy.dir }));
      expect(writesBetween(before, await stats(emu))).toEqual({
        [`PATCH /api/v2/actions/actions/${actionId}`]: 1,
        [`POST /api/v2/actions/actions/${actionId}/deploy`]: 1,
      });
      expect(result.plan.steps.find((s) => s.resource === 'action')).toMatchObject({ change: 'update', fields: ['code'] });
      expect(result.progress).toEqual(expect.arrayContaining(['  action: building…', '  action: deployed (version 2)']));
      expect(emu.tenant.actions.get(actionId)!.deployed_version).toMatchObject({ number: 2, deployed: true, code: expect.stringContaining('// a change') });
    } finally {
      await copy.cleanup();
    }
  });

  it('a changed secret (which Auth0 never shows) is seen through the code\'s marker: one PATCH and one deploy', async () => {
    const clientId = emu.info().client_id;
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    const actionId = [...emu.tenant.actions.keys()][0]!;
    const before = await stats(emu);
    const result = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId, allowedKeys: ['A'.repeat(43)] }));
    expect(writesBetween(before, await stats(emu))).toEqual({
      [`PATCH /api/v2/actions/actions/${actionId}`]: 1,
      [`POST /api/v2/actions/actions/${actionId}/deploy`]: 1,
    });
    expect(result.plan.steps.find((s) => s.resource === 'action')).toMatchObject({ change: 'update', fields: ['secrets'] });
    const live = emu.tenant.actions.get(actionId)!.deployed_version!;
    expect(live.secrets.map((s) => [s.name, s.value])).toEqual([
      ['ISSUER', emu.issuer], ['CONNECTION', 'omni-auth-machines'], ['ALLOWED_KEYS', 'A'.repeat(43)], ['IDENTITY', 'both'],
    ]);

    // The same secrets again: the marker matches, nothing is sent.
    const settled = await stats(emu);
    const same = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId, allowedKeys: ['A'.repeat(43)] }));
    expect(same.changed).toBe(false);
    expect(writesBetween(settled, await stats(emu))).toEqual({});
  });

  it('credentials without create:actions → the scope error naming create:actions, before anything is written', async () => {
    emu.tenant.clientGrants[0]!.scope = emu.tenant.clientGrants[0]!.scope.filter((s) => s !== 'create:actions');
    const before = await stats(emu);
    const run = await cli(setupArgs(), { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('create:actions');
    expect(run.stderr).toContain('[mgmt_insufficient_scope]');
    expect(run.stderr).toContain('Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications');
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expectNoSecrets(run.stdout, run.stderr);

    const json = await cli([...setupArgs(), '--json'], { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() });
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as Record<string, any>;
    expect(doc.plan.steps).toHaveLength(6);
    expect(doc.error).toMatchObject({ code: 'mgmt_insufficient_scope', exit_code: 3, details: { missing_scopes: ['create:actions'] } });
  });

  it('--dry-run with credentials lacking create:actions: the same scope error and exit code as a real run, nothing written', async () => {
    emu.tenant.clientGrants[0]!.scope = emu.tenant.clientGrants[0]!.scope.filter((s) => s !== 'create:actions');
    const env = { OMNI_AUTH_HOME: home.files.home, ...mgmtEnv() };
    const before = await stats(emu);
    const dry = await cli([...setupArgs(), '--dry-run'], env);
    const real = await cli(setupArgs(), env);
    expect(writesBetween(before, await stats(emu))).toEqual({});
    expect(dry.code).toBe(3);
    expect(dry.code).toBe(real.code);
    expect(dry.stderr).toMatch(/\+ Action\s+omni-auth-custom-token-exchange\s+create/);
    expect(dry.stderr).toContain('lack the scope create:actions');
    expect(dry.stderr).toContain('[mgmt_insufficient_scope]');
    expect(dry.stderr).not.toContain('dry run: nothing was changed');

    const json = await cli([...setupArgs(), '--dry-run', '--json'], env);
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as Record<string, any>;
    expect(doc.dry_run).toBe(true);
    expect(doc.plan.blockers).toEqual([expect.objectContaining({ code: 'mgmt_insufficient_scope', details: { missing_scopes: ['create:actions'] } })]);
    expect(doc.error).toMatchObject({ code: 'mgmt_insufficient_scope', exit_code: 3 });

    // With the scope granted, the same dry run passes.
    emu.tenant.clientGrants[0]!.scope.push('create:actions');
    expect((await cli([...setupArgs(), '--dry-run'], env)).code).toBe(0);
  });

  it('usage errors (exit 2): no Management credentials, half a client pair, no --audience', async () => {
    const env = { OMNI_AUTH_HOME: home.files.home };
    const none = await cli(setupArgs(), env);
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('[mgmt_credentials_missing]')]);
    const half = await cli([...setupArgs(), '--mgmt-client-id', 'abc'], env);
    expect([half.code, half.stderr]).toEqual([2, expect.stringContaining('--mgmt-client-id is given without --mgmt-client-secret')]);
    const noAudience = await cli(['setup', '--domain', emu.domain], { ...env, ...mgmtEnv() });
    expect([noAudience.code, noAudience.stderr]).toEqual([2, expect.stringContaining('setup needs --audience')]);
    const noAction = await cli([...setupArgs(), '--action-dir', join(home.files.home, 'nowhere')], { ...env, ...mgmtEnv() });
    expect([noAction.code, noAction.stderr]).toEqual([2, expect.stringContaining('[action_missing]')]);
  });

  it('the API\'s own 403 insufficient_scope names create:actions too (a token whose scopes are not visible)', async () => {
    emu.tenant.clientGrants[0]!.scope = emu.tenant.clientGrants[0]!.scope.filter((s) => s !== 'create:actions');
    const mc = await ManagementClient.connect({ domain: emu.domain, credentials: clientCredentials(emu) });
    const e = (await mc.post('/actions/actions', { name: 'x' }).catch((x: unknown) => x)) as ManagementApiError;
    expect(e).toBeInstanceOf(ManagementApiError);
    expect(e.code).toBe('mgmt_insufficient_scope');
    expect(e.message).toContain('expected any of: create:actions');
    expect(e.hint).toMatch(/grant create:actions .*Machine to Machine Applications/);
  });

  it('a subject token type taken by another Action\'s profile → the conflict naming that profile, nothing written', async () => {
    const token = await managementToken(emu);
    const code = await readFile(join(ACTION_DIR, 'custom_token_exchange.js'), 'utf8');
    const other = (await api(emu, token, 'POST', '/actions/actions', {
      name: 'their-action', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }], code, dependencies: [{ name: 'jose', version: '6.2.18' }],
    })).body as { id: string };
    await pollUntil('the build', async () => ((await api(emu, token, 'GET', `/actions/actions/${other.id}`)).body.status === 'built' ? true : undefined));
    expect((await api(emu, token, 'POST', `/actions/actions/${other.id}/deploy`)).status).toBe(200);
    await pollUntil('the deploy', async () => (emu.tenant.actions.get(other.id)!.deployed_version?.deployed ? true : undefined));
    const created = await api(emu, token, 'POST', '/token-exchange-profiles', {
      name: 'someone-elses-profile', subject_token_type: 'urn:omnispindle:local-auth', action_id: other.id, type: 'custom_authentication',
    });
    expect(created.status).toBe(201);

    const before = await stats(emu);
    const e = await runSetupUseCase(emu, home.files, await inputsFor(emu)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OmniAuthError);
    expect((e as OmniAuthError).code).toBe('profile_conflict');
    expect((e as OmniAuthError).message).toContain(`"someone-elses-profile" (${created.body.id})`);
    expect((e as OmniAuthError).message).toContain('"their-action"');
    expect((e as OmniAuthError).exitCode).toBe(3);
    expect(writesBetween(before, await stats(emu))).toEqual({});
  });

  it('a 409 from the API at apply time (the type taken after the plan) is explained the same way', async () => {
    const clientId = emu.info().client_id;
    // First a working setup, then a plan to move our profile to a new type…
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    const mc = await ManagementClient.connect({ domain: emu.domain, credentials: clientCredentials(emu) });
    const inputs = await inputsFor(emu, { clientId, subjectTokenType: 'urn:example:moved' });
    const plan = planSetup(await readSnapshot(mc, { ...inputs, clientId }), inputs);
    expect(plan.steps[3]).toMatchObject({ change: 'update', fields: ['subject_token_type'] });
    // …while someone else takes that type.
    const token = await managementToken(emu);
    const actionId = [...emu.tenant.actions.keys()][0]!;
    expect((await api(emu, token, 'POST', '/token-exchange-profiles', {
      name: 'late-comer', subject_token_type: 'urn:example:moved', action_id: actionId, type: 'custom_authentication',
    })).status).toBe(201);
    const e = (await applyPlan(plan, mc, () => {}, { ...DEFAULT_POLL, firstDelayMs: 20 }).catch((x: unknown) => x)) as OmniAuthError;
    expect(e.code).toBe('profile_conflict');
    expect(e.message).toContain('"late-comer"');
    expect(e.message).toContain('"omni-auth-custom-token-exchange"');
  });

  it('an Action build failure is reported with the build\'s error; the next run rebuilds and succeeds', async () => {
    const clientId = emu.info().client_id;
    await call(emu, 'POST', '/__emulator/fail-next-build', { json: { message: 'Cannot find module \'jose\'' } });
    const e = (await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId })).catch((x: unknown) => x)) as OmniAuthError;
    expect(e.code).toBe('action_build_failed');
    expect(e.message).toContain('failed to build: Cannot find module \'jose\'');
    expect(e.exitCode).toBe(3);
    expect(e.details).toEqual({ build_error: 'Cannot find module \'jose\'' });

    const again = await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId }));
    expect(again.plan.steps.find((s) => s.resource === 'action')).toMatchObject({ change: 'update', fields: ['build failed'] });
    expect(again.changed).toBe(true);
  });

  it('a wrong --client-id is a usage error naming it', async () => {
    const e = (await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: 'nope' })).catch((x: unknown) => x)) as OmniAuthError;
    expect([e.code, e.exitCode]).toEqual(['client_not_found', 2]);
    expect(e.message).toContain('nope');
  });

  it('an invalid --mgmt-token → mgmt_unauthorized (exit 3), the token not shown', async () => {
    const bad = 'not-a-real-token-1234567890';
    const e = (await runSetupUseCase(emu, home.files, await inputsFor(emu), { credentials: { kind: 'token', token: new Secret(bad) } })
      .catch((x: unknown) => x)) as OmniAuthError;
    expect([e.code, e.exitCode]).toEqual(['mgmt_unauthorized', 3]);
    expect(`${e.message} ${e.hint}`).not.toContain(bad);
  });
});
