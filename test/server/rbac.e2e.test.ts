/**
 * Issue 12 "How it will be checked", with real RBAC: examples/mcp-server/server.mjs (the SDK's
 * McpServer with omni-auth/server's createTokenVerifier + protectTools) against the emulator, called
 * by the MCP SDK's Client. A person signs in (`omni-auth login --browser`, the page filled in over
 * plain HTTP) and gets tokens with the built CLI (`omni-auth token`). The API has RBAC on with
 * "Add Permissions in the Access Token" (access_token_authz), set through the official Auth0
 * Management SDK, which also assigns the role. No token here is signed by the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithToken, refusal, text } from './mcp-client.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { CLI, allStderr, allStdout, cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome, type CliResult } from '../cli/run-cli.js';
import { freePort } from '../signin/fake-tenant.js';
import { managementSdk, managementToken } from '../emulator/helpers.js';
import { registerCallback, signInOnPage } from '../emulator/signin-helpers.js';

const EXAMPLE = join(packageRoot(), 'examples', 'mcp-server', 'server.mjs');
const PERSON = { email: 'robin@example.com', password: 'robin-password-1', name: 'Robin' };
const OTHER_API = 'https://other-mcp.example/api';

let emu: Emulator;
let other: Emulator;
let child: ChildProcess;
let url: string;
let mgmt: ReturnType<typeof managementSdk>;
let personId: string;
let roleId: string;
let home: string;
const tokens: string[] = [];

const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const info = emu.info();
  return cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, OMNI_AUTH_NO_BROWSER: '1', ...extra });
};

async function startExample(): Promise<void> {
  const info = emu.info();
  child = spawn(process.execPath, [EXAMPLE], { env: { ...cleanEnv(), OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_AUDIENCE: info.audience, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the example exited (${code}): ${stderr}`)));
  });
  url = (JSON.parse(line) as { url: string }).url;
}

/** `omni-auth login --browser`: the CLI waits on its loopback; the "browser" signs the person in on the page. */
async function personLogin(): Promise<void> {
  const port = await freePort();
  await registerCallback(emu, `http://127.0.0.1:${port}/callback`);
  const urlFile = join(home, 'url.txt');
  const browser = join(home, 'record-url.sh');
  await writeFile(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${urlFile}'\n`);
  await chmod(browser, 0o755);
  const login = spawn(process.execPath, [CLI, 'login', '--browser', '--no-write', '--callback-port', String(port)], {
    env: env({ BROWSER: browser, OMNI_AUTH_NO_BROWSER: undefined }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  login.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  login.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => login.on('close', (code) => {
    allStderr.push(stderr);
    allStdout.push(stdout);
    resolve(code);
  }));
  const { readFile } = await import('node:fs/promises');
  let authorizeUrl = '';
  while (!authorizeUrl) {
    authorizeUrl = (await readFile(urlFile, 'utf8').catch(() => '')).trim().split('\n')[0] ?? '';
    if (!authorizeUrl) await new Promise((r) => setTimeout(r, 50));
  }
  const page = await signInOnPage(authorizeUrl, PERSON);
  await fetch(page.location!);
  expect(await done, stderr).toBe(0);
}

/** A new token with the built CLI (the cache emptied first, so the tenant is asked again). */
async function freshToken(extra: Record<string, string | undefined> = {}, h = home): Promise<string> {
  await rm(join(h, 'tokens.json'), { force: true });
  const r = await runCli(['token'], env({ OMNI_AUTH_HOME: h, ...extra }));
  expect(r.code, r.stderr).toBe(0);
  const token = r.stdout.trim();
  tokens.push(token);
  return token;
}

async function verify(token: string, args: string[]): Promise<CliResult & { doc: Record<string, any> }> {
  const r = await new Promise<CliResult>((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'verify', '-', '--json', ...args], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    p.stdin.end(token);
  });
  allStderr.push(r.stderr);
  allStdout.push(r.stdout);
  return { ...r, doc: JSON.parse(r.stdout) as Record<string, any> };
}

const connect = (token: string): Promise<Client> => connectWithToken(url, token, 'omni-auth-rbac-test');

async function httpStatus(token: string): Promise<{ status: number; challenge: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
  });
  await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '' };
}

const mark = runMark();

