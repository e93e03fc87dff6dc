/**
 * The stdio ⇄ HTTP bridge: MCP messages from the client (stdio, the SDK's StdioServerTransport) go to
 * the server over Streamable HTTP (the SDK's StreamableHTTPClientTransport) — or, when the server
 * answers the first POST with 4xx other than 401/403, over the legacy HTTP+SSE transport
 * (SSEClientTransport), as the MCP spec's backwards-compatibility section says — and everything the
 * server sends (responses, its own requests, notifications) goes back to the client untouched.
 *
 * The transports own the protocol details: the Mcp-Session-Id they learn from `initialize` is sent
 * with every later request, the standalone GET stream is opened after `notifications/initialized`
 * and reopened with backoff (Last-Event-ID) after a network drop, and `notifications/cancelled`
 * passes like any notification. The bridge only sets the negotiated protocol version on the upstream
 * transport (what the SDK's Client would do) and turns a request the server could not take into a
 * JSON-RPC error for the client, so the client never waits for an answer that will not come.
 *
 * stderr gets diagnostics only: server errors and challenges, never a header or a token.
 */
import type { Readable, Writable } from 'node:stream';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { tenantText } from '../exchange/redact.js';
import { isOmniAuthError } from '../util/errors.js';
import { authorizedFetch, describe, type FetchLike } from './auth-fetch.js';
import type { BearerSource } from './tokens.js';

export type UpstreamKind = 'streamable-http' | 'sse';

export interface ProxyOptions {
  url: URL;
  tokens: BearerSource;
  /** Diagnostics for a person (stderr). */
  warn: (message: string) => void;
  /** Default process.stdin / process.stdout. */
  input?: Readable;
  output?: Writable;
  /** Default the global fetch. */
  fetch?: FetchLike;
  /** Extra request headers (the remote entry's own, from OMNI_AUTH_PROXY_HEADERS); never Authorization. */
  headers?: Record<string, string>;
  /** Default: Streamable HTTP, falling back to HTTP+SSE. */
  transport?: UpstreamKind | 'auto';
  /** Backoff of the GET stream's reconnection (tests shorten it). */
  reconnection?: { initialDelayMs: number; maxDelayMs: number };
}

/** JSON-RPC error codes the proxy answers with (implementation-defined server errors). */
export const PROXY_ERRORS = {
  /** The server refused the token, and the renewed one too. */
  unauthorized: -32001,
  /** The server could not be reached or failed the HTTP request. */
  upstream: -32002,
  /** No token could be obtained (the broker's error). */
  token: -32003,
} as const;

/** The ids of the proxy's own `initialize` requests (a new session after a 404). */
const REINIT_ID = 'omni-auth-proxy-reinitialize-';

export interface RunningProxy {
  /** Resolves when the client has closed its end (stdin) and the upstream session was ended. */
  done: Promise<void>;
  /** The upstream transport in use, once the first message went through. */
  kind(): UpstreamKind | undefined;
  close(): Promise<void>;
}

