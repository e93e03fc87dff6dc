/**
 * Why a token was refused, as a typed error: a stable `code` naming the check that failed, a message
 * that says what was expected (never what the token holds — an attacker writes those), a `hint`, and
 * the HTTP status a resource server answers with (401 for a token that is not good, 403 for a good
 * token without enough scope, 500 when the keys cannot be fetched).
 */

/** Every check a token can fail, in the order they run. */
export const TOKEN_CHECKS = [
  'malformed',
  'algorithm_not_allowed',
  'unknown_key',
  'bad_signature',
  'issuer_mismatch',
  'audience_mismatch',
  'missing_claim',
  'expired',
  'not_yet_valid',
  'insufficient_scope',
  'missing_permission',
] as const;
export type TokenCheck = (typeof TOKEN_CHECKS)[number];

/** A failure that is the server's, not the token's: the tenant's keys could not be fetched. */
export type VerifierFailure = 'jwks_unavailable' | 'userinfo_unavailable' | 'userinfo_refused';

export type TokenErrorCode = TokenCheck | VerifierFailure;

const STATUS: Record<TokenErrorCode, 401 | 403 | 500> = {
  malformed: 401, algorithm_not_allowed: 401, unknown_key: 401, bad_signature: 401, issuer_mismatch: 401,
  audience_mismatch: 401, missing_claim: 401, expired: 401, not_yet_valid: 401,
  insufficient_scope: 403, missing_permission: 403, jwks_unavailable: 500,
  // The `userInfo` option (userinfo.ts): /userinfo refused the token, or did not answer.
  userinfo_refused: 401, userinfo_unavailable: 500,
};

/** The OAuth error code (RFC 6750 §3.1) for each HTTP status. */
const OAUTH_ERROR = { 401: 'invalid_token', 403: 'insufficient_scope', 500: 'server_error' } as const;

export interface TokenErrorOptions {
  hint?: string;
  cause?: unknown;
}

/**
 * A refused token (or, with `jwks_unavailable`, a verifier that could not decide — never an accept).
 * `createTokenVerifier().verifyAccessToken` rethrows it as the MCP SDK's own error class (see
 * verifier.ts) so that `requireBearerAuth` answers with the right status.
 */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  readonly code: TokenErrorCode;
  readonly hint: string | undefined;
  /** 401, 403 or 500. */
  readonly status: 401 | 403 | 500;
  /** RFC 6750's error code for `WWW-Authenticate`: invalid_token, insufficient_scope, server_error. */
  readonly errorCode: 'invalid_token' | 'insufficient_scope' | 'server_error';

  constructor(code: TokenErrorCode, message: string, options: TokenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.status = STATUS[code];
    this.errorCode = OAUTH_ERROR[this.status];
  }

  /** The OAuth error body (RFC 6750), the shape the SDK's errors answer with. */
  toResponseObject(): { error: string; error_description: string } {
    return { error: this.errorCode, error_description: describe(this) };
  }
}

/** `[code] message`: the form the verifier's errors carry to HTTP clients. ASCII, no quotes. */
export function describe(e: { code: string; message: string }): string {
  return `[${e.code}] ${e.message}`.replace(/[^\x20-\x7e]|"/g, ' ');
}

export function isTokenError(e: unknown): e is TokenError {
  if (e instanceof TokenError) return true;
  const x = e as { code?: unknown; status?: unknown } | null;
  return e instanceof Error && typeof x?.code === 'string' && (TOKEN_CHECKS as readonly string[]).concat('jwks_unavailable', 'userinfo_unavailable', 'userinfo_refused').includes(x.code)
    && typeof x.status === 'number';
}

/** A misconfigured verifier or wrapper (a bad domain, an empty audience): thrown when it is created. */
export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
  readonly code: string;
  readonly hint: string | undefined;
  constructor(code: string, message: string, hint?: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}
