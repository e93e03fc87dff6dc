/**
 * `omni-auth proxy <url> --grant client-credentials` end to end (issue 12 §4): `setup --m2m` registers
 * this home's client key as the Private Key JWT credential of an M2M application; the built proxy then
 * bridges an SDK Client (stdio) to a Streamable HTTP MCP server that accepts only tokens verified
 * against the emulator's JWKS. The server receives the application's own client-credentials token
 * (sub `<client id>@clients`), with no secret in the environment or in the home's files.
 * (Built CLI: `npm run build`.)
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createTokenVerifier } from '../../src/server/index.js';
import { CLI, cleanEnv, runCli, tempHome } from '../cli/run-cli.js';
import { startTestServer, type TestServer } from './mcp-server.js';

let emu: Emulator;
let server: TestServer;
let home: string;
let m2mId: string;
let managementSecret: string;

const tokenRequests = (): number => emu.tenant.stats.requests['POST /oauth/token'] ?? 0;

beforeAll(async () => {
  emu = await startEmulator();
  home = await tempHome('omni-proxy-m2m-');
  const { management, audience } = emu.info();
  managementSecret = management.client_secret;
  const setup = await runCli(['setup', '--domain', emu.domain, '--audience', audience, '--m2m'],
    cleanEnv({ OMNI_AUTH_HOME: home, AUTH0_MGMT_CLIENT_ID: management.client_id, AUTH0_MGMT_CLIENT_SECRET: management.client_secret }));
  expect(setup.code, setup.stderr).toBe(0);
  m2mId = JSON.parse(await readFile(join(home, 'm2m.json'), 'utf8')).client_id;
  server = await startTestServer(createTokenVerifier({ domain: emu.domain, audience }));
}, 60_000);
afterAll(async () => {
  await server?.close();
  await emu?.close();
});

const text = (r: unknown): string => ((r as { content: { text: string }[] }).content[0]?.text ?? '');
const bearer = (h: string): string => h.replace(/^Bearer /, '');

describe('omni-auth proxy <url> --grant client-credentials (built CLI)', () => {
  it("the MCP server gets the application's client-credentials token, with no secret configured anywhere", async () => {
    // Only the home in the environment; none of its files holds a client secret.
    const env = cleanEnv({ OMNI_AUTH_HOME: home });
    expect(Object.keys(env).filter((k) => /SECRET|OMNI_AUTH_CLIENT_KEY|AUTH0_MGMT/.test(k))).toEqual([]);
    for (const f of await readdir(home)) {
      const body = await readFile(join(home, f), 'utf8').catch(() => '');
      expect(body).not.toMatch(/client_secret/);
      expect(body).not.toContain(managementSecret);
    }
    const before = tokenRequests();

    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'proxy', '--grant', 'client-credentials', server.url], env: env as Record<string, string>, cwd: home, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'e2e-m2m', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'machine' } }))).toBe('machine');
    } finally {
      await client.close();
    }

    // One token, on every request the server saw; one token request to the emulator.
    const seen = [...new Set(server.authorizations.map(bearer))];
    expect(seen).toHaveLength(1);
    const token = seen[0]!;
    expect(tokenRequests()).toBe(before + 1);
    // Verified independently against the emulator's published JWKS.
    const jwks = createRemoteJWKSet(new URL(`${emu.issuer}.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { issuer: emu.issuer, audience: emu.info().audience });
    expect(payload).toMatchObject({ sub: `${m2mId}@clients`, gty: 'client-credentials' });
    // Cached under the grant's own entry, as `token --grant client-credentials` would.
    const entries = JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')).entries as Record<string, { access_token: string }>;
    expect(Object.keys(entries)).toEqual([`${emu.domain}|${m2mId}|${emu.info().audience}||client-credentials`]);
    expect(Object.values(entries)[0]!.access_token).toBe(token);
    expect(stderr.includes(token.split('.')[2]!)).toBe(false);
    expect(stderr).not.toContain('BEGIN');
  });
});
