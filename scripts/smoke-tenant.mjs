#!/usr/bin/env node
// `npm run smoke:tenant`: an opt-in check of the built CLI against a real Auth0 tenant (never part of
// `npm test`). It runs, in a temporary OMNI_AUTH_HOME that is removed afterwards:
//
//   1. setup --dry-run   reads the tenant and plans (sends only GETs): is it set up?
//   2. login --no-write  a new machine key, exchanged for tokens (no MCP client is touched)
//   3. token             a token from the cache (never printed: only its expiry)
//   4. doctor            every check, with the Management credentials
//   5. invalid_request   one exchange with a garbage subject token must answer 400 invalid_request
//
// one line per step, and exits 0 only when all pass. Each run creates one new machine user in the
// machines' connection, and steps 4 and 5 each cost one Suspicious IP Throttling attempt.
//
// Environment (the names setup already reads):
//   AUTH0_DOMAIN                 the tenant, e.g. tenant.eu.auth0.com (http:// only for a local emulator)
//   AUTH0_MGMT_CLIENT_ID, AUTH0_MGMT_CLIENT_SECRET   a machine-to-machine application for the
//                                Management API (or AUTH0_MGMT_TOKEN)
//   AUTH0_AUDIENCE               the API identifier the MCP server accepts
//   AUTH0_CLIENT_ID              the CLI application (optional: else the one setup finds by name)
//   OMNI_AUTH_SMOKE_NO_BUILD=1   use dist/ as it is (the tests build first)
// Without AUTH0_DOMAIN and Management credentials it prints why it was skipped and exits 0.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'dist', 'omni-auth.cjs');
const env = process.env;
const given = (name) => (env[name] ?? '').trim() || undefined;

const domain = given('AUTH0_DOMAIN');
const mgmt = given('AUTH0_MGMT_TOKEN') ? { AUTH0_MGMT_TOKEN: given('AUTH0_MGMT_TOKEN') }
  : given('AUTH0_MGMT_CLIENT_ID') && given('AUTH0_MGMT_CLIENT_SECRET')
    ? { AUTH0_MGMT_CLIENT_ID: given('AUTH0_MGMT_CLIENT_ID'), AUTH0_MGMT_CLIENT_SECRET: given('AUTH0_MGMT_CLIENT_SECRET') }
    : undefined;
if (!domain || !mgmt) {
  const missing = [!domain && 'AUTH0_DOMAIN', !mgmt && 'AUTH0_MGMT_CLIENT_ID and AUTH0_MGMT_CLIENT_SECRET (or AUTH0_MGMT_TOKEN)'].filter(Boolean);
  console.log(`smoke:tenant skipped: set ${missing.join(', ')} (and AUTH0_AUDIENCE) to check a real tenant — see README, "Checking a real tenant"`);
  process.exit(0);
}
const audience = given('AUTH0_AUDIENCE');
if (!audience) {
  console.log('smoke:tenant: AUTH0_AUDIENCE is not set (the API identifier the MCP server accepts, as given to `omni-auth setup --audience`)');
  process.exit(2);
}

