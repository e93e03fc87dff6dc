/**
 * The proxy in process (src/proxy/bridge.ts): an SDK Client on one side of a pair of streams (the
 * client's stdio), a real Streamable HTTP MCP server on loopback on the other, tokens from a fake
 * BearerSource the test controls. What must pass through does; a refused token is renewed once.
 */
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ListRootsRequestSchema, LoggingMessageNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { PROXY_ERRORS, startProxy, type BearerSource, type RunningProxy } from '../../src/proxy/index.js';
import { startLegacySseServer, startTestServer, type TestServer } from './mcp-server.js';

const METADATA = 'http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp';

/** Tokens `tok-1`, `tok-2`, …; the server accepts those in `accepted`. */
function fakeTokens(): BearerSource & { n: number; renewals: string[]; accepted: Set<string> } {
  const s = {
    n: 1,
    renewals: [] as string[],
    accepted: new Set(['tok-1']),
    current: async () => `tok-${s.n}`,
    renew: async (refused: string) => {
      s.renewals.push(refused);
      s.n++;
      return `tok-${s.n}`;
    },
  };
  return s;
}

const verifierFor = (accepted: Set<string>) => ({
  verifyAccessToken: async (token: string): Promise<AuthInfo> => {
    if (!accepted.has(token)) throw new InvalidTokenError('token issued before the cut-off');
    return { token, clientId: 'c', scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600 };
  },
});

interface Rig {
  client: Client;
  proxy: RunningProxy;
  warnings: string[];
  stdin: PassThrough;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close().catch(() => undefined);
});

async function rig(url: string, tokens: BearerSource, extra: Partial<Parameters<typeof startProxy>[0]> = {}): Promise<Rig> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const warnings: string[] = [];
  const proxy = startProxy({ url: new URL(url), tokens, warn: (m) => warnings.push(m), input: stdin, output: stdout, reconnection: { initialDelayMs: 50, maxDelayMs: 200 }, ...extra });
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: { roots: {} } });
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work/repo', name: 'repo' }] }));
  await client.connect(new StdioServerTransport(stdout, stdin));
  open.push({ close: async () => {
    await client.close();
    stdin.end();
    await proxy.done;
  } });
  return { client, proxy, warnings, stdin };
}

const text = (r: unknown): string => ((r as { content: { text: string }[] }).content[0]?.text ?? '');

async function server(tokens: ReturnType<typeof fakeTokens>): Promise<TestServer> {
  const s = await startTestServer(verifierFor(tokens.accepted), { resourceMetadataUrl: METADATA });
  open.push(s);
  return s;
}

