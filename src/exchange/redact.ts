/** Text from the tenant is shown to users, so it is cleaned first: it could echo what we sent. */
const MAX_LENGTH = 300;
/** A compact JWS/JWE, or any base64url JSON object ("eyJ" = `{"`) — a token or a piece of one. */
const TOKEN_LIKE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]*|eyJ[A-Za-z0-9_-]{8,}/g;
/** C0/C1 control characters: a tenant-supplied escape sequence must not drive the user's terminal. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * The tenant's words, safe to print: every known secret and anything token-shaped replaced by
 * "[redacted]", control characters (terminal escapes) blanked, length capped.
 * Returns undefined for anything that is not a string.
 */
export function tenantText(text: unknown, secrets: readonly string[]): string | undefined {
  if (typeof text !== 'string') return undefined;
  let out = text;
  for (const secret of secrets) {
    if (secret !== '') out = out.split(secret).join('[redacted]');
  }
  out = out.replace(TOKEN_LIKE, '[redacted]').replace(CONTROL, ' ').trim();
  return out.length > MAX_LENGTH ? `${out.slice(0, MAX_LENGTH)}…` : out;
}
