import type { Dispatcher } from 'undici';
import { checkProxies, isCustomNetwork, networkConfig, readExtraCas, type NetworkConfig } from '../config/network.js';
import type { Transport } from './transport.js';

/**
 * One dispatcher per connect timeout and network configuration (proxy variables, CA files), so retries
 * reuse a kept-alive connection and a changed environment gets a new one.
 */
const dispatchers = new Map<string, Promise<Dispatcher>>();

/** Connect timeout when the caller names none (the same as http.ts DEFAULT_TIMEOUTS). */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface DispatcherOptions {
  /** Limit for TCP + TLS set-up, to the proxy and through it (default 5 s). */
  connectTimeoutMs?: number;
  /** Where HTTPS_PROXY, HTTP_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS and OMNI_AUTH_CA_FILE are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * THE dispatcher for every request omni-auth makes (the Authentication API, JWKS, discovery, the
 * Management API, a proxied MCP server upstream): undici's `EnvHttpProxyAgent` — `HTTPS_PROXY` /
 * `HTTP_PROXY` / `NO_PROXY` — with the CA files of src/config/network.ts added to the default roots,
 * for the origin (directly or through a CONNECT tunnel) and for an https:// proxy alike. Read at run
 * time: `NODE_EXTRA_CA_CERTS` counts even when Node did not see it at start-up.
 *
 * undici is imported here, on first use, never at module load: the warm `token` path must not load it.
 * Use it with undici's `request`/`fetch` (`{ dispatcher: await dispatcher() }`) or `networkFetch()`.
 */
export function dispatcher(options: DispatcherOptions = {}): Promise<Dispatcher> {
  const config = networkConfig(options.env ?? process.env);
  const timeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const key = JSON.stringify([timeout, config.httpProxy, config.httpsProxy, config.noProxy, config.caFiles.map((f) => f.path)]);
  let made = dispatchers.get(key);
  if (!made) {
    made = build(config, timeout);
    dispatchers.set(key, made);
    // A CA file that could not be read is not remembered: the next request reads it again.
    made.catch(() => dispatchers.delete(key));
  }
  return made;
}

async function build(config: NetworkConfig, timeout: number): Promise<Dispatcher> {
  checkProxies(config);
  const extra = await readExtraCas(config);
  const { EnvHttpProxyAgent } = await import('undici');
  const { rootCertificates } = await import('node:tls');
  // `ca` replaces Node's trust store, so the default roots go in first: an extra CA only adds.
  const tls = extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {};
  return new EnvHttpProxyAgent({
    connect: { timeout, ...tls },
    requestTls: { timeout, ...tls },
    proxyTls: { timeout, ...tls },
    ...(config.httpProxy ? { httpProxy: config.httpProxy } : {}),
    ...(config.httpsProxy ? { httpsProxy: config.httpsProxy } : {}),
    // Given explicitly (even empty) so the agent does not read a different environment than ours.
    noProxy: config.noProxy ?? '',
  });
}

/** The global fetch's signature. */
type Fetch = typeof globalThis.fetch;

/**
 * A `fetch` for libraries that take one (jose's JWKS, the MCP SDK's transports): undici's fetch
 * through `dispatcher()` when a proxy or an extra CA is configured, else the global fetch (which is
 * then equivalent, and which test doubles such as msw intercept).
 */
export async function networkFetch(options: DispatcherOptions = {}): Promise<Fetch> {
  if (!isCustomNetwork(networkConfig(options.env ?? process.env))) return globalThis.fetch;
  const d = await dispatcher(options);
  const { fetch } = await import('undici');
  return ((input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]) =>
    fetch(input as Parameters<typeof fetch>[0], { ...(init as Parameters<typeof fetch>[1]), dispatcher: d })) as unknown as Fetch;
}

/**
 * Node's own fetch runs on the undici inside Node, compiled into its snapshot: a request through it
 * costs no compile of the bundled undici (most of a cold exchange's start-up otherwise). It is used
 * when no proxy or extra CA is configured (`isCustomNetwork`), with an Agent of that undici's own —
 * the constructor of the global dispatcher Node's fetch installs (undici's documented cross-version
 * slot) — set to the same connect timeout. Where that is not there, the bundled undici as below.
 */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const builtinAgents = new Map<number, object>();

async function builtinAgent(connectTimeoutMs: number): Promise<object | undefined> {
  const made = builtinAgents.get(connectTimeoutMs);
  if (made) return made;
  const slot = globalThis as Record<symbol, unknown>;
  // Node's fetch loads its undici — which installs the global dispatcher — on its first call: a call
  // that fails before any I/O (no URL) does it.
  if (slot[GLOBAL_DISPATCHER] === undefined) await globalThis.fetch('').catch(() => undefined);
  const Agent = (slot[GLOBAL_DISPATCHER] as { constructor?: unknown } | undefined)?.constructor as (new (o: object) => object) | undefined;
  if (typeof Agent !== 'function' || Agent.name !== 'Agent') return undefined;
  const agent = new Agent({ connect: { timeout: connectTimeoutMs } });
  builtinAgents.set(connectTimeoutMs, agent);
  return agent;
}

/**
 * The production transport. undici is imported on the first request, not at module load: the warm
 * `token` path (a cache hit) imports this module's callers but never sends a request, and must not
 * pay for loading undici. Idle kept-alive sockets do not hold the process open. Redirects are answers
 * (never followed), as with undici's `request`.
 */
export const undiciTransport: Transport = async (req) => {
  if (!isCustomNetwork(networkConfig(process.env))) {
    const agent = await builtinAgent(req.connectTimeoutMs);
    if (agent) return builtinFetch(req, agent);
  }
  const { method = 'POST', url, headers, body, connectTimeoutMs, signal } = req;
  const [{ request }, agent] = await Promise.all([import('undici'), dispatcher({ connectTimeoutMs })]);
  const response = await request(url, { method, headers, ...(body === undefined ? {} : { body }), signal, dispatcher: agent });
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Reading the body is under the same signal: a stalled body hits the total timeout.
  return { status: response.statusCode, headers: out, bodyText: await response.body.text() };
};

async function builtinFetch({ method = 'POST', url, headers, body, signal }: Parameters<Transport>[0], agent: object): Promise<Awaited<ReturnType<Transport>>> {
  const init = { method, headers, ...(body === undefined ? {} : { body }), signal, redirect: 'manual', dispatcher: agent } as RequestInit;
  const response = await globalThis.fetch(url, init);
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => (out[name] = value));
  return { status: response.status, headers: out, bodyText: await response.text() };
}
