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
