/**
 * `omni-auth doctor` against the emulator: each failing check provoked once on a deliberately broken
 * tenant (or machine), and every check green after setup + login. Exactly one exchange per run. Any
 * listed check not in its good state fails the exit code; only the MCP clients line merely warns.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { loadOrCreateKey } from '../../src/identity/key-store.js';
import type { Check } from '../../src/tenant/doctor-check.js';
import { doctor, type DoctorReport } from '../../src/tenant/doctor.js';
import { checkClock } from '../../src/tenant/doctor-tenant.js';
import { MACHINES_CONNECTION } from '../../src/tenant/connection.js';
import { api, call, managementToken, pollUntil } from '../emulator/helpers.js';
import {
  actionCopy, cli, clientCredentials, exchangeCount, inputsFor, runSetupUseCase, eachTestFreshTenant, type TempHome,
} from './helpers.js';

let emu: Emulator;
let home: TempHome;
eachTestFreshTenant((e, h) => {
  emu = e;
  home = h;
});

const flags = () => ({ domain: emu.domain, clientId: emu.info().client_id, audience: emu.info().audience });

async function runDoctor(options: { withManagement?: boolean; now?: () => number; flags?: Record<string, string> } = {}): Promise<DoctorReport> {
  return doctor({
    flags: options.flags ?? flags(),
    // A home of its own: no MCP client config of this machine is read.
    env: { HOME: home.files.home },
    cwd: home.files.home,
    files: home.files,
    connection: MACHINES_CONNECTION,
    ...(options.withManagement ? { credentials: clientCredentials(emu) } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

const check = (report: DoctorReport, id: string): Check => {
  const found = report.checks.find((c) => c.id === id);
  expect(found, `no check ${id}`).toBeDefined();
  return found!;
};

const failing = (report: DoctorReport): string[] => report.checks.filter((c) => c.status === 'fail').map((c) => c.id);

/** The tenant as setup leaves it, for the seeded CLI application. */
const provision = async (): Promise<void> => {
  await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id }));
};

/** This machine's key, as the first `login` leaves it. */
const withKey = async (): Promise<void> => {
  await loadOrCreateKey(home.files.key, {});
};

