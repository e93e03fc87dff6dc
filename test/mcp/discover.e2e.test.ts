/**
 * Issue 11 §2, zero-config from a server URL (built CLI: `npm run build`). A Streamable HTTP MCP server
 * on loopback (the SDK's, behind requireBearerAuth with createTokenVerifier against the emulator, and
 * serving protectedResourceMetadata) is the only thing `mcp add NAME --url` is told about: it
 * discovers the domain and audience, saves them, wires the entry through the proxy, and `token`
 * works. A metadata document whose issuer the discovery does not confirm, and plain-http servers and
 * authorization servers off this machine, are refused. `doctor` checks the server.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createTokenVerifier, protectedResourceMetadata } from '../../src/server/index.js';
import { cleanEnv, runCli, tempHome } from '../cli/run-cli.js';

type Req = import('node:http').IncomingMessage & { body?: unknown };
type Res = import('node:http').ServerResponse & { status(code: number): Res; json(v: unknown): void };

interface TestServer {
  url: string;
  origin: string;
  /** Replaces the served metadata document (undefined: the real one). */
  metadata?: Record<string, unknown>;
  /** The OIDC discovery this server itself serves at its origin (for a mix-up attempt). */
  discovery?: Record<string, unknown>;
  /** Every token is refused. */
  refuseAll: boolean;
  close(): Promise<void>;
}

let emu: Emulator;
let server: TestServer;

/**
 * The server listens first (its URL is the resource, so the emulator's API identifier); the verifier
 * is created once the emulator is up.
 */
