/**
 * `createTokenVerifier`: an `OAuthTokenVerifier` for the MCP SDK's `requireBearerAuth({ verifier })`
 * that checks Auth0 access tokens (see check.ts for the checks) and returns the SDK's `AuthInfo`.
 *
 * A refusal is thrown as the SDK's own `InvalidTokenError` (→ 401), `InsufficientScopeError` (→ 403)
 * or `ServerError` (→ 500, the keys could not be fetched) — `requireBearerAuth` tells them apart by
 * class — with `[code] message` as the message and `code`, `hint`, `status` as properties. The SDK
 * is loaded only when a token is refused, and only if installed: without it the `TokenError` itself
 * is thrown (same `code`, `status`, `errorCode`, `toResponseObject()`).
 */
import { checkToken, type Auth0Algorithm } from './check.js';
import { TokenError, ServerConfigError, describe } from './errors.js';
import { createJwksCache, type JwksCacheOptions } from './jwks.js';
import { tenantUrls } from './tenant.js';
import { createUserInfoCache } from './userinfo.js';

/** Structurally the MCP SDK's `AuthInfo` (server/auth/types.js), with our `extra`. */
export interface AuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

export interface Auth0AuthInfo extends AuthInfo {
  expiresAt: number;
  extra: {
    sub: string;
    /** RBAC's `permissions` claim (empty without "Add Permissions in the Access Token"). */
    permissions: string[];
    /** Every claim of the verified token. */
    claims: Record<string, unknown>;
    /** With `userInfo: true`: the tenant's /userinfo answer for this token (cached until it expires). */
    userinfo?: Record<string, unknown>;
  };
}

export interface TokenVerifierOptions {
  /** `tenant.eu.auth0.com`, a custom domain, an `https://` origin, or the emulator's `http://127.0.0.1:PORT`. */
  domain: string;
  /** The API identifier the token must be for (in `aud`). */
  audience: string;
  /** Each must be in the token's `scope` ∪ `permissions`, else 403 insufficient_scope. */
  requiredScopes?: readonly string[];
  /** Seconds of leeway on `exp` and `nbf` (default 0). */
  clockTolerance?: number;
  /** Default RS256 and PS256 — what Auth0 signs API tokens with that public keys verify. */
  algorithms?: readonly Auth0Algorithm[];
  /**
   * Also fetch `GET {domain}/userinfo` with each accepted token (once per token, kept until its `exp`)
   * into `extra.userinfo`. The token must carry the /userinfo audience (asked with `openid`); a refusal
   * there refuses the token (`userinfo_refused`, 401). Default false.
   */
  userInfo?: boolean;
  /** Tuning and test seams for the key cache (fetch, clock, cool-down, max age); `fetch` and `now` serve /userinfo too. */
  jwks?: JwksCacheOptions;
}

export interface TokenVerifier {
  verifyAccessToken(token: string): Promise<Auth0AuthInfo>;
}

interface SdkErrors {
  InvalidTokenError: new (message: string) => Error;
  InsufficientScopeError: new (message: string) => Error;
  ServerError: new (message: string) => Error;
}
let sdkErrors: Promise<SdkErrors | undefined> | undefined;
const loadSdkErrors = (): Promise<SdkErrors | undefined> =>
  (sdkErrors ??= import('@modelcontextprotocol/sdk/server/auth/errors.js').then((m) => m as SdkErrors, () => undefined));

/** The SDK's error for `e` (so requireBearerAuth picks the status), carrying our code, hint and cause. */
async function asSdkError(e: TokenError): Promise<Error> {
  const sdk = await loadSdkErrors();
  if (!sdk) return e;
  const Class = e.status === 401 ? sdk.InvalidTokenError : e.status === 403 ? sdk.InsufficientScopeError : sdk.ServerError;
  const err = new Class(describe(e));
  Object.assign(err, { code: e.code, hint: e.hint, status: e.status, cause: e });
  return err;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { issuer, jwksUri, origin } = tenantUrls(options.domain);
  if (typeof options.audience !== 'string' || options.audience.trim() === '') {
    throw new ServerConfigError('invalid_audience', '"audience" is missing or empty', 'pass the API identifier, as in Auth0 > Applications > APIs');
  }
  const tolerance = options.clockTolerance ?? 0;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new ServerConfigError('invalid_clock_tolerance', '"clockTolerance" must be a number of seconds >= 0');
  const requiredScopes = [...(options.requiredScopes ?? [])];
  const rules = { issuer, audience: options.audience, requiredScopes, clockTolerance: tolerance, ...(options.algorithms ? { algorithms: options.algorithms } : {}) };
  const keys = createJwksCache(jwksUri, options.jwks);
  // The audience is the resource the token is valid for (RFC 8707) when it is a URL, as MCP servers' are.
  const resource = URL.canParse(options.audience) && /^https?:$/.test(new URL(options.audience).protocol) ? new URL(options.audience) : undefined;
  const now = options.jwks?.now ?? Date.now;
  const userInfo = options.userInfo === true
    ? createUserInfoCache(origin, { ...(options.jwks?.fetch ? { fetch: options.jwks.fetch } : {}), now })
    : undefined;

  return {
    async verifyAccessToken(token: string): Promise<Auth0AuthInfo> {
      try {
        const report = await checkToken(token, rules, keys, Math.floor(now() / 1000));
        const first = report.refusals[0];
        if (first) throw new TokenError(first.code, first.message, first.hint ? { hint: first.hint } : {});
        const f = report.facts!;
        const userinfo = userInfo ? await userInfo.get(token, f.expiresAt!) : undefined;
        return {
          token,
          clientId: f.clientId ?? '',
          scopes: f.scopes,
          expiresAt: f.expiresAt!,
          ...(resource ? { resource } : {}),
          extra: { sub: f.sub!, permissions: f.permissions, claims: { ...f.claims }, ...(userinfo ? { userinfo } : {}) },
        };
      } catch (e) {
        // Anything unexpected is a refusal too: a verifier never lets a token through on an error.
        const err = e instanceof TokenError ? e : new TokenError('bad_signature', 'the token could not be checked', { cause: e });
        throw await asSdkError(err);
      }
    },
  };
}
