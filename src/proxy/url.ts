/** The server URL the proxy sends tokens to: https://, or http:// on this machine only. */
import { isLoopbackHost } from '../config/domain.js';
import { UsageError } from '../util/errors.js';

export function proxyUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('invalid_url', `"${raw}" is not a URL`, { hint: 'give the MCP server\'s address, e.g. https://mcp.example.com/mcp' });
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    if (url.username || url.password) {
      throw new UsageError('invalid_url', 'the server URL must not carry a user name or password', { hint: 'omni-auth sends its own token; remove the credentials from the URL' });
    }
    return url;
  }
  throw new UsageError('insecure_url', `refusing to send tokens to ${url.protocol}//${url.host}: only https:// URLs (http:// only to 127.0.0.1, ::1 or localhost)`, {
    hint: 'use the server\'s https:// address',
  });
}

/** The variable a wired entry passes its own headers in (src/mcp/wire.ts writes it). */
export const PROXY_HEADERS_VAR = 'OMNI_AUTH_PROXY_HEADERS';

/** The headers in OMNI_AUTH_PROXY_HEADERS (a JSON object of strings); Authorization is never taken from there. */
export function proxyHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const raw = env[PROXY_HEADERS_VAR];
  if (raw === undefined || raw.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new UsageError('invalid_proxy_headers', `${PROXY_HEADERS_VAR} is not valid JSON`, { hint: 'a JSON object of header names to values, e.g. {"X-Team":"core"}' });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError('invalid_proxy_headers', `${PROXY_HEADERS_VAR} is not a JSON object`, { hint: 'a JSON object of header names to values, e.g. {"X-Team":"core"}' });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v !== 'string' || !/^[!#$%&'*+.^`|~\w-]+$/.test(k)) {
      throw new UsageError('invalid_proxy_headers', `${PROXY_HEADERS_VAR}: "${k}" is not a header name with a string value`);
    }
    if (/^authorization$/i.test(k)) continue;
    out[k] = v;
  }
  return out;
}