describe('doctor on a broken machine', () => {
  it('settings that do not resolve → ✗ settings (exit 2); the tenant checks are skipped, no exchange made', async () => {
    const before = await exchangeCount(emu);
    const report = await runDoctor({ flags: {} });
    expect(check(report, 'settings')).toMatchObject({ status: 'fail', exit_code: 2, detail: expect.stringContaining('--domain') });
    expect(['discovery', 'clock', 'probe', 'management'].map((id) => check(report, id).status)).toEqual(['skip', 'skip', 'skip', 'skip']);
    expect(report).toMatchObject({ ok: false, exit_code: 2 });
    expect(await exchangeCount(emu)).toBe(before);
  });

  it('an unreachable domain → ✗ discovery (exit 4)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => resolve(p));
      });
    });
    const report = await runDoctor({ flags: { ...flags(), domain: `http://127.0.0.1:${port}` } });
    expect(check(report, 'discovery')).toMatchObject({ status: 'fail', exit_code: 4, detail: expect.stringContaining('refused') });
    // Nothing answered, so there is no time to compare with: skipped, not a second failure.
    expect(check(report, 'clock')).toMatchObject({ status: 'skip', detail: 'skipped: the tenant did not answer' });
    expect(report.exit_code).toBe(4);
  });

  it('no Date header to compare with → ✗ clock (exit 2), not a pass', () => {
    expect(checkClock(undefined, Date.now())).toMatchObject({ status: 'fail', exit_code: 2, detail: expect.stringContaining('no usable Date header') });
    expect(checkClock('not a date', Date.now()).status).toBe('fail');
    expect(checkClock(new Date().toUTCString(), Date.now()).status).toBe('pass');
  });

  it('no key yet (a machine that never logged in) → ✗ key (exit 2), the fix names `omni-auth login`', async () => {
    await provision();
    const report = await runDoctor();
    expect(check(report, 'key')).toMatchObject({ status: 'fail', exit_code: 2, detail: `no key yet at ${home.files.key}` });
    expect(check(report, 'key').fix).toContain('`omni-auth login`');
    expect(failing(report)).toEqual(['key']);
    expect(report).toMatchObject({ ok: false, exit_code: 2 });
    await withKey();
    expect(await runDoctor()).toMatchObject({ ok: true, exit_code: 0 });
  });

  it('a clock 2 minutes ahead → ✗ clock (exit 2)', async () => {
    const report = await runDoctor({ now: () => Date.now() + 120_000 });
    expect(check(report, 'clock')).toMatchObject({ status: 'fail', exit_code: 2 });
    expect(check(report, 'clock').detail).toMatch(/1[12]\d s ahead of the tenant's/);
    expect(check(report, 'discovery').status).toBe('pass');
    expect(report.exit_code).toBe(2);
  });

  it('a key file others can read → ✗ key (exit 2) with the chmod that fixes it', async () => {
    await provision();
    await loadOrCreateKey(home.files.key, {});
    await chmod(home.files.key, 0o644);
    const report = await runDoctor();
    expect(check(report, 'key')).toMatchObject({ status: 'fail', exit_code: 2, fix: `run: chmod 600 ${home.files.key}` });
    expect(failing(report)).toEqual(['key']);
  });

  it('MCP clients: none wired, or one holding a copied token → a warning (never a failure)', async () => {
    await provision();
    await withKey();
    const none = await runDoctor();
    expect(check(none, 'mcp')).toMatchObject({ status: 'warn', detail: 'no MCP client server goes through omni-auth yet', fix: expect.stringContaining('`omni-auth mcp add <name> --url <url>`') });
    expect(none).toMatchObject({ ok: true, exit_code: 0 });
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;
    await writeFile(join(home.files.home, '.claude.json'), JSON.stringify({
      mcpServers: { omnispindle: { type: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer ${jwt}` } } },
    }));
    const report = await runDoctor();
    expect(check(report, 'mcp')).toMatchObject({ status: 'warn', detail: 'Claude Code: omnispindle holds a copied token that expires' });
    expect(check(report, 'mcp').fix).toContain('`omni-auth mcp wire --server omnispindle`');
    expect(JSON.stringify(report)).not.toContain(jwt);
    expect(report).toMatchObject({ ok: true, exit_code: 0 });
  });
});

describe('doctor on a broken tenant (one probe per run)', () => {
  beforeEach(withKey);

  it('a fresh tenant: the probe finds no profile; Management checks: no profile, consent not skipped, application not allowed, no machines\' connection', async () => {
    const before = await exchangeCount(emu);
    const report = await runDoctor({ withManagement: true });
    expect(await exchangeCount(emu)).toBe(before + 1);
    expect(check(report, 'probe')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check(report, 'probe').detail).toContain('no Token Exchange Profile for urn:omnispindle:local-auth');
    expect(check(report, 'probe').fix).toContain('omni-auth setup');
    expect(check(report, 'action').detail).toBe('no Token Exchange Profile for urn:omnispindle:local-auth');
    expect(check(report, 'api').detail).toContain('does not allow skipping user consent');
    expect(check(report, 'application').detail).toContain('not allowed to use Custom Token Exchange');
    expect(check(report, 'connection').detail).toBe('the tenant has no connection named omni-auth-machines');
    expect(check(report, 'connection').fix).toContain('it creates omni-auth-machines');
    expect(check(report, 'identity')).toMatchObject({ status: 'skip', detail: 'skipped: no Action is bound to the profile' });
    expect(check(report, 'sign_in').detail).toContain('lacks the callback URLs http://127.0.0.1:8765/callback, http://localhost:8765/callback');
    expect(failing(report)).toEqual(['probe', 'action', 'api', 'application', 'sign_in', 'connection']);
    expect(report.exit_code).toBe(3);
  });

  it('token exchange switched off on the application → the probe says so', async () => {
    await provision();
    const token = await managementToken(emu);
    await api(emu, token, 'PATCH', `/clients/${emu.info().client_id}`, { token_exchange: { allow_any_profile_of_type: [] } });
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'probe').detail).toContain(`token exchange is not enabled on the application ${emu.info().client_id}`);
    expect(check(report, 'application').status).toBe('fail');
    expect(failing(report)).toEqual(['probe', 'application']);
  });

  it('consent no longer skipped → the probe and the API check say so', async () => {
    await provision();
    const token = await managementToken(emu);
    await api(emu, token, 'PATCH', `/resource-servers/${encodeURIComponent(emu.info().audience)}`, { skip_consent_for_verifiable_first_party_clients: false });
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'probe').detail).toContain('does not allow skipping user consent');
    expect(check(report, 'api')).toMatchObject({ status: 'fail', fix: expect.stringContaining('Allow Skipping User Consent') });
    expect(failing(report)).toEqual(['probe', 'api']);
  });

  it('the Action bound to the profile has no deployed version → ✗ Action', async () => {
    await provision();
    // Auth0's API cannot make this state: a profile needs a deployed Action, an Action in use cannot
    // be deleted, there is no undeploy, and a redeploy keeps the previous version deployed until the
    // new one is live. So it is set in the emulator directly: what doctor must still recognise.
    const action = [...emu.tenant.actions.values()][0]!;
    for (const v of action.versions) v.deployed = false;
    delete action.deployed_version;
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'action')).toMatchObject({ status: 'fail', detail: expect.stringContaining('is not deployed') });
    // What the probe can tell from an access_denied answer: not deployed, or failing — no more.
    expect(check(report, 'probe').detail).toContain('denied the exchange without the Action rejecting the token: the Action bound to the profile is not deployed, or it failed');
    expect(check(report, 'probe').detail).toContain('The Custom Token Exchange Action is not deployed.');
    expect(failing(report)).toEqual(['probe', 'action']);
  });

  it('the Action has undeployed changes → ✗ Action (exit 3), though exchanges still work', async () => {
    await provision();
    const token = await managementToken(emu);
    const actionId = [...emu.tenant.actions.keys()][0]!;
    const { code } = (await api(emu, token, 'GET', `/actions/actions/${actionId}`)).body as { code: string };
    expect((await api(emu, token, 'PATCH', `/actions/actions/${actionId}`, { code: `${code}// a draft\n` })).status).toBe(200);
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'action')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('has undeployed changes') });
    expect(check(report, 'probe').status).toBe('pass');
    expect(failing(report)).toEqual(['action']);
    expect(report.exit_code).toBe(3);
  });

  it('the API does not allow offline access → ✗ API (exit 3)', async () => {
    await provision();
    const token = await managementToken(emu);
    await api(emu, token, 'PATCH', `/resource-servers/${encodeURIComponent(emu.info().audience)}`, { allow_offline_access: false });
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'api')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('does not allow offline access') });
    expect(failing(report)).toEqual(['api']);
  });

  it('a redeploy in progress → the Action check still passes on the deployed version, and so does the probe', async () => {
    await provision();
    await call(emu, 'POST', '/__emulator/settings', { json: { deployMs: 60_000 } });
    const token = await managementToken(emu);
    const actionId = [...emu.tenant.actions.keys()][0]!;
    await pollUntil('built', async () => ((await api(emu, token, 'GET', `/actions/actions/${actionId}`)).body.status === 'built' ? true : undefined));
    expect((await api(emu, token, 'POST', `/actions/actions/${actionId}/deploy`)).body).toMatchObject({ number: 2, deployed: false });
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'action')).toMatchObject({ status: 'pass', detail: expect.stringContaining('version 1 is deployed') });
    expect(failing(report)).toEqual([]);
  });

  it('an Action that accepts anything → ✗ probe: the tenant ACCEPTED an invalid token', async () => {
    const copy = await actionCopy();
    try {
      await writeFile(join(copy.dir, 'custom_token_exchange.js'), `exports.onExecuteCustomTokenExchange = async (event, api) => {
  api.authentication.setUserByConnection('omni-auth-machines', { user_id: 'anyone', username: 'anyone' }, { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' });
};\n`);
      await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id, actionDir: copy.dir }));
    } finally {
      await copy.cleanup();
    }
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'probe')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('ACCEPTED') });
    expect(check(report, 'action')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('not the Action this omni-auth ships') });
    expect(failing(report)).toEqual(['probe', 'action']);
  });

  it('Management credentials without a read scope → that check fails naming the scope', async () => {
    await provision();
    emu.tenant.clientGrants[0]!.scope = emu.tenant.clientGrants[0]!.scope.filter((s) => s !== 'read:connections');
    const report = await runDoctor({ withManagement: true });
    expect(check(report, 'connection')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('read:connections') });
    expect(failing(report)).toEqual(['connection']);
  });
});