describe('omni-auth proxy, in process (stdio ⇄ Streamable HTTP)', () => {
  it('sends the token with every request; a 401 renews once (forced past the refused token) and retries, in the same session', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client, proxy, warnings } = await rig(s.url, tokens);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['ask', 'echo', 'notify', 'slow']);
    expect(proxy.kind()).toBe('streamable-http');
    // The moment: tok-1 is refused from now on, tok-2 accepted.
    tokens.accepted.clear();
    tokens.accepted.add('tok-2');
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
    expect(tokens.renewals).toEqual(['tok-1']);
    expect(s.authorizations.filter((a) => a === 'Bearer tok-1').length).toBeGreaterThan(0);
    expect(s.authorizations.at(-1)).toBe('Bearer tok-2');
    expect(s.authorizations.every((a) => /^Bearer tok-\d$/.test(a))).toBe(true);
    expect(s.sessions).toHaveLength(1);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'again' } }))).toBe('again');
    expect(tokens.renewals).toHaveLength(1);
    expect(warnings.join('\n')).toContain('HTTP 401, invalid_token');
    expect(warnings.join('\n')).not.toMatch(/tok-\d/);
  });

  it('a renewed token refused too: a JSON-RPC error (-32001) that says so, with the parsed WWW-Authenticate; one renewal per refusal', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client, warnings } = await rig(s.url, tokens);
    await client.listTools();
    tokens.accepted.clear();
    const e = await client.callTool({ name: 'echo', arguments: { text: 'x' } }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(McpError);
    const err = e as McpError;
    expect(err.code).toBe(PROXY_ERRORS.unauthorized);
    expect(err.message).toContain('refused omni-auth\'s token, and a renewed one too (HTTP 401, invalid_token: token issued before the cut-off)');
    expect(err.data).toMatchObject({ reason: 'unauthorized', status: 401, www_authenticate: { error: 'invalid_token', error_description: 'token issued before the cut-off', resource_metadata: METADATA } });
    expect(tokens.renewals).toEqual(['tok-1']);
    expect(JSON.stringify(err.data) + err.message + warnings.join('\n')).not.toMatch(/tok-\d/);
  });

  it('a server that echoes the token in its challenge or body: redacted on stderr and in the error the client gets', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const tokens = { current: async () => jwt, renew: async () => jwt };
    const echo = async (_url: string | URL, init?: RequestInit): Promise<Response> => {
      const auth = new Headers(init?.headers).get('authorization') ?? '';
      return new Response(`you sent ${auth}`, { status: 401, headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="bad token ${auth.slice(7)}"` } });
    };
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const warnings: string[] = [];
    const proxy = startProxy({ url: new URL('https://mcp.example.com/mcp'), tokens, warn: (m) => warnings.push(m), input: stdin, output: stdout, fetch: echo });
    open.push({ close: async () => {
      stdin.end();
      await proxy.done;
    } });
    const line = new Promise<string>((r) => stdout.once('data', (d: Buffer) => r(d.toString())));
    stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } })}\n`);
    const answer = JSON.parse(await line) as { id: number; error: { code: number; message: string; data: unknown } };
    expect(answer).toMatchObject({ id: 1, error: { code: PROXY_ERRORS.unauthorized } });
    const all = `${warnings.join('\n')}\n${JSON.stringify(answer)}`;
    expect(all).toContain('bad token [redacted]');
    expect(all).not.toContain(jwt.split('.')[2]);
  });

  it('passes server→client requests (roots/list) and notifications (logging) to the client', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client } = await rig(s.url, tokens);
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    expect(text(await client.callTool({ name: 'ask', arguments: {} }))).toBe('file:///work/repo');
    expect(text(await client.callTool({ name: 'notify', arguments: {} }))).toBe('sent');
    await expect.poll(() => logs).toEqual(['hello from the server']);
  });

  it('the event stream (GET) refused at its first opening, renewed token too: reopened after the next request that goes through', async () => {
    const tokens = fakeTokens();
    tokens.accepted.add('tok-2');
    const s = await server(tokens);
    s.refuseGets(2);
    const { client, warnings } = await rig(s.url, tokens);
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
    await expect.poll(() => warnings.some((w) => /Failed to open SSE stream/.test(w))).toBe(true);
    expect(s.gets).toBe(2);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'x' } }))).toBe('x');
    await expect.poll(() => s.gets).toBe(3);
    // A notification outside any request (the standalone stream's) reaches the client again.
    await expect.poll(async () => {
      await s.broadcast('on the stream');
      return logs;
    }).toContain('on the stream');
  });

  it('passes cancellation (notifications/cancelled) and progress through', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client } = await rig(s.url, tokens);
    const abort = new AbortController();
    const progress: number[] = [];
    const call = client.callTool({ name: 'slow', arguments: {} }, undefined, {
      signal: abort.signal,
      onprogress: (p) => {
        progress.push(p.progress);
        abort.abort('enough');
      },
    });
    await expect(call).rejects.toThrow();
    expect(progress).toEqual([1]);
    await expect.poll(() => s.cancelled).toBe(1);
  });

  it('after a network drop the request fails with a JSON-RPC error (-32002) and the next one goes through, same session', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client } = await rig(s.url, tokens);
    await client.listTools();
    s.dropNext(1);
    const e = await client.callTool({ name: 'echo', arguments: { text: 'lost' } }).then(() => undefined, (x: unknown) => x);
    expect((e as McpError).code).toBe(PROXY_ERRORS.upstream);
    expect((e as McpError).data).toMatchObject({ reason: 'unreachable' });
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe('back');
    expect(s.sessions).toHaveLength(1);
  });

  it('a server that forgot the session (404, e.g. restarted): a new session, the client\'s initialize replayed, the request retried — no error', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client, warnings } = await rig(s.url, tokens);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'one' } }))).toBe('one');
    await s.forgetSessions();
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toBe('two');
    expect(s.sessions).toHaveLength(2);
    expect(text(await client.callTool({ name: 'ask', arguments: {} }))).toBe('file:///work/repo');
    expect(warnings.join('\n')).toContain('no longer knows the session (HTTP 404)');
  });

  it('a legacy HTTP+SSE server (POST on its URL is 405): falls back to the SSE transport, token on every request', async () => {
    const tokens = fakeTokens();
    const legacy = await startLegacySseServer(verifierFor(tokens.accepted));
    open.push(legacy);
    const { client, proxy } = await rig(legacy.url, tokens);
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('legacy:hi');
    expect(proxy.kind()).toBe('sse');
    expect(legacy.authorizations.filter((a) => a !== '').every((a) => a === 'Bearer tok-1')).toBe(true);
    expect(legacy.authorizations.filter((a) => a === 'Bearer tok-1').length).toBeGreaterThanOrEqual(3);
  });

  it("sends the entry's own headers with every request, but its own token as Authorization", async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client } = await rig(s.url, tokens, { headers: { 'X-Team': 'core', Authorization: 'Bearer theirs' } });
    await client.listTools();
    expect(s.teams.length).toBeGreaterThan(0);
    expect(new Set(s.teams)).toEqual(new Set(['core']));
    expect(s.authorizations.every((a) => a === 'Bearer tok-1')).toBe(true);
  });

  it('ends the upstream session (DELETE) when the client closes stdin', async () => {
    const tokens = fakeTokens();
    const s = await server(tokens);
    const { client, stdin, proxy } = await rig(s.url, tokens);
    await client.listTools();
    const before = s.authorizations.length;
    stdin.end();
    await proxy.done;
    expect(s.authorizations.length).toBeGreaterThan(before);
  });
});
