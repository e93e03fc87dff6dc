/**
 * examples/mcp-server/server.mjs (built omni-auth/server, the SDK's McpServer + requireBearerAuth)
 * against the emulator, called by the SDK's MCP client over Streamable HTTP with a bearer token.
 *
 * The person's token comes from the built CLI (`omni-auth token`). The API has RBAC on with the
 * access_token_authz dialect (set with the Auth0 Management SDK), so tokens carry `permissions`; a
 * permission is granted through the SDK and a new token fetched. Tokens with claims no grant issues
 * (another issuer with the tenant's key, scope-only permissions) are signed test-only (signedByTenant).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithToken, refusal, text } from './mcp-client.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { rm } from 'node:fs/promises';
import { cleanEnv, runCli, tempHome } from '../cli/run-cli.js';
import { managementSdk, managementToken } from '../emulator/helpers.js';
import { exchangedToken, signedByTenant } from './helpers.js';

const EXAMPLE = join(packageRoot(), 'examples', 'mcp-server', 'server.mjs');

let emu: Emulator;
let other: Emulator;
let child: ChildProcess;
let url: string;
let metadataUrl: string;
let personToken: string;
let home: string;
let tokenEnv: NodeJS.ProcessEnv;

async function startExample(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; line: { url: string; metadata: string } }> {
  if (!existsSync(join(packageRoot(), 'dist', 'server.js'))) throw new Error('dist/server.js is missing: run "npm run build" first');
  const proc = spawn(process.execPath, [EXAMPLE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`the example exited (${code}): ${stderr}`)));
  });
  return { child: proc, line: JSON.parse(line) as { url: string; metadata: string } };
}

beforeAll(async () => {
  [emu, other] = await Promise.all([startEmulator({ provisioned: true }), startEmulator({ provisioned: true })]);
  const info = emu.info();
  const started = await startExample({ ...cleanEnv(), OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_AUDIENCE: info.audience, PORT: '0' });
  child = started.child;
  ({ url, metadata: metadataUrl } = started.line);
  // RBAC with "Add Permissions in the Access Token", the tools' permissions defined on the API.
  await managementSdk(emu, await managementToken(emu)).resourceServers.update(info.audience, {
    enforce_policies: true, token_dialect: 'access_token_authz', scopes: [{ value: 'tool:echo' }, { value: 'tool:add' }],
  });
  home = await tempHome();
  tokenEnv = cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience });
  const token = await runCli(['token'], tokenEnv);
  if (token.code !== 0) throw new Error(`omni-auth token: ${token.stderr}`);
  personToken = token.stdout.trim();
});
afterAll(async () => {
  child?.kill('SIGTERM');
  await Promise.all([emu?.close(), other?.close()]);
});

const connect = (token: string): Promise<Client> => connectWithToken(url, token, 'omni-auth-test');

describe('the example MCP server with omni-auth/server, against the emulator', () => {
  it('a person\'s token (omni-auth token): the public tool works and tells who they are', async () => {
    const client = await connect(personToken);
    try {
      const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))) as { sub: string; permissions: string[] };
      expect(who.sub).toMatch(/^auth0\|omni-/);
      expect(who.permissions).toEqual([]);
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['add', 'echo', 'whoami']);
    } finally {
      await client.close();
    }
  });

  it('a protected tool without the permission: a JSON-RPC error naming tool:<name>, not a tool result', async () => {
    const client = await connect(personToken);
    try {
      const echo = await refusal(client.callTool({ name: 'echo', arguments: { text: 'hi' } }));
      expect(echo.code).toBe(-32003);
      expect(echo.message).toContain('tool:echo');
      expect(echo.data).toEqual({ reason: 'missing_permission', tool: 'echo', permission: ['tool:echo'] });
      expect((await refusal(client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }))).message).toContain('tool:add');
      const unknown = await refusal(client.callTool({ name: 'rm_rf', arguments: {} }));
      expect(unknown.data).toMatchObject({ reason: 'no_rule' });
    } finally {
      await client.close();
    }
  });

  it('with the permission granted (Management SDK) and a new token: the tool runs; another tool stays refused', async () => {
    const sub = decodeJwt(personToken).sub!;
    await managementSdk(emu, await managementToken(emu)).users.permissions.create(sub, {
      permissions: [{ resource_server_identifier: emu.info().audience, permission_name: 'tool:echo' }],
    });
    await rm(join(home, 'tokens.json'));
    const fresh = await runCli(['token'], tokenEnv);
    expect(fresh.code, fresh.stderr).toBe(0);
    const token = fresh.stdout.trim();
    expect(decodeJwt(token)).toMatchObject({ sub, permissions: ['tool:echo'] });
    const client = await connect(token);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hello' } }))).toBe('hello');
      expect((await refusal(client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }))).message).toContain('tool:add');
    } finally {
      await client.close();
    }
  });

  it('the permission in scope only (no RBAC claim) does not open a tool', async () => {
    const client = await connect(await signedByTenant(emu, { claims: { scope: 'openid tool:echo' } }));
    try {
      expect((await refusal(client.callTool({ name: 'echo', arguments: { text: 'x' } }))).message).toContain('tool:echo');
    } finally {
      await client.close();
    }
  });

  it.each([
    ['another audience', async () => signedByTenant(emu, { audience: 'https://other.example/api', claims: { permissions: ['tool:echo'] } }), 'audience_mismatch'],
    ['another issuer (another tenant\'s token)', async () => exchangedToken(other), 'unknown_key'],
    ['the tenant\'s key, another issuer', async () => signedByTenant(emu, { issuer: 'https://evil.example/' }), 'issuer_mismatch'],
    ['no token', async () => '', ''],
  ])('a token for %s: HTTP 401 with the resource metadata URL', async (_, make, code) => {
    const token = await make();
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`resource_metadata="${metadataUrl}"`);
    if (code) expect(challenge).toContain(`[${code}]`);
    if (token) await expect(connect(token)).rejects.toThrow();
  });

  it('serves its RFC 9728 metadata naming the tenant', async () => {
    const res = await fetch(metadataUrl);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      resource: url,
      authorization_servers: [emu.issuer],
      jwks_uri: `${emu.domain}/.well-known/jwks.json`,
      bearer_methods_supported: ['header'],
      scopes_supported: ['tool:echo', 'tool:add'],
      resource_name: 'omni-auth example',
    });
    expect(metadataUrl).toBe(new URL('/.well-known/oauth-protected-resource/mcp', url).href);
  });
});