async function startServer(getVerifier: () => ReturnType<typeof createTokenVerifier>, getDomain: () => string): Promise<TestServer> {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  const listener: Server = await new Promise((resolve) => {
    const l = app.listen(0, '127.0.0.1', () => resolve(l));
  });
  const { port } = listener.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const state: TestServer = {
    url: `${origin}/mcp`,
    origin,
    refuseAll: false,
    close: async () => {
      listener.closeAllConnections();
      await new Promise<void>((r) => listener.close(() => r()));
    },
  };
  const prm = () => protectedResourceMetadata({ resource: state.url, domain: getDomain() });
  app.get('/.well-known/oauth-protected-resource/mcp', (_req: Req, res: Res) => res.json(state.metadata ?? prm().document));
  app.get('/.well-known/openid-configuration', (_req: Req, res: Res) => (state.discovery ? res.json(state.discovery) : res.status(404).json({})));
  const auth = requireBearerAuth({
    verifier: {
      verifyAccessToken: async (token: string) => {
        if (state.refuseAll) throw new InvalidTokenError('refused by the test');
        return getVerifier().verifyAccessToken(token);
      },
    },
    resourceMetadataUrl: `${origin}/.well-known/oauth-protected-resource/mcp`,
  });
  app.post('/mcp', auth, async (req: Req, res: Res) => {
    const mcp = new McpServer({ name: 'discover-test', version: '1.0.0' });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  return state;
}

let verifier: ReturnType<typeof createTokenVerifier>;
beforeAll(async () => {
  server = await startServer(() => verifier, () => emu.info().domain);
  emu = await startEmulator({ provisioned: true, audience: server.url });
  verifier = createTokenVerifier({ domain: emu.info().domain, audience: emu.info().audience });
});
afterAll(async () => {
  await server?.close();
  await emu?.close();
});

/** A fresh user home with an (empty) Cursor config, and an omni-auth home with no settings. */
async function freshHome(): Promise<{ env: NodeJS.ProcessEnv; cursor: string; omni: string }> {
  const home = await tempHome();
  const cursor = join(home, '.cursor', 'mcp.json');
  await mkdir(join(home, '.cursor'), { recursive: true });
  await writeFile(cursor, '{ "mcpServers": {} }\n');
  const omni = join(home, 'omni');
  return { env: cleanEnv({ HOME: home, USERPROFILE: home, XDG_CONFIG_HOME: join(home, '.config'), OMNI_AUTH_HOME: omni }), cursor, omni };
}

describe('mcp add NAME --url with no settings (issue 11 §2)', () => {
  it('discovers domain and audience, saves them after --yes, wires the entry through the proxy with no token, and token works', async () => {
    const { env, cursor, omni } = await freshHome();
    const info = emu.info();
    const add = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--yes', '--client-id', info.client_id, '--client', 'cursor'], env);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain(`issuer             ${info.domain}/`);
    expect(add.stderr).toContain(`audience           ${server.url}`);
    expect(JSON.parse(await readFile(join(omni, 'settings.json'), 'utf8'))).toEqual({ domain: info.domain, client_id: info.client_id, audience: server.url });
    const entry = JSON.parse(await readFile(cursor, 'utf8')).mcpServers.remote as { command: string; args: string[] };
    expect(entry.args.slice(-2)).toEqual(['proxy', server.url]);
    const token = await runCli(['token'], env);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toMatch(/^ey/);
    expect(await readFile(cursor, 'utf8')).not.toContain(token.stdout.trim());
    expect(add.stderr + token.stderr).not.toContain(token.stdout.trim());
    // The token is one the server accepts.
    await expect(verifier.verifyAccessToken(token.stdout.trim())).resolves.toMatchObject({ extra: { sub: expect.any(String) } });
  });

  it('without --yes and no terminal, says what it found and saves nothing; without a client id, says how to give one', async () => {
    const { env, omni } = await freshHome();
    const noYes = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--client-id', 'abc', '--client', 'cursor'], env);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain(`audience           ${server.url}`);
    expect(noYes.stderr).toMatch(/--yes/);
    const noId = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--yes', '--client', 'cursor'], env);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/--client-id <id> \(or set OMNI_AUTH_CLIENT_ID\)/);
    const dry = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--dry-run', '--client', 'cursor'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`audience           ${server.url}`);
    expect(dry.stderr).toMatch(/dry run: the domain and audience would be saved/);
    await expect(readFile(join(omni, 'settings.json'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses metadata whose issuer the authorization server\'s discovery does not confirm (mix-up), and saves nothing', async () => {
    const { env, omni } = await freshHome();
    // The metadata names the server's own origin as the authorization server; its discovery claims the emulator's issuer.
    server.metadata = { resource: server.url, authorization_servers: [`${server.origin}/`] };
    server.discovery = { issuer: `${emu.info().domain}/`, token_endpoint: `${emu.info().domain}/oauth/token` };
    try {
      const r = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--yes', '--client-id', 'abc', '--client', 'cursor'], env);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/discovery names the issuer "http:\/\/127\.0\.0\.1:\d+\/", not "http:\/\/127\.0\.0\.1:\d+\/"/);
      await expect(readFile(join(omni, 'settings.json'))).rejects.toThrow(/ENOENT/);
    } finally {
      delete server.metadata;
      delete server.discovery;
    }
  });

  it('refuses a plain-http server off this machine, and a plain-http authorization server off this machine', async () => {
    const { env, omni } = await freshHome();
    const r = await runCli(['mcp', 'add', 'remote', '--url', 'http://mcp.example.com/mcp', '--yes', '--client-id', 'abc', '--client', 'cursor'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/http:\/\/ is accepted for localhost only|only https/);
    server.metadata = { resource: server.url, authorization_servers: ['http://tenant.example.com/'] };
    try {
      const a = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--yes', '--client-id', 'abc', '--client', 'cursor'], env);
      expect(a.code).toBe(2);
      expect(a.stderr).toMatch(/refusing the authorization server http:\/\/tenant\.example\.com/);
    } finally {
      delete server.metadata;
    }
    await expect(readFile(join(omni, 'settings.json'))).rejects.toThrow(/ENOENT/);
  });
});

describe('mcp add NAME --url when the server cannot be reached', () => {
  it('warns that nothing was discovered and still adds the entry, saving no settings', async () => {
    const { env, cursor, omni } = await freshHome();
    const down = await startServer(() => verifier, () => emu.info().domain);
    await down.close();
    const r = await runCli(['mcp', 'add', 'down', '--url', down.url, '--yes', '--client-id', 'abc', '--client', 'cursor'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/could not discover the settings: could not reach 127\.0\.0\.1:\d+/);
    expect(JSON.parse(await readFile(cursor, 'utf8')).mcpServers.down.args.slice(-2)).toEqual(['proxy', down.url]);
    await expect(readFile(join(omni, 'settings.json'))).rejects.toThrow(/ENOENT/);
  });
});

describe('doctor: the remote server check (issue 11 §2)', () => {
  it('passes against the wired server (metadata, issuer, token accepted) and fails when the server rejects the token', async () => {
    const { env } = await freshHome();
    const info = emu.info();
    const add = await runCli(['mcp', 'add', 'remote', '--url', server.url, '--yes', '--client-id', info.client_id, '--client', 'cursor'], env);
    expect(add.code, add.stderr).toBe(0);

    const ok = await runCli(['doctor', '--json'], env);
    const check = (out: string) => (JSON.parse(out) as { checks: { id: string; status: string; detail: string }[] }).checks.find((c) => c.id === 'remote-server');
    expect(check(ok.stdout), ok.stdout).toMatchObject({ status: 'pass', detail: expect.stringContaining('the token was accepted') });

    server.refuseAll = true;
    try {
      const bad = await runCli(['doctor', '--json', '--server-url', server.url], env);
      expect(bad.code).not.toBe(0);
      expect(check(bad.stdout)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/refused the token: HTTP 401 \(invalid_token/) });
    } finally {
      server.refuseAll = false;
    }
  });
});
