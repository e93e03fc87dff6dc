/**
 * Issue 11's check, for the proxy: a Streamable HTTP MCP server on loopback (the SDK's McpServer and
 * StreamableHTTPServerTransport behind requireBearerAuth) that accepts only tokens verified against
 * the emulator's JWKS (createTokenVerifier) and, from a moment the test chooses, answers 401 to tokens
 * issued before it. An SDK Client talks to the built `omni-auth proxy <url>` (StdioClientTransport)
 * and lists and calls tools before and after that moment without an error. (Built CLI: `npm run build`.)
 */
import { readFile } from 'node:fs/promises';
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
      if (cutoff !== undefined && (typeof iat !== 'number' || iat < cutoff)) throw new InvalidTokenError('the token was issued before the cut-off');
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

      // The moment: from the next second on, tokens issued before it are refused.
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

  it('refuses a plain-http URL that is not loopback (exit 2), before any token is sent', async () => {
    const r = await runCli(['proxy', 'http://mcp.example.com/mcp'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[insecure_url]');
    expect(r.stdout).toBe('');
  });
});
