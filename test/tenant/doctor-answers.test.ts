/**
 * doctor against an msw-mocked tenant that answers the way Auth0 documents (not the emulator's way):
 * the probe recognises server_error 500, consent in both forms and mfa_required; a refused grant on an
 * application set up right, or a profiles API that refuses for no known reason, says the tenant may
 * lack Custom Token Exchange; post-login Actions that do not mention oauth2-token-exchange warn; a
 * missing read:actions is an informational line; the machines' connection must identify by username.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { homeFiles, type HomeFiles } from '../../src/config/home.js';
import type { Transport } from '../../src/exchange/transport.js';
import { loadOrCreateKey } from '../../src/identity/key-store.js';
import { desiredAction, readActionSource, withMarker, type IdentityPolicy } from '../../src/tenant/action-bundle.js';
import { MACHINES_CONNECTION, MACHINES_OPTIONS } from '../../src/tenant/connection.js';
import type { Check } from '../../src/tenant/doctor-check.js';
import { doctor, type DoctorReport } from '../../src/tenant/doctor.js';
import { Secret } from '../../src/util/secret.js';

const fetchTransport: Transport = async ({ method = 'POST', url, headers, body, signal }) => {
  const r = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal });
  return { status: r.status, headers: Object.fromEntries(r.headers), bodyText: await r.text() };
};

const DOMAIN = 'https://tenant.eu.auth0.com';
const M = `${DOMAIN}/api/v2`;
const CLIENT_ID = 'cli-123';
const AUDIENCE = 'https://mcp.example.com';
const STT = 'urn:omnispindle:local-auth';
const MGMT_TOKEN = 'mgmt-token-not-a-jwt';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

let dir: string;
let files: HomeFiles;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-auth-doctor-'));
  files = homeFiles(dir);
  await loadOrCreateKey(files.key, {});
  return () => rm(dir, { recursive: true, force: true });
});

interface Tenant {
  probe: () => Response;
  client?: Record<string, unknown>;
  /** null: the options are left out, as Auth0 does without read:connections_options. */
  connectionOptions?: Record<string, unknown> | null;
  profiles?: () => Response;
  bindings?: () => Response;
  actions?: Record<string, Record<string, unknown>>;
}

const CTE_ACTION = { id: 'act_cte', name: 'omni-auth-custom-token-exchange', code: '', deployed_version: { deployed: true, number: 1 }, all_changes_deployed: true };
// The Action as omni-auth ships it (doctor compares the deployed code with it).
beforeAll(async () => {
  CTE_ACTION.code = (await readActionSource()).code;
});
const GOOD_CLIENT = {
  client_id: CLIENT_ID, name: 'omni-auth', is_first_party: true, oidc_conformant: true, token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  grant_types: ['authorization_code', 'refresh_token'], callbacks: ['https://app.example.com/cb', 'http://127.0.0.1:8765/callback', 'http://localhost:8765/callback'],
};

/** A tenant set up right, apart from what the test changes; counts token requests. */
function tenant(t: Tenant): { tokenRequests: () => number } {
  let tokens = 0;
  const actions: Record<string, Record<string, unknown>> = { act_cte: CTE_ACTION, ...t.actions };
  server.use(
    http.get(`${DOMAIN}/.well-known/openid-configuration`, () =>
      HttpResponse.json({ issuer: `${DOMAIN}/`, jwks_uri: `${DOMAIN}/.well-known/jwks.json` }, { headers: { date: new Date().toUTCString() } })),
    http.get(`${DOMAIN}/.well-known/jwks.json`, () => HttpResponse.json({ keys: [{ kty: 'RSA', kid: 'k' }] })),
    http.post(`${DOMAIN}/oauth/token`, () => {
      tokens++;
      return t.probe();
    }),
    http.get(`${M}/token-exchange-profiles`, () => (t.profiles ?? (() => HttpResponse.json({
      token_exchange_profiles: [{ id: 'tep_1', name: 'omnispindle-local-auth', subject_token_type: STT, action_id: 'act_cte' }],
    })))()),
    http.get(`${M}/actions/actions/:id`, ({ params }) => {
      const a = actions[params.id as string];
      return a ? HttpResponse.json(a) : HttpResponse.json({ statusCode: 404, message: 'not found' }, { status: 404 });
    }),
    http.get(`${M}/resource-servers/:id`, () => HttpResponse.json({ id: 'rs', identifier: AUDIENCE, skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true })),
    http.get(`${M}/clients/:id`, () => HttpResponse.json(t.client ?? GOOD_CLIENT)),
    http.get(`${M}/connections`, () => HttpResponse.json([{
      id: 'con_m', name: MACHINES_CONNECTION, strategy: 'auth0', ...(t.connectionOptions === null ? {} : { options: t.connectionOptions ?? MACHINES_OPTIONS }),
    }])),
    http.get(`${M}/connections/con_m/clients`, () => HttpResponse.json({ clients: [{ client_id: CLIENT_ID }] })),
    http.get(`${M}/actions/triggers/post-login/bindings`, () => (t.bindings ?? (() => HttpResponse.json({ bindings: [], total: 0, page: 0, per_page: 50 })))()),
  );
  return { tokenRequests: () => tokens };
}

