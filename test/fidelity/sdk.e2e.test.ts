/**
 * Issue 8, "How it will be checked": the official Auth0 Management SDK (a client nobody here wrote)
 * provisions Actions of its own on the emulator and reads users back, while the built CLI runs the
 * user's commands over loopback in a temporary home.
 *
 * The SDK always builds `https://{domain}/api/v2`; the emulator speaks plain HTTP on loopback, so the
 * SDK's global `fetch` is wrapped to send the very same request to `http://` — its paths, bodies and
 * response parsing stay the SDK's own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagementClient } from 'auth0';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { call, managementToken } from '../emulator/helpers.js';
import { cli, type CliRun } from '../tenant/helpers.js';

let emu: Emulator;
let mgmt: ManagementClient;
let home: string;
const realFetch = globalThis.fetch;
let sdkRequests = 0;

/** Base settings for every CLI run; `home` is a fresh OMNI_AUTH_HOME unless given. */
function settingsFlags(): string[] {
  const info = emu.info();
  return ['--domain', emu.domain, '--client-id', info.client_id, '--audience', info.audience];
}

async function freshHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'omni-fidelity-'));
}

/** `omni-auth token` in a home of its own, so no cached token hides what the tenant answers now. */
async function tokenInFreshHome(extra: string[] = []): Promise<CliRun> {
  const h = await freshHome();
  try {
    return await cli(['token', ...settingsFlags(), ...extra], { OMNI_AUTH_HOME: h });
  } finally {
    await rm(h, { recursive: true, force: true });
  }
}

async function exchanges(): Promise<number> {
  const { exchanges: e } = (await call(emu, 'GET', '/__emulator/stats')).body as { exchanges: { ok: number; failed: number } };
  return e.ok + e.failed;
}