beforeAll(async () => {
  [emu, other] = await Promise.all([
    startEmulator({ provisioned: true, identity: 'person' }),
    startEmulator({ provisioned: true }),
  ]);
  home = await tempHome('omni-rbac-');
  mgmt = managementSdk(emu, await managementToken(emu));
  const audience = emu.info().audience;
  // RBAC on the API, "Add Permissions in the Access Token", the tools' permissions as API scopes.
  await mgmt.resourceServers.update(audience, {
    enforce_policies: true, token_dialect: 'access_token_authz',
    scopes: [{ value: 'tool:echo', description: 'call echo' }, { value: 'tool:add', description: 'call add' }],
  });
  const role = await mgmt.roles.create({ name: 'mcp-echo', description: 'may call echo' });
  roleId = role.id!;
  await mgmt.roles.permissions.add(roleId, { permissions: [{ resource_server_identifier: audience, permission_name: 'tool:echo' }] });
  personId = (await mgmt.users.create({ connection: 'Username-Password-Authentication', ...PERSON })).user_id!;
  // A second API on the same tenant, for the wrong-audience token.
  await mgmt.resourceServers.create({ identifier: OTHER_API, name: 'another MCP server', skip_consent_for_verifiable_first_party_clients: true });
  await startExample();
  await personLogin();
}, 90_000);
afterAll(async () => {
  child?.kill('SIGTERM');
  await Promise.all([emu?.close(), other?.close()]);
});

describe('per-tool RBAC end to end: emulator, omni-auth CLI, example MCP server', () => {
  let before: string;

  it('the person\'s token without the role: a protected tool is refused naming tool:<name>; verify explains why', async () => {
    before = await freshToken();
    expect(decodeJwt(before)).toMatchObject({ sub: personId, permissions: [] });
    const client = await connect(before);
    try {
      expect(JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))).toEqual({ sub: personId, permissions: [] });
      const echo = await refusal(client.callTool({ name: 'echo', arguments: { text: 'hi' } }));
      expect(echo.message).toContain('tool:echo');
      expect(echo.data).toMatchObject({ reason: 'missing_permission', permission: ['tool:echo'] });
    } finally {
      await client.close();
    }
    const v = await verify(before, ['--require-permission', 'tool:echo']);
    expect(v.code).toBe(3);
    expect(v.doc.refusals.map((x: { code: string }) => x.code)).toEqual(['missing_permission']);
    expect(JSON.stringify(v.doc.refusals)).toContain('tool:echo');
  }, 60_000);

  it('after the role is assigned with the Auth0 Management SDK, a new token (omni-auth token) opens the tool; another tool stays closed', async () => {
    await mgmt.users.roles.assign(personId, { roles: [roleId] });
    // The token issued before the assignment is unchanged: tokens are not rewritten.
    const client0 = await connect(before);
    try {
      expect((await refusal(client0.callTool({ name: 'echo', arguments: { text: 'x' } }))).message).toContain('tool:echo');
    } finally {
      await client0.close();
    }
    const after = await freshToken();
    expect(decodeJwt(after)).toMatchObject({ sub: personId, permissions: ['tool:echo'] });
    const client = await connect(after);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
      const add = await refusal(client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }));
      expect(add.message).toContain('tool:add');
    } finally {
      await client.close();
    }
    const ok = await verify(after, ['--require-permission', 'tool:echo']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.doc.refusals ?? []).toEqual([]);
    const notAdd = await verify(after, ['--require-permission', 'tool:add']);
    expect(notAdd.code).toBe(3);
    expect(JSON.stringify(notAdd.doc.refusals)).toContain('tool:add');
  }, 60_000);

  it('a token for another audience (same tenant, same person) is refused by the server, and verify says audience_mismatch', async () => {
    const wrong = await freshToken({ OMNI_AUTH_AUDIENCE: OTHER_API });
    expect(decodeJwt(wrong)).toMatchObject({ sub: personId });
    const r = await httpStatus(wrong);
    expect(r.status).toBe(401);
    expect(r.challenge).toContain('[audience_mismatch]');
    const v = await verify(wrong, ['--require-permission', 'tool:echo']);
    expect(v.code).toBe(3);
    expect(v.doc.refusals.map((x: { code: string }) => x.code)).toContain('audience_mismatch');
  }, 60_000);

  it('a token from another issuer (another tenant) is refused by the server, and verify explains it', async () => {
    const otherHome = await tempHome('omni-rbac-other-');
    const info = other.info();
    const r0 = await runCli(['token'], cleanEnv({ OMNI_AUTH_HOME: otherHome, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience }));
    expect(r0.code, r0.stderr).toBe(0);
    const foreign = r0.stdout.trim();
    tokens.push(foreign);
    const r = await httpStatus(foreign);
    expect(r.status).toBe(401);
    const v = await verify(foreign, ['--require-permission', 'tool:echo']);
    expect(v.code).toBe(3);
    expect(v.doc.refusals.map((x: { code: string }) => x.code)).toContain('unknown_key');
    expect(v.doc).toMatchObject({ signature_valid: false, unverified: { iss: other.issuer } });
  }, 60_000);

  it('never printed a token on stderr', async () => {
    await expectNoSecretOnStderr(mark, tokens);
  });
});