const run = (withManagement = true): Promise<DoctorReport> => doctor({
  flags: { domain: DOMAIN, clientId: CLIENT_ID, audience: AUDIENCE },
  env: { HOME: dir },
  cwd: dir,
  files,
  connection: MACHINES_CONNECTION,
  http: { transport: fetchTransport },
  management: { transport: fetchTransport, retry: { sleep: async () => {}, random: () => 0 } },
  ...(withManagement ? { credentials: { kind: 'token' as const, token: new Secret(MGMT_TOKEN) } } : {}),
});

const check = (report: DoctorReport, id: string): Check => {
  const found = report.checks.find((c) => c.id === id);
  expect(found, `no check ${id}`).toBeDefined();
  return found!;
};
const failing = (report: DoctorReport): string[] => report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
const oauth = (status: number, body: Record<string, unknown>) => () => HttpResponse.json(body, { status });
const REJECTED = oauth(400, { error: 'invalid_request', error_description: 'subject_token is not a compact JWS' });

describe('the probe reads Auth0\'s answers', () => {
  it('a tenant set up right: every check passes; the probe is one request', async () => {
    const t = tenant({ probe: REJECTED });
    const report = await run();
    expect(failing(report)).toEqual([]);
    expect(report.checks.map((c) => c.id)).toEqual(['settings', 'discovery', 'clock', 'key', 'probe', 'action', 'identity', 'api', 'rbac', 'application', 'sign_in', 'connection', 'post_login', 'ci_trust', 'mcp']);
    expect(check(report, 'post_login')).toMatchObject({ status: 'pass', detail: expect.stringContaining('none bound') });
    expect(t.tokenRequests()).toBe(1);
  });

  it('server_error as HTTP 500 → ✗ probe "the Action failed" (exit 3), not "unreachable", and not retried', async () => {
    const t = tenant({ probe: oauth(500, { error: 'server_error', error_description: 'jose could not be loaded' }) });
    const report = await run(false);
    expect(check(report, 'probe')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check(report, 'probe').detail).toContain('the Action failed');
    expect(check(report, 'probe').detail).toContain('jose could not be loaded');
    expect(check(report, 'probe').fix).toMatch(/tenant logs/);
    expect(report.exit_code).toBe(3);
    expect(t.tokenRequests()).toBe(1);
  });

  it.each([
    ['as Auth0 documents it (invalid_request, consent_required in the description)', oauth(400, { error: 'invalid_request', error_description: 'consent_required: Consent required' })],
    ['as the SDK names it (error consent_required)', oauth(403, { error: 'consent_required', error_description: 'Consent required' })],
  ])('consent %s → ✗ probe naming "Allow Skipping User Consent"', async (_name, probe) => {
    tenant({ probe });
    const report = await run(false);
    expect(check(report, 'probe')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check(report, 'probe').detail).toContain(`the API ${AUDIENCE} does not allow skipping user consent`);
    expect(check(report, 'probe').fix).toContain('Allow Skipping User Consent');
  });

  it('403 mfa_required → ✗ probe saying MFA was required and what to change; the mfa_token shows nowhere', async () => {
    const mfaToken = 'mfa-Fe26.2**0123456789abcdefSECRET';
    tenant({ probe: oauth(403, { error: 'mfa_required', error_description: 'Multifactor authentication required', mfa_token: mfaToken }) });
    const report = await run(false);
    expect(check(report, 'probe')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check(report, 'probe').detail).toContain('MFA was required for this exchange');
    expect(check(report, 'probe').fix).toContain("event.transaction.protocol === 'oauth2-token-exchange'");
    expect(JSON.stringify(report)).not.toContain(mfaToken);
  });

  it('unauthorized_client on an application set up right → the tenant may lack Custom Token Exchange, and which plans have it', async () => {
    tenant({ probe: oauth(403, { error: 'unauthorized_client', error_description: "Grant type 'urn:ietf:params:oauth:grant-type:token-exchange' not allowed for the client." }) });
    const report = await run();
    expect(check(report, 'application').status).toBe('pass');
    expect(check(report, 'probe')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check(report, 'probe').detail).toContain('may lack the feature');
    expect(check(report, 'probe').fix).toMatch(/Early Access.*B2C Professional, B2B Professional and Enterprise/);
    expect(failing(report)).toEqual(['probe']);
    expect(report.exit_code).toBe(3);
  });

  it('unauthorized_client on an application NOT allowed → the application check says so; the probe points at setup', async () => {
    tenant({ probe: oauth(403, { error: 'unauthorized_client', error_description: 'not allowed' }), client: { ...GOOD_CLIENT, token_exchange: { allow_any_profile_of_type: [] } } });
    const report = await run();
    expect(check(report, 'probe').detail).toContain(`token exchange is not enabled on the application ${CLIENT_ID}`);
    expect(check(report, 'probe').fix).toContain('omni-auth setup');
    expect(check(report, 'application')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('not allowed to use Custom Token Exchange') });
    expect(failing(report)).toEqual(['probe', 'application']);
  });
});

