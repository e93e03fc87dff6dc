import type { Dispatcher } from 'undici';
import type { Transport } from './transport.js';

/** One connection pool per connect timeout, so retries reuse a kept-alive connection. */
const agents = new Map<number, Dispatcher>();

/**
 * The production transport. undici is imported on the first request, not at module load: the warm
 * `token` path (a cache hit) imports this module's callers but never sends a request, and must not
 * pay for loading undici. Idle kept-alive sockets do not hold the process open.
 */
export const undiciTransport: Transport = async ({ method = 'POST', url, headers, body, connectTimeoutMs, signal }) => {
  const { Agent, request } = await import('undici');
  let dispatcher = agents.get(connectTimeoutMs);
  if (!dispatcher) {
    dispatcher = new Agent({ connect: { timeout: connectTimeoutMs } });
    agents.set(connectTimeoutMs, dispatcher);
  }
  const response = await request(url, { method, headers, ...(body === undefined ? {} : { body }), signal, dispatcher });
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Reading the body is under the same signal: a stalled body hits the total timeout.
  return { status: response.statusCode, headers: out, bodyText: await response.body.text() };
};
