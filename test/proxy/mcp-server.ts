/**
 * A Streamable HTTP MCP server on loopback for the proxy's tests: the SDK's McpServer and
 * StreamableHTTPServerTransport (stateful: Mcp-Session-Id), behind the SDK's requireBearerAuth with
 * the verifier the test gives (createTokenVerifier against the emulator's JWKS, or a fake). It records
 * the Authorization of every request and can answer the first POSTs with a network-level drop.
 *
 * Tools: `echo` (text), `slow` (waits until cancelled, notifying progress), `ask` (a server→client
 * request: roots/list), `notify` (a server→client logging notification).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListRootsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** Express's request and response, as much as these handlers use (no @types/express here). */
type Req = import('node:http').IncomingMessage & { body?: unknown; query: Record<string, unknown> };
type Res = import('node:http').ServerResponse & { status(code: number): Res; json(v: unknown): void; set(k: string, v: string): Res };
type Next = () => void;

export interface TestServer {
  url: string;
  /** Every Authorization header value received, in order. */
  authorizations: string[];
  /** The X-Team header of every request that had one. */
  teams: string[];
  /** GET requests (the standalone SSE stream) received. */
  gets: number;
  /** Sessions the server created. */
  sessions: string[];
  /** Requests that were cancelled by the client (the `slow` tool's signal). */
  cancelled: number;
  /** The next `n` POSTs have their connection destroyed before any answer (a network drop). */
  dropNext(n: number): void;
  /** The next `n` GET requests are answered 401 invalid_token, whatever their token. */
  refuseGets(n: number): void;
  /** A logging notification from every session's server, outside any request: on the GET stream. */
  broadcast(data: string): Promise<void>;
  /** Ends every session's standalone GET stream (the client reconnects). */
  closeGetStreams(): void;
  /** Forgets every session, as a restarted server would: requests with their ids get 404. */
  forgetSessions(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(verifier: OAuthTokenVerifier, opts: { resourceMetadataUrl?: string } = {}): Promise<TestServer> {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const servers: McpServer[] = [];
  const state = { authorizations: [] as string[], sessions: [] as string[], cancelled: 0, drops: 0, gets: 0, refusedGets: 0, teams: [] as string[] };

  app.use((req: Req, _res: Res, next: Next) => {
    if (req.method === 'POST' && state.drops > 0) {
      state.drops--;
      req.socket.destroy();
      return;
    }
    state.authorizations.push(req.headers.authorization ?? '');
    if (req.method === 'GET') state.gets++;
    if (req.method === 'GET' && state.refusedGets > 0) {
      state.refusedGets--;
      _res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token", error_description="refused by the test"').json({ error: 'invalid_token' });
      return;
    }
    if (typeof req.headers['x-team'] === 'string') state.teams.push(req.headers['x-team']);
    next();
  });
  const auth = requireBearerAuth({ verifier, ...(opts.resourceMetadataUrl ? { resourceMetadataUrl: opts.resourceMetadataUrl } : {}) });

  const mcpServer = (): McpServer => {
    const server = new McpServer({ name: 'proxy-test', version: '1.0.0' }, { capabilities: { logging: {} } });
    server.registerTool('echo', { description: 'repeats the text', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    server.registerTool('slow', { description: 'runs until cancelled' }, async (extra) => {
      await new Promise<void>((resolve) => {
        if (extra.signal.aborted) return resolve();
        extra.signal.addEventListener('abort', () => resolve());
        const token = extra._meta?.progressToken;
        if (token !== undefined) void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
      });
      state.cancelled++;
      return { content: [{ type: 'text', text: 'cancelled' }] };
    });
    // A request of the server's own, sent on the tool call's response stream (related to it).
    server.registerTool('ask', { description: 'asks the client for its roots' }, async (extra) => {
      const roots = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema);
      return { content: [{ type: 'text', text: roots.roots.map((r) => r.uri).join(',') }] };
    });
    server.registerTool('notify', { description: 'sends a log message' }, async () => {
      await server.server.sendLoggingMessage({ level: 'info', data: 'hello from the server' });
      return { content: [{ type: 'text', text: 'sent' }] };
    });
    return server;
  };

  app.all('/mcp', auth, async (req: Req, res: Res) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? transports.get(id) : undefined;
    if (!transport) {
      if (typeof id === 'string' || req.method !== 'POST') {
        res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        return;
      }
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          transports.set(sid, t);
          state.sessions.push(sid);
        },
      });
      t.onclose = () => {
        if (t.sessionId) transports.delete(t.sessionId);
      };
      const mcp = mcpServer();
      servers.push(mcp);
      await mcp.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, req.body);
  });

  const listener: Server = await new Promise((resolve) => {
    const l = app.listen(0, '127.0.0.1', () => resolve(l));
  });
  const { port } = listener.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get authorizations() {
      return state.authorizations;
    },
    get sessions() {
      return state.sessions;
    },
    get teams() {
      return state.teams;
    },
    get gets() {
      return state.gets;
    },
    get cancelled() {
      return state.cancelled;
    },
    dropNext: (n) => {
      state.drops = n;
    },
    refuseGets: (n) => {
      state.refusedGets = n;
    },
    broadcast: async (data) => {
      for (const m of servers) await m.server.sendLoggingMessage({ level: 'info', data }).catch(() => undefined);
    },
    closeGetStreams: () => {
      for (const t of transports.values()) t.closeStandaloneSSEStream();
    },
    forgetSessions: async () => {
      const all = [...transports.values()];
      transports.clear();
      for (const t of all) await t.close().catch(() => undefined);
    },
    close: async () => {
      for (const t of transports.values()) await t.close().catch(() => undefined);
      listener.closeAllConnections();
      await new Promise<void>((r) => listener.close(() => r()));
    },
  };
}

/**
 * A legacy HTTP+SSE server (the SDK's SSEServerTransport, protocol 2024-11-05): GET /sse opens the
 * stream, POST /messages?sessionId=… carries the client's messages; POST /sse is 405, which is what
 * makes a Streamable HTTP client fall back.
 */
export async function startLegacySseServer(verifier: OAuthTokenVerifier): Promise<{ url: string; authorizations: string[]; close(): Promise<void> }> {
  const { SSEServerTransport } = await import('@modelcontextprotocol/sdk/server/sse.js');
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  const authorizations: string[] = [];
  const transports = new Map<string, InstanceType<typeof SSEServerTransport>>();
  app.use((req: Req, _res: Res, next: Next) => {
    authorizations.push(req.headers.authorization ?? '');
    next();
  });
  const auth = requireBearerAuth({ verifier });
  app.get('/sse', auth, async (_req: Req, res: Res) => {
    const t = new SSEServerTransport('/messages', res);
    transports.set(t.sessionId, t);
    const server = new McpServer({ name: 'legacy', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text: `legacy:${text}` }] }));
    await server.connect(t);
  });
  app.post('/sse', (_req: Req, res: Res) => void res.status(405).set('Allow', 'GET').end());
  app.post('/messages', auth, async (req: Req, res: Res) => {
    const t = transports.get(String(req.query.sessionId));
    if (!t) return void res.status(404).end();
    await t.handlePostMessage(req, res, req.body);
  });
  const listener: Server = await new Promise((resolve) => {
    const l = app.listen(0, '127.0.0.1', () => resolve(l));
  });
  const { port } = listener.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    authorizations,
    close: async () => {
      listener.closeAllConnections();
      await new Promise<void>((r) => listener.close(() => r()));
    },
  };
}