describe('Management checks as Auth0 answers', () => {
  it('the profiles API refuses with a 403 no rule explains → ✗ Action: the tenant may lack Custom Token Exchange (exit 3)', async () => {
    tenant({
      probe: oauth(403, { error: 'unauthorized_client', error_description: 'nope' }),
      profiles: () => HttpResponse.json({ statusCode: 403, error: 'Forbidden', message: 'Feature is not enabled' }, { status: 403 }),
    });
    const report = await run();
    expect(check(report, 'action')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check(report, 'action').fix).toMatch(/may lack Custom Token Exchange.*B2C Professional, B2B Professional and Enterprise/);
  });

  it('post-login Actions whose code does not mention oauth2-token-exchange → ! warning naming them (a heuristic); exit code untouched', async () => {
    tenant({
      probe: REJECTED,
      bindings: () => HttpResponse.json({
        bindings: [
          { id: 'b1', display_name: 'Require MFA', action: { id: 'act_mfa', name: 'require-mfa' } },
          { id: 'b2', display_name: 'Claims', action: { id: 'act_ok', name: 'claims' } },
        ], total: 2, page: 0, per_page: 50,
      }),
      actions: {
        act_mfa: { id: 'act_mfa', name: 'require-mfa', code: 'exports.onExecutePostLogin = async (e, api) => { api.multifactor.enable("any"); };' },
        act_ok: {
          id: 'act_ok', name: 'claims', code: 'old draft',
          deployed_version: { code: "exports.onExecutePostLogin = async (e, api) => { if (e.transaction.protocol === 'oauth2-token-exchange') return; };" },
        },
      },
    });
    const report = await run();
    const c = check(report, 'post_login');
    expect(c.status).toBe('warn');
    expect(c.detail).toContain('"Require MFA"');
    expect(c.detail).not.toContain('"Claims"');
    expect(c.detail).toContain('heuristic');
    expect(c.fix).toContain("event.transaction.protocol === 'oauth2-token-exchange'");
    expect(report.exit_code).toBe(0);
    expect(report.ok).toBe(true);
  });

  it('every bound post-login Action mentions the protocol → ✓', async () => {
    tenant({
      probe: REJECTED,
      bindings: () => HttpResponse.json({ bindings: [{ id: 'b2', display_name: 'Claims', action: { id: 'act_ok' } }], total: 1, page: 0, per_page: 50 }),
      actions: { act_ok: { id: 'act_ok', name: 'claims', code: "if (event.transaction?.protocol === 'oauth2-token-exchange') return;" } },
    });
    expect(check(await run(), 'post_login')).toMatchObject({ status: 'pass', detail: expect.stringContaining('1 bound') });
  });

  it('no read:actions → an informational line, not a failure or a crash', async () => {
    tenant({
      probe: REJECTED,
      bindings: () => HttpResponse.json({ statusCode: 403, error: 'Forbidden', message: 'Insufficient scope, expected any of: read:actions', errorCode: 'insufficient_scope' }, { status: 403 }),
    });
    const report = await run();
    expect(check(report, 'post_login')).toMatchObject({ status: 'skip', detail: expect.stringContaining('read:actions') });
    expect(report.exit_code).toBe(0);
  });

  it('the connection without username as an active identifier → ✗ connection (exit 3)', async () => {
    tenant({ probe: REJECTED, connectionOptions: { requires_username: true } });
    const report = await run();
    expect(check(report, 'connection')).toMatchObject({ status: 'fail', exit_code: 3, detail: expect.stringContaining('does not have username as an active identifier') });
    expect(failing(report)).toEqual(['connection']);
  });

  it('options left out (no read:connections_options) → ! connection: enabled, identifier unknown, grant the scope; no failure', async () => {
    tenant({ probe: REJECTED, connectionOptions: null });
    const report = await run();
    expect(check(report, 'connection')).toMatchObject({ status: 'warn', fix: expect.stringContaining('read:connections_options') });
    expect(report.exit_code).toBe(0);
  });
});