/** Runs the CLI with only what the step needs: no settings or tokens of this machine leak in, none out. */
function cli(home, args, extra = {}) {
  const childEnv = { PATH: env.PATH ?? '', HOME: home, OMNI_AUTH_HOME: home, NO_COLOR: '1', ...extra };
  if (env.NODE_EXTRA_CA_CERTS) childEnv.NODE_EXTRA_CA_CERTS = env.NODE_EXTRA_CA_CERTS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last `error:`/`hint:` lines of a failed run: what the CLI said, never a token (it prints none). */
const said = (run) => run.stderr.trim().split('\n').filter((l) => /^(error|hint):/.test(l.trim())).join(' ') || `exit ${run.code}`;

const results = [];
function line(ok, step, detail) {
  results.push(ok);
  console.log(`${ok === true ? '✓' : ok === false ? '✗' : '!'} ${step.padEnd(17)} ${detail}`);
}

async function main() {
  if (given('OMNI_AUTH_SMOKE_NO_BUILD') !== '1') {
    const build = await new Promise((resolve) => spawn(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] }).once('close', resolve));
    if (build !== 0) {
      console.log('✗ build             npm run build failed');
      return 1;
    }
  }
  const home = await mkdtemp(join(tmpdir(), 'omni-auth-smoke-'));
  try {
    const base = ['--domain', domain, '--audience', audience];
    // 1. setup --dry-run: the plan, as JSON.
    const dry = await cli(home, ['setup', '--dry-run', '--json', ...base, ...(given('AUTH0_CLIENT_ID') ? ['--client-id', given('AUTH0_CLIENT_ID')] : [])], mgmt);
    let clientId = given('AUTH0_CLIENT_ID');
    let doc;
    try {
      doc = JSON.parse(dry.stdout);
    } catch {
      doc = undefined;
    }
    const app = doc?.plan?.steps?.find((s) => s.resource === 'application');
    clientId ??= app && app.change !== 'create' ? /\(([^()]+)\)$/.exec(app.target)?.[1] : undefined;
    if (dry.code !== 0) line(false, 'setup --dry-run', said(dry));
    else if (doc?.changed) {
      const pending = doc.plan.steps.filter((s) => s.change !== 'unchanged').map((s) => `${s.resource} ${s.change}${s.fields.length ? ` (${s.fields.join(', ')})` : ''}`);
      line(null, 'setup --dry-run', `the tenant is not fully set up; setup would change: ${pending.join('; ')}`);
    } else line(true, 'setup --dry-run', 'nothing to change: the tenant is set up');
    if (!clientId) {
      line(false, 'login', 'no CLI application: run `omni-auth setup` first, or set AUTH0_CLIENT_ID');
      return 1;
    }
    const settings = [...base, '--client-id', clientId];

    // 2. login, without touching any MCP client config.
    const login = await cli(home, ['login', '--no-write', ...settings]);
    line(login.code === 0, 'login', login.code === 0 ? `a new machine key exchanged for tokens (client ${clientId})` : said(login));

    // 3. token: from the cache now; only its expiry is shown.
    const token = await cli(home, ['token', '--format', 'json', ...settings]);
    let expires;
    try {
      expires = JSON.parse(token.stdout).expires_at;
    } catch {
      expires = undefined;
    }
    line(token.code === 0 && typeof expires === 'number', 'token',
      token.code === 0 ? `an access token, expires ${typeof expires === 'number' ? new Date(expires * 1000).toISOString() : '(unknown)'}` : said(token));

    // 4. doctor, with the Management checks.
    const doctor = await cli(home, ['doctor', '--json', ...settings], mgmt);
    let report;
    try {
      report = JSON.parse(doctor.stdout);
    } catch {
      report = undefined;
    }
    if (!report) line(false, 'doctor', said(doctor));
    else {
      const failed = report.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.detail}`);
      const warned = report.checks.filter((c) => c.status === 'warn').map((c) => c.id);
      line(failed.length === 0, 'doctor', failed.length > 0 ? `exit ${report.exit_code}: ${failed.join(' | ')}`
        : `${report.checks.length} checks, none failed${warned.length ? ` (warnings: ${warned.join(', ')})` : ''}`);
    }

    // 5. An exchange with a garbage subject token: the Action must answer 400 invalid_request.
    line(...await invalidRequestProbe(clientId));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  return results.every((ok) => ok !== false) ? 0 : 1;
}

async function invalidRequestProbe(clientId) {
  const origin = /^https?:\/\//.test(domain) ? domain.replace(/\/+$/, '') : `https://${domain.replace(/\/+$/, '')}`;
  const url = new URL('/oauth/token', origin);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || /^127\./.test(url.hostname);
  if (url.protocol !== 'https:' && !loopback) return [false, 'invalid_request', `${origin}: https:// only (http:// for loopback)`];
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: given('OMNI_AUTH_SUBJECT_TOKEN_TYPE') ?? 'urn:omnispindle:local-auth',
        subject_token: 'omni-auth-smoke-not-a-token',
        client_id: clientId,
        audience,
      }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = await res.json().catch(() => ({}));
    // The tenant's own words, shortened; no secret was sent, so nothing secret can come back.
    const words = `HTTP ${res.status} ${body.error ?? ''}${body.error_description ? `: ${String(body.error_description).slice(0, 120)}` : ''}`;
    return [res.status === 400 && body.error === 'invalid_request', 'invalid_request', words];
  } catch (e) {
    return [false, 'invalid_request', `could not reach ${url.host}: ${e?.cause?.code ?? e?.name ?? e}`];
  }
}

process.exitCode = await main();
