/**
 * The `WWW-Authenticate` challenge of a refusing resource server: the RFC 6750 §3 `Bearer` auth-params
 * (`error`, `error_description`, `scope`) and RFC 9728 §5.1's `resource_metadata`. Lenient: unknown
 * schemes and params are ignored, a malformed header gives what could be read.
 */
export interface BearerChallenge {
  /** RFC 6750 §3.1: invalid_request | invalid_token | insufficient_scope (or a server's own). */
  error?: string;
  error_description?: string;
  /** RFC 9728 §5.1: where the server's Protected Resource Metadata is. */
  resource_metadata?: string;
  /** RFC 6750 §3: the scopes the resource needs. */
  scope?: string;
  realm?: string;
}

const KNOWN = ['error', 'error_description', 'resource_metadata', 'scope', 'realm'] as const;

/** Parses the first `Bearer` challenge of a `WWW-Authenticate` value (undefined/empty: {}). */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge {
  if (!header) return {};
  const start = header.search(/(^|[\s,])Bearer(\s|$)/i);
  if (start < 0) return {};
  let i = header.indexOf('earer', start) + 5;
  const out: BearerChallenge = {};
  const n = header.length;
  while (i < n) {
    while (i < n && /[\s,]/.test(header[i]!)) i++;
    const name = /^[A-Za-z0-9_!#$%&'*+.^`|~-]+/.exec(header.slice(i))?.[0];
    if (!name) break;
    let j = i + name.length;
    while (j < n && header[j] === ' ') j++;
    // A token not followed by "=" starts the next challenge (`Bearer …, DPoP algs=…`): stop.
    if (header[j] !== '=') break;
    j++;
    while (j < n && header[j] === ' ') j++;
    let value = '';
    if (header[j] === '"') {
      j++;
      while (j < n && header[j] !== '"') {
        if (header[j] === '\\' && j + 1 < n) j++;
        value += header[j];
        j++;
      }
      j++;
    } else {
      const m = /^[^\s,]*/.exec(header.slice(j))![0];
      value = m;
      j += m.length;
    }
    const key = name.toLowerCase() as (typeof KNOWN)[number];
    if ((KNOWN as readonly string[]).includes(key) && out[key] === undefined) out[key] = value;
    i = j;
  }
  return out;
}