describe('the identity policy and the browser sign-in (Management checks)', () => {
  /** The Action as setup deploys it with this policy: the secret, and the marker recording it. */
  const deployedAs = (identity: IdentityPolicy) => {
    const d = desiredAction({ code: CTE_ACTION.code, dependencies: [] }, `${DOMAIN}/`, MACHINES_CONNECTION, [], identity);
    return { act_cte: { ...CTE_ACTION, code: d.code, secrets: d.secrets.map((x) => ({ name: x.name })) } };
  };
  const NO_SIGN_IN = { ...GOOD_CLIENT, grant_types: ['refresh_token'], callbacks: ['https://app.example.com/cb', 'http://localhost:8765/callback'] };

  it.each(['person', 'machine', 'both'] as const)('reports the policy %s read from the marker (a pass: the policy is the admin\'s)', async (policy) => {
    tenant({ probe: REJECTED, actions: deployedAs(policy) });
    const report = await run();
    expect(check(report, 'identity')).toMatchObject({ status: 'pass', title: 'identity policy', detail: expect.stringMatching(new RegExp(`^${policy}: .*\\(the Action's IDENTITY secret\\)$`)) });
    expect(failing(report)).toEqual([]);
  });

  it('an IDENTITY secret no marker records → a warning naming setup --identity', async () => {
    tenant({ probe: REJECTED, actions: { act_cte: { ...CTE_ACTION, secrets: [{ name: 'ISSUER' }, { name: 'IDENTITY' }] } } });
    const report = await run();
    expect(check(report, 'identity')).toMatchObject({ status: 'warn', detail: expect.stringContaining('cannot be read back'), fix: expect.stringContaining('--identity') });
  });

  it('no IDENTITY secret: the Action\'s own default, by whether its code knows the policy', async () => {
    tenant({ probe: REJECTED, actions: { act_cte: { ...CTE_ACTION, code: withMarker("exports.x = 1; // reads event.secrets.IDENTITY\n", 'a'.repeat(64)), secrets: [{ name: 'ISSUER' }] } } });
    expect(check(await run(), 'identity').detail).toMatch(/^person: .*the Action's default/);
    tenant({ probe: REJECTED, actions: { act_cte: { ...CTE_ACTION, code: "exports.x = 1;\n", secrets: [{ name: 'ISSUER' }] } } });
    expect(check(await run(), 'identity').detail).toMatch(/^machine: .*predates the policy/);
  });

  it('the application lacks a callback and authorization_code: ✗ browser sign-in (exit 3) under person, naming what is missing', async () => {
    tenant({ probe: REJECTED, client: NO_SIGN_IN, actions: deployedAs('person') });
    const report = await run();
    const c = check(report, 'sign_in');
    expect(c).toMatchObject({ status: 'fail', exit_code: 3, title: 'browser sign-in' });
    expect(c.detail).toContain('the callback URL http://127.0.0.1:8765/callback and the grant authorization_code');
    expect(c.detail).not.toContain('http://localhost:8765/callback');
    expect(c.fix).toContain('omni-auth setup');
    expect(failing(report)).toEqual(['sign_in']);
    expect(report.exit_code).toBe(3);
  });

  it('the same under both → fail; under machine → only a warning (nobody needs to sign in)', async () => {
    tenant({ probe: REJECTED, client: NO_SIGN_IN, actions: deployedAs('both') });
    expect(check(await run(), 'sign_in').status).toBe('fail');
    tenant({ probe: REJECTED, client: NO_SIGN_IN, actions: deployedAs('machine') });
    const report = await run();
    expect(check(report, 'sign_in')).toMatchObject({ status: 'warn', detail: expect.stringContaining('not needed under the machine policy') });
    expect(failing(report)).toEqual([]);
  });
});
