/**
 * Issue 11's check, for the proxy: a Streamable HTTP MCP server on loopback (the SDK's McpServer and
 * StreamableHTTPServerTransport behind requireBearerAuth) that accepts only tokens verified against
 * the emulator's JWKS (createTokenVerifier) and, from a moment the test chooses, answers 401 to tokens
 * issued before it. An SDK Client talks to the built `omni-auth proxy <url>` (StdioClientTransport)
 * and lists and calls tools before and after that moment without an error. (Built CLI: `npm run build`.)
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createTokenVerifier } from '../../src/server/index.js';
import { CLI, cleanEnv, runCli, tempHome } from '../cli/run-cli.js';
import { startTestServer, type TestServer } from './mcp-server.js';

let emu: Emulator;
let server: TestServer;
let home: string;
let env: NodeJS.ProcessEnv;
/** Tokens issued (iat) before this epoch second are refused; undefined: none is. */
let cutoff: number | undefined;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true });
  const info = emu.info();
  home = await tempHome();
  env = cleanEnv({ OMNI_AUTH_HOME: home });
  const login = await runCli(['login', '--no-write', '--domain', info.domain, '--client-id', info.client_id, '--audience', info.audience], env);
  if (login.code !== 0) throw new Error(`login: ${login.stderr}`);
  const verifier = createTokenVerifier({ domain: info.domain, audience: info.audience });
  server = await startTestServer({
    verifyAccessToken: async (token) => {
      const auth = await verifier.verifyAccessToken(token);
      const iat = auth.extra.claims.iat;
      // Only from the moment on: a refusal in the second before it would let a token renewed then
      // (iat = cutoff - 1) through once and refuse it again after the moment — a third token.
      if (cutoff !== undefined && Date.now() / 1000 >= cutoff && (typeof iat !== 'number' || iat < cutoff)) throw new InvalidTokenError('the token was issued before the cut-off');
      return auth;
    },
  }, { resourceMetadataUrl: 'http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp' });
});
afterAll(async () => {
  await server?.close();
  await emu?.close();
});

const text = (r: unknown): string => ((r as { content: { text: string }[] }).content[0]?.text ?? '');
const bearer = (h: string): string => h.replace(/^Bearer /, '');

async function cachedAccessToken(): Promise<string> {
  const doc = JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')) as { entries: Record<string, { access_token: string }> };
  return Object.values(doc.entries)[0]!.access_token;
}

describe('omni-auth proxy <url> (built CLI) against a server that starts refusing older tokens', () => {
  it('lists and calls tools before and after the moment, with no error; the token is renewed once and cached; stderr holds no token', async () => {
    const first = await cachedAccessToken();
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'proxy', server.url], env: env as Record<string, string>, cwd: home, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
      expect(new Set(server.authorizations.map(bearer))).toEqual(new Set([first]));

      // The moment (once the proxy's standalone GET stream is open, so no request is in flight across
      // it): from the next second on, tokens issued before it are refused.
      await expect.poll(() => server.gets).toBeGreaterThan(0);
      cutoff = Math.floor(Date.now() / 1000) + 1;
      await new Promise((r) => setTimeout(r, cutoff! * 1000 - Date.now() + 50));

      expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    } finally {
      await client.close();
    }
    const seen = [...new Set(server.authorizations.map(bearer))];
    expect(seen).toHaveLength(2);
    const second = seen[1]!;
    expect(decodeJwt(second).iat).toBeGreaterThanOrEqual(cutoff!);
    expect(await cachedAccessToken()).toBe(second);
    expect(server.sessions).toHaveLength(1);
    expect(stderr).toContain('refused the token (HTTP 401, invalid_token: the token was issued before the cut-off)');
    for (const t of [first, second]) expect(stderr.includes(t.split('.')[2]!)).toBe(false);
  });

  it('a client wired by `mcp add --url` (no token anywhere in its config) runs the entry as written: tools work before and after the moment', async () => {
    const userHome = await tempHome('omni-user-');
    await mkdir(join(userHome, '.cursor'), { recursive: true });
    const wiredEnv = { ...env, HOME: userHome, USERPROFILE: userHome };
    const add = await runCli(['mcp', 'add', 'tasks', '--client', 'cursor', '--url', server.url], wiredEnv);
    expect(add.code, add.stderr).toBe(0);
    const config = await readFile(join(userHome, '.cursor', 'mcp.json'), 'utf8');
    for (const t of new Set(server.authorizations.map(bearer))) expect(config).not.toContain(t.split('.')[2]);
    expect(config).not.toMatch(/eyJ[\w-]{10,}\./);
    const entry = (JSON.parse(config) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers.tasks!;
    expect(entry.args).toEqual([join(home, 'bin', 'omni-auth.cjs'), 'proxy', server.url]);

    cutoff = undefined;
    let before = 0;
    const gets = server.gets;
    // Run it the way the client would: the entry's command and args, nothing else.
    const client = new Client({ name: 'cursor-like', version: '1.0.0' });
    const tr = new StdioClientTransport({ command: entry.command, args: entry.args, env: wiredEnv as Record<string, string>, stderr: 'pipe' });
    let stderr2 = '';
    tr.stderr?.on('data', (d: Buffer) => (stderr2 += d.toString()));
    await client.connect(tr);
    try {
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'one' } }))).toBe('one');
      await expect.poll(() => server.gets).toBeGreaterThan(gets);
      before = new Set(server.authorizations).size;
      cutoff = Math.floor(Date.now() / 1000) + 1;
      await new Promise((r) => setTimeout(r, cutoff! * 1000 - Date.now() + 50));
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
      expect(text(await client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toBe('two');
    } finally {
      await client.close();
    }
    expect(new Set(server.authorizations).size).toBe(before + 1);
    expect(stderr2).not.toContain('refused the renewed token too');
    // Unwire gives the remote entry back.
    const unwire = await runCli(['mcp', 'unwire', '--client', 'cursor', '--server', 'tasks'], wiredEnv);
    expect(unwire.code, unwire.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(userHome, '.cursor', 'mcp.json'), 'utf8'))).toEqual({ mcpServers: { tasks: { url: server.url } } });
  });

  it('refuses a plain-http URL that is not loopback (exit 2), before any token is sent', async () => {
    const r = await runCli(['proxy', 'http://mcp.example.com/mcp'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[insecure_url]');
    expect(r.stdout).toBe('');
    const t = await runCli(['proxy', '--transport', 'websocket', server.url], env);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--transport must be auto, streamable-http or sse; got "websocket"');
  });
});
