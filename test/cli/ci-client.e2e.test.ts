/**
 * The CI client under attack (hostile review of issue 14 §1), the built CLI against the emulator:
 * what leaves the job is the CI token for this tenant and nothing else, and neither the request token
 * nor the CI token reaches stderr, a file, or a host the job did not name.
 *   - a --ci-token-env variable holding something else (GitLab's CI_JOB_TOKEN, garbage) is not sent;
 *   - a GitLab ID token for another audience (Vault) is not handed to Auth0;
 *   - ACTIONS_ID_TOKEN_REQUEST_URL on http:// (not loopback): the request token is not sent;
 *   - the request URL answering 500 with an HTML page, or redirecting elsewhere: no page on stderr,
 *     no redirect followed with the request token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome, type RunMark } from './run-cli.js';

let emu: Emulator;
let hostile: Server;
let hostileUrl: string;
let hostileSeen: { url: string; authorization?: string }[] = [];
let mark: RunMark;
const known = new Set<string>();
const REQUEST_TOKEN = 'request-token-of-the-job-0123456789abcdef';
const PAGE_MARKER = 'SECRET-LOOKING-PAGE-CONTENT-4242';

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  known.add(emu.info().ci.request_token);
  known.add(REQUEST_TOKEN);
  hostile = createServer((req, res) => {
    hostileSeen.push({ url: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    if (req.url?.startsWith('/html')) {
      res.statusCode = 500;
      res.setHeader('content-type', 'text/html');
      res.end(`<html><body>${PAGE_MARKER} ${req.headers.authorization ?? ''}</body></html>`);
    } else if (req.url?.startsWith('/redirect')) {
      res.statusCode = 302;
      res.setHeader('location', `${hostileUrl}/stolen`);
      res.end();
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
  hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await emu?.close();
  await new Promise<void>((r) => { hostile.closeAllConnections(); hostile.close(() => r()); });
});
beforeEach(() => {
  mark = runMark();
  hostileSeen = [];
});
afterEach(async () => {
  await expectNoSecretOnStderr(mark, known);
});

const tenantEnv = (home: string, extra: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const info = emu.info();
  return cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, ...extra });
};

async function textsUnder(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile()) parts.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return parts.join('\n');
}

async function mint(audience: string): Promise<string> {
  const { ci } = emu.info();
  const res = await fetch(`${ci.request_url}&audience=${encodeURIComponent(audience)}`, { headers: { authorization: `Bearer ${ci.request_token}` } });
  const value = ((await res.json()) as { value: string }).value;
  known.add(value.split('.')[2]!);
  return value;
}

describe('--ci gitlab sends only an ID token for this tenant', () => {
  it('a variable holding another secret (GitLab\'s CI_JOB_TOKEN) is not sent anywhere: exit 2, value not shown', async () => {
    const jobToken = 'glcbt-64_abcdefghijklmnopqrstuvwxyz012345';
    known.add(jobToken);
    const home = await tempHome();
    const res = await runCli(['token', '--ci', 'gitlab', '--ci-token-env', 'CI_JOB_TOKEN'], tenantEnv(home, { GITLAB_CI: 'true', CI_JOB_TOKEN: jobToken }));
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/CI_JOB_TOKEN does not hold an OIDC ID token/);
    expect(await textsUnder(home)).not.toContain(jobToken);
  });

  it('garbage shaped like a JWT (three segments, not JSON) is not sent either', async () => {
    const res = await runCli(['token', '--ci', 'gitlab'], tenantEnv(await tempHome(), { GITLAB_CI: 'true', OMNI_AUTH_ID_TOKEN: 'aaaa.bbbb.cccc' }));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/does not hold an OIDC ID token/);
  });

  it('an ID token whose audience is another service (or several) is not handed to Auth0', async () => {
    const forVault = await mint('https://vault.example.com');
    const res = await runCli(['token', '--ci', 'gitlab'], tenantEnv(await tempHome(), { GITLAB_CI: 'true', OMNI_AUTH_ID_TOKEN: forVault }));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('"https://vault.example.com"');
    expect(res.stderr).toContain(`aud: "${emu.issuer}"`);
  });
});

describe('exec --ci gitlab', () => {
  it('the child gets the access token but not the ID token variable --ci-token-env names', async () => {
    const idToken = await mint(emu.issuer);
    const script = 'process.stdout.write(JSON.stringify({t: process.env.AUTH0_TOKEN ?? null, id: process.env.MY_ID_TOKEN ?? null}))';
    const res = await runCli(['exec', '--ci', 'gitlab', '--ci-token-env', 'MY_ID_TOKEN', '--', process.execPath, '-e', script],
      tenantEnv(await tempHome(), { GITLAB_CI: 'true', MY_ID_TOKEN: idToken }));
    expect(res.code, res.stderr).toBe(0);
    const seen = JSON.parse(res.stdout) as { t: string | null; id: string | null };
    expect(seen.t).toMatch(/^ey/);
    expect(seen.id).toBeNull();
  });
});

describe('GitHub\'s request URL', () => {
  it('on http:// to a host that is not loopback: the request token is not sent (exit 2)', async () => {
    const res = await runCli(['token', '--ci', 'github'], tenantEnv(await tempHome(), {
      GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: 'http://pipelines.invalid/idtoken?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    }));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/only https/);
  });

  it('answering 500 with an HTML page: exit 3, the page is not on stderr', async () => {
    const res = await runCli(['token', '--ci', 'github'], tenantEnv(await tempHome(), {
      GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${hostileUrl}/html?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    }));
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/HTTP 500/);
    expect(res.stderr).not.toContain(PAGE_MARKER);
  });

  it('answering a redirect: not followed, so the request token goes nowhere else', async () => {
    const res = await runCli(['token', '--ci', 'github'], tenantEnv(await tempHome(), {
      GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${hostileUrl}/redirect?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    }));
    expect(res.code).toBe(3);
    expect(hostileSeen.map((s) => s.url.split('?')[0])).toEqual(['/redirect']);
  });

  it('a token the service returns for another audience is not handed to Auth0 (exit 2)', async () => {
    // The stand-in issuer takes the first `audience` parameter: a request URL that already carries one wins over ours.
    const { ci } = emu.info();
    const res = await runCli(['token', '--ci', 'github'], tenantEnv(await tempHome(), {
      GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${ci.request_url}&audience=${encodeURIComponent('https://vault.example.com')}`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: ci.request_token,
    }));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('"https://vault.example.com"');
  });
});