export function startProxy(o: ProxyOptions): RunningProxy {
  const input = o.input ?? process.stdin;
  const client = new StdioServerTransport(input, o.output ?? process.stdout);
  const auth = authorizedFetch(o.tokens, { warn: o.warn, ...(o.fetch ? { fetch: o.fetch } : {}), ...(o.headers ? { headers: o.headers } : {}) });
  let upstream: Transport | undefined;
  let kind: UpstreamKind | undefined;
  let connecting: Promise<Transport> | undefined;
  let closed = false;
  let streamLost: Transport | undefined;
  const reopenStream = (t: Transport): void => {
    if (streamLost !== t || closed) return;
    streamLost = undefined;
    // The SDK's own (re)connection routine for the GET stream; it has no public name.
    const start = (t as unknown as { _startOrAuthSse?: (o: { resumptionToken?: string }) => Promise<void> })._startOrAuthSse;
    if (typeof start === 'function') {
      o.warn('reopening the server\'s event stream');
      start.call(t, { resumptionToken: undefined }).catch(() => undefined);
    }
  };
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));

  const toClient = (m: JSONRPCMessage): void => {
    void client.send(m).catch((e: unknown) => o.warn(`cannot write to the MCP client: ${(e as Error).message}`));
  };

  const open = async (which: UpstreamKind): Promise<Transport> => {
    const t: Transport = which === 'sse'
      ? new SSEClientTransport(o.url, { fetch: auth.fetch })
      : new StreamableHTTPClientTransport(o.url, {
        fetch: auth.fetch,
        reconnectionOptions: {
          initialReconnectionDelay: o.reconnection?.initialDelayMs ?? 1000,
          maxReconnectionDelay: o.reconnection?.maxDelayMs ?? 30_000,
          reconnectionDelayGrowFactor: 1.5,
          // A laptop asleep for an hour still gets its stream back when it wakes up.
          maxRetries: Number.MAX_SAFE_INTEGER,
        },
      });
    t.onmessage = (m) => {
      const own = (m as { id?: unknown }).id;
      if (typeof own === 'string' && own.startsWith(REINIT_ID)) {
        reinitAnswered?.(m);
        return;
      }
      const result = (m as { result?: { protocolVersion?: unknown } }).result;
      if (result && typeof result.protocolVersion === 'string') t.setProtocolVersion?.(result.protocolVersion);
      toClient(m);
    };
    t.onerror = (e) => {
      o.warn(`server connection: ${safeMessage(e)}`);
      // The standalone GET stream's first opening refused (the renewed token too): the SDK does not
      // try again (a reconnection it does retry, with backoff, and says so). It is reopened after the
      // next request that goes through (the token is good again then).
      if (e instanceof StreamableHTTPError && e.code === 401 && /Failed to open SSE stream/.test(e.message)) streamLost = t;
      else if (e instanceof Error && e.message.startsWith('Failed to reconnect SSE stream')) streamLost = undefined;
    };
    t.onclose = () => {
      if (!closed && which === 'sse') {
        o.warn('the server closed the SSE stream');
        void shutdown();
      }
    };
    await t.start();
    return t;
  };

  /** The first message opens the upstream; Streamable HTTP first, HTTP+SSE when that is refused. */
  /**
   * The server forgot the session (HTTP 404 to a request with its Mcp-Session-Id: restarted, or
   * expired): as the spec says, a new session starts with a new `initialize` — the client's own,
   * replayed by the proxy, its answer kept from the client, which already has one — then
   * `notifications/initialized`, on a new transport. Concurrent callers share one.
   */
  let initialize: JSONRPCMessage | undefined;
  let reinitAnswered: ((m: JSONRPCMessage) => void) | undefined;
  let reinitializing: Promise<Transport> | undefined;
  let reinits = 0;
  const reinitialize = (stale: Transport): Promise<Transport> => {
    if (reinitializing) return reinitializing;
    reinitializing = (async () => {
      o.warn('the server no longer knows the session (HTTP 404); starting a new one');
      await stale.close().catch(() => undefined);
      const t = await open('streamable-http');
      const id = `${REINIT_ID}${++reinits}`;
      const answered = new Promise<JSONRPCMessage>((r) => (reinitAnswered = r));
      await t.send({ ...(initialize as object), id } as JSONRPCMessage);
      const answer = await answered;
      if ('error' in answer) throw new StreamableHTTPError(404, 'the server refused a new session');
      await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      upstream = t;
      connecting = Promise.resolve(t);
      return t;
    })();
    reinitializing.catch(() => undefined).finally(() => (reinitializing = undefined));
    return reinitializing;
  };

  const firstSend = async (m: JSONRPCMessage): Promise<void> => {
    if ('method' in m && m.method === 'initialize') initialize = m;
    const preferred = o.transport === 'sse' ? 'sse' : 'streamable-http';
    const t = await open(preferred);
    try {
      await t.send(m);
      upstream = t;
      kind = preferred;
    } catch (e) {
      const legacy = o.transport !== 'streamable-http' && preferred === 'streamable-http' && e instanceof StreamableHTTPError
        && typeof e.code === 'number' && e.code >= 400 && e.code < 500 && e.code !== 401 && e.code !== 403;
      if (!legacy) {
        upstream = t;
        kind = preferred;
        throw e;
      }
      await t.close().catch(() => undefined);
      o.warn(`the server does not take Streamable HTTP (HTTP ${e.code}); using the HTTP+SSE transport`);
      const sse = await open('sse');
      upstream = sse;
      kind = 'sse';
      await sse.send(m);
    }
  };

  const forward = async (m: JSONRPCMessage): Promise<void> => {
    try {
      if (!connecting) {
        let ready!: (t: Transport) => void;
        let failed!: (e: unknown) => void;
        connecting = new Promise<Transport>((res, rej) => ((ready = res), (failed = rej)));
        connecting.catch(() => undefined);
        try {
          await firstSend(m);
        } finally {
          if (upstream) ready(upstream);
          else {
            failed(new Error('no upstream'));
            connecting = undefined;
          }
        }
        return;
      }
      const t = await connecting;
      try {
        await t.send(m);
        reopenStream(t);
      } catch (e) {
        const gone = e instanceof StreamableHTTPError && e.code === 404 && kind === 'streamable-http' && initialize !== undefined && !('method' in m && m.method === 'initialize');
        if (!gone) throw e;
        await (await reinitialize(t)).send(m);
      }
    } catch (e) {
      const id = (m as { id?: string | number }).id;
      const isRequest = 'method' in m && id !== undefined;
      if (isRequest) toClient({ jsonrpc: '2.0', id, error: errorFor(e) });
      else o.warn(`a message to the server was not delivered: ${errorFor(e).message}`);
    }
  };

  const errorFor = (e: unknown): { code: number; message: string; data?: Record<string, unknown> } => {
    const refusal = auth.lastRefusal();
    if (e instanceof StreamableHTTPError && e.code === 401) {
      const c = refusal?.challenge ?? {};
      return {
        code: PROXY_ERRORS.unauthorized,
        message: `the MCP server refused omni-auth's token, and a renewed one too (HTTP 401${describe(c)})`,
        data: {
          reason: 'unauthorized', status: 401, url: o.url.origin,
          ...(Object.keys(c).length > 0 ? { www_authenticate: c } : {}),
          hint: 'check that the server expects this tenant and audience (omni-auth status; omni-auth verify --audience …)',
        },
      };
    }
    if (isOmniAuthError(e)) {
      return { code: PROXY_ERRORS.token, message: `omni-auth could not get a token: ${e.message}`, data: { reason: e.code, ...(e.hint ? { hint: e.hint } : {}) } };
    }
    const status = e instanceof StreamableHTTPError ? e.code : undefined;
    return {
      code: PROXY_ERRORS.upstream,
      message: `the MCP server at ${o.url.origin} could not take the request: ${safeMessage(e)}`,
      data: { reason: status !== undefined && status > 0 ? 'http_error' : 'unreachable', ...(status !== undefined && status > 0 ? { status } : {}) },
    };
  };

  const shutdown = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    const t = upstream;
    if (t instanceof StreamableHTTPClientTransport) await t.terminateSession().catch(() => undefined);
    await t?.close().catch(() => undefined);
    await client.close().catch(() => undefined);
    finish();
  };

  client.onmessage = (m) => void forward(m);
  client.onerror = (e) => o.warn(`MCP client stream: ${safeMessage(e)}`);
  input.once('end', () => void shutdown());
  input.once('close', () => void shutdown());
  void client.start();

  return { done, kind: () => kind, close: shutdown };
}

/**
 * An error's message for stderr or a JSON-RPC error. The SDK's messages quote the server's answer
 * ("Error POSTing to endpoint: <body>"), which could echo what we sent: anything token-shaped is
 * redacted, control characters blanked, the length capped.
 */
function safeMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return tenantText(message.replace(/Bearer\s+[\w.~+/=-]+/gi, 'Bearer [redacted]'), []) ?? '';
}
