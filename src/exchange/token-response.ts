import { badResponseError } from './errors.js';

/** A successful answer of /oauth/token (token exchange or refresh). Holds secrets: never log it. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  /** Seconds. */
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  issued_token_type?: string;
}

const OPTIONAL_STRINGS = ['scope', 'refresh_token', 'id_token', 'issued_token_type'] as const;

/**
 * Checks a 200 body against what the endpoint promises and keeps only the known members. Errors name
 * the member, never its value.
 */
export function parseTokenResponse(host: string, body: unknown): TokenResponse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badResponseError(host, 'the token response is not a JSON object', false);
  }
  const b = body as Record<string, unknown>;
  const fail = (problem: string): never => {
    throw badResponseError(host, `the token response ${problem}`, false);
  };
  if (typeof b.access_token !== 'string' || b.access_token === '') fail('has no "access_token"');
  // This CLI hands out Bearer tokens: a DPoP-bound token would be unusable as one.
  if (typeof b.token_type !== 'string' || b.token_type.toLowerCase() !== 'bearer') fail('has a "token_type" other than Bearer');
  if (typeof b.expires_in !== 'number' || !Number.isFinite(b.expires_in) || b.expires_in <= 0) fail('has no positive "expires_in"');
  const out: TokenResponse = {
    access_token: b.access_token as string,
    token_type: b.token_type as string,
    expires_in: b.expires_in as number,
  };
  for (const name of OPTIONAL_STRINGS) {
    const value = b[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') fail(`has a "${name}" that is not a string`);
    out[name] = value as string;
  }
  return out;
}