/** Creates, builds and deploys an Action through the SDK; returns its id. */
async function deployAction(name: string, trigger: { id: string; version: string }, code: string): Promise<string> {
  const created = await mgmt.actions.create({ name, supported_triggers: [trigger as never], code, runtime: 'node22', dependencies: [], secrets: [] });
  const id = created.id!;
  for (let i = 0; ; i++) {
    const got = await mgmt.actions.get(id);
    if (got.status === 'built') break;
    if (got.status === 'failed' || i > 400) throw new Error(`action ${name} did not build: ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  await mgmt.actions.deploy(id);
  for (let i = 0; ; i++) {
    const got = await mgmt.actions.get(id);
    if (got.deployed_version?.deployed) return id;
    if (i > 400) throw new Error(`action ${name} did not deploy`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Custom Token Exchange Action of the test's own, reachable through its own subject token type. */
async function cteProfile(slug: string, code: string): Promise<string> {
  const actionId = await deployAction(`fidelity-${slug}`, { id: 'custom-token-exchange', version: 'v1' }, code);
  const subjectTokenType = `urn:omni-fidelity:${slug}`;
  await mgmt.tokenExchangeProfiles.create({ name: `fidelity-${slug}`, subject_token_type: subjectTokenType, action_id: actionId, type: 'custom_authentication' });
  return subjectTokenType;
}

async function bindPostLogin(actionIds: string[]): Promise<void> {
  await mgmt.actions.triggers.bindings.updateMany('post-login', {
    bindings: actionIds.map((value, i) => ({ ref: { type: 'action_id', value }, display_name: `fidelity-${i}` })),
  });
}

beforeAll(async () => {
  emu = await startEmulator({ settings: { buildMs: 40, deployMs: 30, exchangeRatePerSecond: 1000 } });
  const origin = new URL(emu.domain);
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url);
    if (url.protocol === 'https:' && url.host === origin.host) {
      sdkRequests++;
      url.protocol = 'http:';
      return realFetch(url, init);
    }
    return realFetch(input, init);
  }) as typeof fetch;
  const token = await managementToken(emu);
  mgmt = new ManagementClient({ domain: origin.host, token });

  // The admin's one command, then the user's.
  home = await freshHome();
  const { management } = emu.info();
  const admin = { OMNI_AUTH_HOME: home, AUTH0_MGMT_CLIENT_ID: management.client_id, AUTH0_MGMT_CLIENT_SECRET: management.client_secret };
  const setup = await cli(['setup', ...settingsFlags(), '--identity', 'both'], admin);
  expect(setup.code, setup.stderr).toBe(0);
  const login = await cli(['login', '--no-write'], { OMNI_AUTH_HOME: home });
  expect(login.code, login.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  await emu?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('the user the real Action creates, read back through the official SDK', () => {
  it('lives in the machines connection with a lowercase username and no email', async () => {
    const status = await cli(['status', '--json'], { OMNI_AUTH_HOME: home });
    const { key } = JSON.parse(status.stdout) as { key: { thumbprint: string } };
    const user = await mgmt.users.get(`auth0|omni-${key.thumbprint}`);
    expect(sdkRequests).toBeGreaterThan(0);
    expect(user.identities?.[0]?.connection ?? (user as { connection?: string }).connection).toBe('omni-auth-machines');
    expect(user.username).toMatch(/^omni-[a-z2-7]{52}$/);
    expect(user.email).toBeUndefined();
  });

  it('an Action that omits the identifier the connection requires fails the exchange and creates nobody', async () => {
    const type = await cteProfile('no-username', `exports.onExecuteCustomTokenExchange = async (event, api) => {
      api.authentication.setUserByConnection('omni-auth-machines', { user_id: 'fidelity-no-username', name: 'x' },
        { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' });
    };`);
    const run = await tokenInFreshHome(['--subject-token-type', type]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toBe('');
    await expect(mgmt.users.get('auth0|fidelity-no-username')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('the same Action naming a username succeeds, and Auth0 stores the username lowercased', async () => {
    const type = await cteProfile('with-username', `exports.onExecuteCustomTokenExchange = async (event, api) => {
      api.authentication.setUserByConnection('omni-auth-machines', { user_id: 'fidelity-with-username', username: 'Fidelity.User' },
        { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' });
    };`);
    const run = await tokenInFreshHome(['--subject-token-type', type]);
    expect(run.code, run.stderr).toBe(0);
    const user = await mgmt.users.get('auth0|fidelity-with-username');
    expect(user.username).toBe('fidelity.user');
  });
});

describe('what the Action answers, as Auth0 answers it, and what the CLI makes of it', () => {
  it("deny('server_error') is HTTP 500; the CLI exits 3 'the Action failed' after at most one retry", async () => {
    const type = await cteProfile('server-error', `exports.onExecuteCustomTokenExchange = async (event, api) => {
      api.access.deny('server_error', 'the key service is down');
    };`);
    const raw = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', client_id: emu.info().client_id, subject_token_type: type, subject_token: 'x', audience: emu.info().audience },
    });
    expect([raw.status, raw.body.error]).toEqual([500, 'server_error']);
    const before = await exchanges();
    const run = await tokenInFreshHome(['--subject-token-type', type]);
    const attempts = (await exchanges()) - before;
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/Action/);
    expect(run.stderr).toContain('the key service is down');
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(2);
  });

  it('consent: an API that does not skip consent gives exit 3 naming "Allow Skipping User Consent"', async () => {
    const apis = await mgmt.resourceServers.list();
    const rs = apis.data.find((r) => r.identifier === emu.info().audience)!;
    await mgmt.resourceServers.update(rs.id!, { skip_consent_for_verifiable_first_party_clients: false });
    try {
      const run = await tokenInFreshHome();
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toContain('Allow Skipping User Consent');
    } finally {
      await mgmt.resourceServers.update(rs.id!, { skip_consent_for_verifiable_first_party_clients: true });
    }
  });
});

describe('post-login Actions run after the exchange', () => {
  it('MFA required by a post-login Action: 403 mfa_required, exit 3 saying MFA was required and what to change', async () => {
    const id = await deployAction('fidelity-mfa', { id: 'post-login', version: 'v3' }, `exports.onExecutePostLogin = async (event, api) => {
      api.multifactor.enable('any');
    };`);
    await bindPostLogin([id]);
    try {
      const run = await tokenInFreshHome();
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toMatch(/MFA|multi-?factor/i);
      expect(run.stderr).toContain('oauth2-token-exchange');
      expect(run.stderr).not.toMatch(/mfa_token/i);
    } finally {
      await bindPostLogin([]);
    }
  });

  it("a post-login Action's deny refuses the exchange with exit 3 and its reason", async () => {
    const id = await deployAction('fidelity-deny', { id: 'post-login', version: 'v3' }, `exports.onExecutePostLogin = async (event, api) => {
      if (event.transaction.protocol === 'oauth2-token-exchange') api.access.deny('machines are not welcome today');
    };`);
    await bindPostLogin([id]);
    try {
      const run = await tokenInFreshHome();
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toContain('machines are not welcome today');
    } finally {
      await bindPostLogin([]);
    }
  });

  it('custom claims set by a post-login Action reach the access token; doctor warns about an Action that does not skip the exchange', async () => {
    const id = await deployAction('fidelity-claims', { id: 'post-login', version: 'v3' }, `exports.onExecutePostLogin = async (event, api) => {
      api.accessToken.setCustomClaim('https://omni.example/team', 'core');
    };`);
    await bindPostLogin([id]);
    try {
      const run = await tokenInFreshHome();
      expect(run.code, run.stderr).toBe(0);
      expect(decodeJwt(run.stdout.trim())['https://omni.example/team']).toBe('core');

      const { management } = emu.info();
      const doctor = await cli(['doctor', ...settingsFlags()], {
        OMNI_AUTH_HOME: home, AUTH0_MGMT_CLIENT_ID: management.client_id, AUTH0_MGMT_CLIENT_SECRET: management.client_secret,
      });
      expect(doctor.stdout + doctor.stderr).toMatch(/fidelity-claims|post-login/);
      expect(doctor.stdout + doctor.stderr).toContain('oauth2-token-exchange');
    } finally {
      await bindPostLogin([]);
    }
  });
});
