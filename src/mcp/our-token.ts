/**
 * Whether a token found in an MCP config is one omni-auth put there (`--mode env`, or a remote entry's
 * Authorization header): a JWT issued by the tenant of the current settings. Only its claims are read,
 * not its signature — this decides what unwiring may delete, never whom to trust.
 */
import { looksLikeJwt } from './wire.js';

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
