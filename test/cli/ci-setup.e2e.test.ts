/**
 * `omni-auth setup --ci-trust-file` through the built CLI against a fresh (unprovisioned) emulator:
 * strict validation naming the rule, the rules in the plan, the service user created, a GitHub-style
 * job then getting a token for it (no key on disk), the policy kept by a later setup without the flag,
 * and `doctor` listing the rules.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { useCiEmulator } from './ci-emulator.js';
import { cleanEnv, runCli, tempHome } from './run-cli.js';

const ci = useCiEmulator();
let emu: Emulator;
beforeAll(() => {
  emu = ci.emu;
});

const adminEnv = ci.adminEnv;
const setupArgs = (...extra: string[]) => ['setup', '--domain', emu.domain, '--audience', emu.info().audience, ...extra];

async function trustFile(home: string, rules: unknown): Promise<string> {
  const file = join(home, 'rules.json');
  await writeFile(file, JSON.stringify(rules));
  return file;
}

describe('setup --ci-trust-file', () => {
  it('refuses a bad rule naming its index, and a policy over Auth0\'s secret size, before anything is written', async () => {
    const home = await tempHome();
    const noScope = await runCli(setupArgs('--ci-trust-file', await trustFile(home, [
      { issuer: emu.info().ci.issuer, claims: { repository: 'acme/api' }, user: { create: 'api' } },
      { issuer: 'github', claims: { ref: 'refs/heads/main' }, user: 'auth0|x' },
    ])), adminEnv(home));
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toMatch(/rule 1: a rule for https:\/\/token\.actions\.githubusercontent\.com must name one of repository/);

    const badUser = await runCli(setupArgs('--ci-trust-file', await trustFile(home, [{ issuer: 'gitlab', claims: { project_path: 'a/b' }, user: 42 }])), adminEnv(home));
    expect(badUser.code).toBe(2);
    expect(badUser.stderr).toMatch(/rule 0: user must be/);

    const huge = Array.from({ length: 40 }, (_, i) => ({ issuer: 'github', claims: { repository: `acme/repository-with-a-long-name-${i}`, ref: 'refs/heads/main' }, user: `auth0|${'u'.repeat(40)}` }));
    const tooLarge = await runCli(setupArgs('--ci-trust-file', await trustFile(home, huge)), adminEnv(home));
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toMatch(/Auth0 allows at most 4096/);
    expect(emu.tenant.actions.size).toBe(0);
  });

  it('creates the service user and the CI Action and profile; a matching job gets a token for that user; the policy is kept and listed', async () => {
    const admin = await tempHome();
    const rules = [{ issuer: emu.info().ci.issuer, claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: { create: 'api' } }];
    const file = await trustFile(admin, rules);

    const dry = await runCli([...setupArgs('--ci-trust-file', file), '--dry-run'], adminEnv(admin));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('CI trust policy: 1 rule');
    expect(dry.stderr).toContain(`#0 ${emu.info().ci.issuer} repository=acme/api ref=refs/heads/main → new service user ci-api`);

    const run = await runCli([...setupArgs('--ci-trust-file', file), '--json'], adminEnv(admin));
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { applied: { resource: string; change: string; id?: string }[]; settings: { client_id: string }; plan: { ci_trust: { from: string } } };
    expect(result.plan.ci_trust.from).toBe('flag');
    const userStep = result.applied.find((s) => s.resource === 'ci_user')!;
    expect(userStep).toMatchObject({ change: 'create', id: expect.stringMatching(/^auth0\|/) });
    expect(result.applied.filter((s) => s.resource.startsWith('ci_')).map((s) => `${s.resource}:${s.change}`)).toEqual(['ci_user:create', 'ci_action:create', 'ci_profile:create']);
    expect(emu.tenant.users.get(userStep.id!)).toMatchObject({ username: 'ci-api', connection: 'omni-auth-machines' });

    // A GitHub Actions job on a runner: its own empty home, the two variables, the settings setup printed.
    const job = async (query: string) => {
      const home = await tempHome();
      const res = await runCli(['token', '--ci', 'github'], cleanEnv({
        OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: result.settings.client_id, OMNI_AUTH_AUDIENCE: emu.info().audience,
        GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${emu.info().ci.request_url}${query}`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: emu.info().ci.request_token,
      }));
      return { res, keyOnDisk: existsSync(join(home, 'machine-key.json')) };
    };
    const ok = await job('');
    expect(ok.res.code, ok.res.stderr).toBe(0);
    expect(decodeJwt(ok.res.stdout.trim()).sub).toBe(userStep.id);
    expect(ok.keyOnDisk).toBe(false);
    const other = await job('&ref=refs/heads/feature');
    expect(other.res.code).toBe(3);
    expect(other.res.stderr).toContain('omni-auth setup --ci-trust-file');

    // setup again, without the flag: the CI policy is untouched and the plan says so.
    const again = await runCli(setupArgs('--client-id', result.settings.client_id), adminEnv(admin));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('CI trust policy: 1 rule (kept from the tenant');
    expect(again.stderr).toContain(`→ ${userStep.id}`);
    expect((await job('')).res.code).toBe(0);

    // The same trust file again: the user is found, nothing CI changes.
    const same = await runCli([...setupArgs('--client-id', result.settings.client_id, '--ci-trust-file', file), '--json'], adminEnv(admin));
    expect(same.code, same.stderr).toBe(0);
    const sameSteps = (JSON.parse(same.stdout) as typeof result).applied.filter((s) => s.resource.startsWith('ci_'));
    expect(sameSteps.map((s) => `${s.resource}:${s.change}`)).toEqual(['ci_action:unchanged', 'ci_profile:unchanged']);

    const doctor = await runCli(['doctor', '--json', '--domain', emu.domain, '--client-id', result.settings.client_id, '--audience', emu.info().audience], adminEnv(admin));
    const check = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; detail: string }[] }).checks.find((c) => c.id === 'ci_trust');
    expect(check).toMatchObject({ status: 'pass', detail: expect.stringContaining(`repository=acme/api ref=refs/heads/main → ${userStep.id}`) });
  });
  it('credentials without read:users: the plan\'s missing-scope error names read:users, before anything is written (and with it, the run goes through)', async () => {
    const admin = await tempHome();
    const file = await trustFile(admin, [{ issuer: emu.info().ci.issuer, claims: { repository: 'acme/web', ref: 'refs/heads/main' }, user: { create: 'web' } }]);
    const grant = emu.tenant.clientGrants.find((g) => g.client_id === emu.info().management.client_id)!;
    const original = [...grant.scope];
    const writes = (): Record<string, number> => Object.fromEntries(Object.entries(emu.tenant.stats.requests).filter(([k]) => /^(POST|PATCH|PUT|DELETE) \/api\/v2\//.test(k)));
    grant.scope = original.filter((s) => s !== 'read:users');
    try {
      const before = writes();
      const run = await runCli([...setupArgs('--ci-trust-file', file), '--json'], adminEnv(admin));
      expect(run.code).toBe(3);
      const doc = JSON.parse(run.stdout) as { plan: { steps: { resource: string; change: string }[]; blockers: unknown[] }; error: unknown };
      expect(doc.plan.steps).toContainEqual(expect.objectContaining({ resource: 'ci_user', change: 'create' }));
      expect(doc.plan.blockers).toEqual([expect.objectContaining({ code: 'mgmt_insufficient_scope', details: { missing_scopes: ['read:users'] } })]);
      expect(doc.error).toMatchObject({ code: 'mgmt_insufficient_scope', exit_code: 3 });
      const text = await runCli(setupArgs('--ci-trust-file', file), adminEnv(admin));
      expect(text.code).toBe(3);
      expect(text.stderr).toContain('lack the scope read:users');
      expect(writes()).toEqual(before);
      expect([...emu.tenant.users.values()].some((u) => u.username === 'ci-web')).toBe(false);
    } finally {
      grant.scope = original;
    }
    const ok = await runCli(setupArgs('--ci-trust-file', file), adminEnv(admin));
    expect(ok.code, ok.stderr).toBe(0);
    expect([...emu.tenant.users.values()].some((u) => u.username === 'ci-web')).toBe(true);
  });
});