describe('doctor after setup (the built CLI)', () => {
  it('all green after setup and login: exit 0, one probe, ✓ on every line; --json has every check', async () => {
    const env = {
      OMNI_AUTH_HOME: home.files.home,
      AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id,
      AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
    };
    expect((await cli(['setup', '--domain', emu.domain, '--audience', emu.info().audience, '--identity', 'both'], env)).code).toBe(0);
    expect((await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home.files.home })).code).toBe(0);
    // One MCP server routed through omni-auth (Claude Code's headersHelper).
    await writeFile(join(home.files.home, '.claude.json'), JSON.stringify({
      mcpServers: { omnispindle: { type: 'http', url: 'https://mcp.example.com/mcp', headersHelper: 'omni-auth token --format headers-json' } },
    }));

    const before = await exchangeCount(emu);
    const human = await cli(['doctor'], env);
    expect(await exchangeCount(emu)).toBe(before + 1);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toBe('');
    // The network line (issue 11 §4) reports, it is not a check.
    expect(human.stderr).toMatch(/^- network\s+proxy: /m);
    const lines = human.stderr.trim().split('\n').filter((l) => !l.startsWith('- network'));
    expect(lines.slice(0, -1).every((l) => l.startsWith('✓ '))).toBe(true);
    // 16: issue 12's RBAC line and issue 14's CI trust policy line (CI identity off: a pass, closed by default).
    expect(lines).toHaveLength(16);
    expect(human.stderr).toMatch(/✓ CI trust policy\s+none: CI identity is off/);
    expect(human.stderr).toMatch(/✓ identity policy\s+both: a key bound to a person gets tokens for that person, any other key for its own machine user \(the Action's IDENTITY secret\)/);
    expect(human.stderr).toMatch(/✓ browser sign-in\s+the application "omni-auth" \(\S+\) allows the loopback callbacks/);
    expect(human.stderr).toContain('wired: Claude Code: omnispindle');
    expect(human.stderr).toContain('the Action rejects bad tokens');
    expect(human.stderr).not.toContain(emu.info().management.client_secret);

    const json = await cli(['doctor', '--json'], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as DoctorReport;
    expect(report).toMatchObject({ ok: true, exit_code: 0 });
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['settings', 'pass'], ['discovery', 'pass'], ['clock', 'pass'], ['key', 'pass'], ['probe', 'pass'], ['action', 'pass'], ['identity', 'pass'],
      ['api', 'pass'], ['rbac', 'pass'], ['application', 'pass'], ['sign_in', 'pass'], ['connection', 'pass'], ['post_login', 'pass'], ['ci_trust', 'pass'], ['mcp', 'pass'],
    ]);
  });

  it('exits with the first failure\'s code: 3 on a fresh tenant', async () => {
    await withKey();
    const run = await cli(['doctor', '--domain', emu.domain, '--client-id', emu.info().client_id, '--audience', emu.info().audience], { OMNI_AUTH_HOME: home.files.home });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/✗ probe exchange\s+the tenant has no Token Exchange Profile/);
    expect(run.stderr).toMatch(/fix: run `omni-auth setup`/);
    expect(run.stderr).toMatch(/- Management API checks\s+skipped: no Management API credentials/);
    expect(run.stderr).toMatch(/! MCP clients\s+no MCP client server goes through omni-auth yet/);
  });
});
