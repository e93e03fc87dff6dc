/**
 * `omni-auth setup --ci-trust-file` and the users its rules name by id (issue 14 §1, session 4),
 * through the built CLI against the emulator: every such user is looked up (GET /api/v2/users/{id})
 * before anything is written. A user that does not exist or is blocked is refused (Auth0 would refuse
 * the exchange at CI time: setUserById "must be an existing user", a blocked user gets no token); a
 * person's account (any connection but the machines' one) is refused unless the rule says
 * `"allow_person": true`, and the plan then says so. A valid service user works for a GitHub-style
 * job; `doctor` warns once that user is blocked. Users are made and blocked with the official `auth0`
 * Management SDK.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { managementSdk, managementToken } from '../emulator/helpers.js';
import { useCiEmulator } from './ci-emulator.js';
import { cleanEnv, runCli, tempHome } from './run-cli.js';

const MACHINES = 'omni-auth-machines';
const PEOPLE = 'Username-Password-Authentication';

const ci = useCiEmulator();
let emu: Emulator;
let admin: string;
let clientId: string;
let sdk: ReturnType<typeof managementSdk>;
beforeAll(async () => {
  emu = ci.emu;
  sdk = managementSdk(emu, await managementToken(emu));
  // The application and the machines' connection first (no CI): the users below live in it.
  admin = await tempHome();
  const run = await runCli([...setupArgs(), '--json'], adminEnv(admin));
  if (run.code !== 0) throw new Error(run.stderr);
  clientId = (JSON.parse(run.stdout) as { settings: { client_id: string } }).settings.client_id;
}, 60_000);

const adminEnv = ci.adminEnv;
function setupArgs(...extra: string[]): string[] {
  return ['setup', '--domain', emu.domain, '--audience', emu.info().audience, ...(clientId ? ['--client-id', clientId] : []), ...extra];
}
let files = 0;
async function trustFile(rules: unknown): Promise<string> {
  const file = join(admin, `rules-${files++}.json`);
  await writeFile(file, JSON.stringify(rules));
  return file;
}
const rule = (repository: string, user: unknown, extra: Record<string, unknown> = {}) => ({ issuer: emu.info().ci.issuer, claims: { repository, ref: 'refs/heads/main' }, user, ...extra });
const writes = (): Record<string, number> => Object.fromEntries(Object.entries(emu.tenant.stats.requests).filter(([k]) => /^(POST|PATCH|PUT|DELETE) \/api\/v2\//.test(k)));
const strongPassword = (): string => `Pw-${Math.random().toString(36).slice(2)}-Aa1!x`;

async function serviceUser(username: string): Promise<string> {
  return (await sdk.users.create({ connection: MACHINES, username, password: strongPassword() })).user_id!;
}
async function personUser(email: string): Promise<string> {
  return (await sdk.users.create({ connection: PEOPLE, email, password: strongPassword(), email_verified: true })).user_id!;
}

interface Refusal { code: number | null; stderr: string; json: { error: { code: string; exit_code: number; hint?: string } } }
async function refused(file: string): Promise<Refusal> {
  const before = writes();
  const actions = emu.tenant.actions.size;
  const dry = await runCli([...setupArgs('--ci-trust-file', file), '--dry-run'], adminEnv(admin));
  const text = await runCli(setupArgs('--ci-trust-file', file), adminEnv(admin));
  const json = await runCli([...setupArgs('--ci-trust-file', file), '--json'], adminEnv(admin));
  // Nothing written: no request that writes, no Action, the dry run failing as the run does.
  expect(writes()).toEqual(before);
  expect(emu.tenant.actions.size).toBe(actions);
  expect(dry.code).toBe(text.code);
  expect(json.code).toBe(text.code);
  return { code: text.code, stderr: text.stderr, json: JSON.parse(json.stdout) as Refusal['json'] };
}

describe('setup --ci-trust-file: the users rules name by id', () => {
  it('a user that does not exist is refused naming the rule, before anything is written (exit 3)', async () => {
    const file = await trustFile([rule('acme/api', { create: 'api' }), rule('acme/web', 'auth0|000000000000000000000000')]);
    const r = await refused(file);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('rule 1: the user auth0|000000000000000000000000 does not exist');
    expect(r.stderr).toMatch(/hint: .*user id/);
    expect(r.json.error).toMatchObject({ code: 'ci_user_missing', exit_code: 3 });
    // The {"create": …} user of rule 0 was not created either.
    expect([...emu.tenant.users.values()].some((u) => u.username === 'ci-api')).toBe(false);
  });

  it('a blocked user is refused (exit 3), nothing written', async () => {
    const id = await serviceUser('ci-blocked');
    await sdk.users.update(id, { blocked: true });
    const r = await refused(await trustFile([rule('acme/api', id)]));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`rule 0: the user ${id} is blocked`);
    expect(r.json.error).toMatchObject({ code: 'ci_user_blocked', exit_code: 3 });
    // The same for the existing service user a {"create": …} rule finds: no second user, no deploy.
    const old = await serviceUser('ci-old');
    await sdk.users.update(old, { blocked: true });
    const found = await refused(await trustFile([rule('acme/api', { create: 'old' })]));
    expect(found.code).toBe(3);
    expect(found.stderr).toContain(`rule 0: the user ${old} is blocked`);
  });

  it('a person\'s account is refused without "allow_person": true; with it the plan names the person\'s connection and says so', async () => {
    const id = await personUser('dana@example.com');
    const r = await refused(await trustFile([rule('acme/api', { create: 'api' }), rule('acme/docs', id)]));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`rule 1: the user ${id} is in the connection ${PEOPLE}, not ${MACHINES}`);
    expect(r.stderr).toContain('"allow_person": true');
    expect(r.json.error).toMatchObject({ code: 'ci_user_person', exit_code: 3 });

    // allow_person must be the boolean true.
    const wrong = await runCli(setupArgs('--ci-trust-file', await trustFile([rule('acme/docs', id, { allow_person: 'yes' })])), adminEnv(admin));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('rule 0: allow_person must be true or false');

    const file = await trustFile([rule('acme/docs', id, { allow_person: true })]);
    const dry = await runCli([...setupArgs('--ci-trust-file', file), '--dry-run'], adminEnv(admin));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`#0 ${emu.info().ci.issuer} repository=acme/docs ref=refs/heads/main → ${id} (${PEOPLE}: a person's account, allowed by allow_person)`);
    const run = await runCli([...setupArgs('--ci-trust-file', file), '--json'], adminEnv(admin));
    expect(run.code, run.stderr).toBe(0);
    const view = JSON.parse(run.stdout) as { plan: { ci_trust: { rules: string[] } } };
    expect(view.plan.ci_trust.rules[0]).toContain(`→ ${id} (${PEOPLE}: a person's account, allowed by allow_person)`);
    // The Action's policy holds the rule without the opt-in (the Action knows issuer, claims, user).
    const ci = [...emu.tenant.actions.values()].find((a) => a.name === 'omni-auth-ci-oidc-exchange')!;
    const policy = JSON.parse(ci.secrets.find((s) => s.name === 'CI_TRUST_POLICY')!.value) as unknown[];
    expect(policy).toEqual([{ issuer: emu.info().ci.issuer, claims: { repository: 'acme/docs', ref: 'refs/heads/main' }, user: id }]);
  });

  it('a service user of the machines\' connection: the plan shows its connection, a GitHub-style job gets its token; blocked later, doctor warns with the fix', async () => {
    const id = await serviceUser('ci-deploy');
    const file = await trustFile([rule('acme/api', id)]);
    const dry = await runCli([...setupArgs('--ci-trust-file', file), '--dry-run'], adminEnv(admin));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`#0 ${emu.info().ci.issuer} repository=acme/api ref=refs/heads/main → ${id} (${MACHINES})`);
    const run = await runCli(setupArgs('--ci-trust-file', file), adminEnv(admin));
    expect(run.code, run.stderr).toBe(0);

    const job = async () => runCli(['token', '--ci', 'github'], cleanEnv({
      OMNI_AUTH_HOME: await tempHome(), OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: clientId, OMNI_AUTH_AUDIENCE: emu.info().audience,
      GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: emu.info().ci.request_url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: emu.info().ci.request_token,
    }));
    const ok = await job();
    expect(ok.code, ok.stderr).toBe(0);
    expect(decodeJwt(ok.stdout.trim()).sub).toBe(id);

    const doctorCheck = async () => {
      const doctor = await runCli(['doctor', '--json', '--domain', emu.domain, '--client-id', clientId, '--audience', emu.info().audience], adminEnv(admin));
      return (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; detail: string; fix?: string }[] }).checks.find((c) => c.id === 'ci_trust');
    };
    expect(await doctorCheck()).toMatchObject({ status: 'pass', detail: expect.stringContaining(`→ ${id} (${MACHINES})`) });

    await sdk.users.update(id, { blocked: true });
    expect((await job()).code).toBe(3);
    expect(await doctorCheck()).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining(`rule 0: the user ${id} is blocked`),
      fix: expect.stringContaining('omni-auth setup --ci-trust-file'),
    });
  });
});
