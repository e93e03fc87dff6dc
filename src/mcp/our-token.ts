/**
 * Whether a token found in an MCP config is one omni-auth put there (`--mode env`, or a remote entry's
 * Authorization header): a JWT issued by the tenant of the current settings. Only its claims are read,
 * not its signature — this decides what unwiring may delete, never whom to trust.
 *
 * Also: which tokens an entry holds, and a file's text with our tokens blanked out — the backup of a
 * config must not keep a copy of a token that omni-auth itself is taking out of it.
 */
import { isPlainObject } from './formats/structural.js';
import { looksLikeJwt } from './wire.js';

export const TOKEN_PLACEHOLDER = '<omni-auth token removed>';

export function issuedBy(issuer: string): (token: string) => boolean {
  return (token) => {
    if (!looksLikeJwt(token)) return false;
    try {
      const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
      return typeof payload === 'object' && payload !== null && (payload as { iss?: unknown }).iss === issuer;
    } catch {
      return false;
    }
  };
}

/** Every JWT-shaped string value in an entry (a header value counts without its `Bearer `). */
export function tokensIn(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const bare = value.replace(/^Bearer\s+/i, '');
    if (looksLikeJwt(bare)) into.add(bare);
  } else if (Array.isArray(value)) {
    for (const v of value) tokensIn(v, into);
  } else if (isPlainObject(value)) {
    for (const v of Object.values(value)) tokensIn(v, into);
  }
  return into;
}

/** The tokens `before` holds and `after` no longer does: the ones an edit takes out. */
export function tokensRemoved(before: unknown, after: unknown): string[] {
  const kept = tokensIn(after);
  return [...tokensIn(before)].filter((t) => !kept.has(t));
}

/**
 * `text` with every JWT-shaped run that `isOurs` accepts replaced by TOKEN_PLACEHOLDER. A token is
 * base64url and dots in every format we edit (no escaping), so it is always one whole run of those;
 * and its header is a JSON object, so the run starts with "ey" (what the search looks for: a 5 MB
 * file is scanned in a few milliseconds).
 */
export function withoutOurTokens(text: string, isOurs: (token: string) => boolean): string {
  let out = '';
  let cursor = 0;
  for (let i = text.indexOf('ey'); i >= 0; i = text.indexOf('ey', i + 1)) {
    // The whole run of [A-Za-z0-9_.-] around it, as a token is always one whole run.
    let start = i;
    while (start > cursor && isRunChar(text.charCodeAt(start - 1))) start--;
    let end = i + 2;
    while (end < text.length && isRunChar(text.charCodeAt(end))) end++;
    const run = text.slice(start, end);
    if (looksLikeJwt(run) && isOurs(run)) {
      out += text.slice(cursor, start) + TOKEN_PLACEHOLDER;
      cursor = end;
    }
    i = end - 1;
  }
  return out + text.slice(cursor);
}

/** [A-Za-z0-9_.-] */
function isRunChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45;
}
