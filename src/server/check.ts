/**
 * Every check a resource server makes on an Auth0 access token, each reported on its own, so that a
 * server can refuse on the first and `omni-auth verify` can say everything a server would object to.
 *
 * Order: the token's shape, its algorithm (RS256 or PS256 — what Auth0 signs API tokens with that
 * can be checked with public keys; HS256 is the API's shared secret and is refused), the signature
 * against the tenant's JWKS, then the claims: `iss` exactly the tenant's issuer, `aud` containing the
 * audience, `exp` (required) and `nbf` with the clock tolerance, `sub` present, then the required
 * scopes (against `scope` ∪ `permissions`) and permissions (against `permissions` only). Claims are
 * looked at only after the signature holds.
 */
import { compactVerify, type JWTPayload } from 'jose';
import { TokenError, type TokenCheck } from './errors.js';
import type { JwksCache } from './jwks.js';

/** The algorithms Auth0 can sign API access tokens with that a public key verifies. */
export const AUTH0_ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256'] as const;
export type Auth0Algorithm = (typeof AUTH0_ASYMMETRIC_ALGORITHMS)[number];

export interface TokenRules {
  /** Compared exactly with `iss`. */
  issuer: string;
  /** Must be `aud` or one of its entries. */
  audience: string;
  /** Each must be in `scope` ∪ `permissions`. */
  requiredScopes?: readonly string[];
  /** Each must be in `permissions` (RBAC's claim; a client cannot ask for it). */
  requiredPermissions?: readonly string[];
  /** Seconds of leeway on `exp` and `nbf` (default 0). */
  clockTolerance?: number;
  /** Default RS256 and PS256. */
  algorithms?: readonly Auth0Algorithm[];
}

/** What a verified token says. */
export interface TokenFacts {
  sub: string | undefined;
  audience: string[];
  /** `azp` (Auth0's profile) or `client_id` (RFC 9068 profile). */
  clientId: string | undefined;
  /** The `scope` claim, split. */
  scope: string[];
  /** The `permissions` claim (RBAC with "Add Permissions in the Access Token"). */
  permissions: string[];
  /** `scope` ∪ `permissions`, each once. */
  scopes: string[];
  expiresAt: number | undefined;
  notBefore: number | undefined;
  claims: JWTPayload;
  alg: string;
}

export interface Refusal {
  code: TokenCheck;
  message: string;
  hint?: string;
}

export interface TokenReport {
  /** The signature holds (with a key of the tenant's set): the facts can be believed. */
  signatureValid: boolean;
  facts?: TokenFacts;
  /** Empty when a server with these rules would accept the token. */
  refusals: Refusal[];
  /** When the signature did not hold: `iss` and `aud` as the token claims them, for a person to read. */
  unverified?: { iss?: unknown; aud?: unknown; alg?: unknown };
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

const parseJson = (segment: string): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const splitScope = (v: unknown): string[] => (typeof v === 'string' ? v.split(' ').filter(Boolean) : strings(v));
const unique = (xs: string[]): string[] => [...new Set(xs)];

/** jose's signature-stage codes → our checks. Anything else (not listed) is a bad signature: never an accept. */
const JOSE_CODES: Record<string, TokenCheck> = {
  ERR_JWKS_NO_MATCHING_KEY: 'unknown_key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'unknown_key',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm_not_allowed',
  ERR_JWS_INVALID: 'malformed',
  ERR_JOSE_NOT_SUPPORTED: 'malformed',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad_signature',
};

const MESSAGES: Record<'malformed' | 'algorithm_not_allowed' | 'unknown_key' | 'bad_signature', [string, string]> = {
  malformed: ['the token is not a signed JWT', 'Auth0 issues JWT access tokens only for an API audience; request the token with the API identifier as audience (without it Auth0 returns an opaque token)'],
  algorithm_not_allowed: ['the token is not signed with RS256 or PS256', 'set the API\'s JSON Web Token Signing Algorithm to RS256 in Auth0 (HS256 tokens use a shared secret a server cannot check with public keys)'],
  unknown_key: ['the token names a signing key the tenant does not publish', 'a token from another tenant or environment, or a key revoked; get a new token from this tenant'],
  bad_signature: ['the token\'s signature does not verify with the tenant\'s key', 'the token was altered or signed by someone else; get a new token'],
};

function refusal(code: keyof typeof MESSAGES): Refusal {
  const [message, hint] = MESSAGES[code];
  return { code, message, hint };
}

/**
 * Runs every check. Throws only `TokenError('jwks_unavailable')` (the keys could not be fetched);
 * every other problem is a refusal in the report.
 */
export async function checkToken(token: string, rules: TokenRules, keys: JwksCache, nowSeconds: number): Promise<TokenReport> {
  const algorithms = [...(rules.algorithms ?? AUTH0_ASYMMETRIC_ALGORITHMS)];
  const parts = typeof token === 'string' ? token.split('.') : [];
  const header = parts.length === 3 && parts.every((p) => SEGMENT.test(p)) ? parseJson(parts[0]!) : undefined;
  if (!header || typeof header.alg !== 'string') return { signatureValid: false, refusals: [refusal('malformed')] };
  const unverifiedPayload = parseJson(parts[1]!);
  const unverified = { iss: unverifiedPayload?.iss, aud: unverifiedPayload?.aud, alg: header.alg };
  if (!(algorithms as string[]).includes(header.alg)) return { signatureValid: false, unverified, refusals: [refusal('algorithm_not_allowed')] };

  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(token, keys.key, { algorithms }));
  } catch (e) {
    if (e instanceof TokenError) throw e;
    const code = JOSE_CODES[String((e as { code?: unknown }).code)] ?? 'bad_signature';
    return { signatureValid: false, unverified, refusals: [refusal(code as keyof typeof MESSAGES)] };
  }
  const claims = parseJson(Buffer.from(payloadBytes).toString('base64url')) as JWTPayload | undefined;
  if (!claims) return { signatureValid: true, refusals: [{ ...refusal('malformed'), message: 'the token\'s payload is not a JSON object' }] };

  const facts = factsOf(claims, header.alg);
  return { signatureValid: true, facts, refusals: claimRefusals(facts, rules, nowSeconds) };
}

function factsOf(claims: JWTPayload, alg: string): TokenFacts {
  const scope = unique(splitScope(claims.scope));
  const permissions = unique(strings((claims as { permissions?: unknown }).permissions));
  const clientId = [claims.azp, (claims as { client_id?: unknown }).client_id].find((v): v is string => typeof v === 'string');
  return {
    sub: typeof claims.sub === 'string' ? claims.sub : undefined,
    audience: typeof claims.aud === 'string' ? [claims.aud] : strings(claims.aud),
    clientId,
    scope,
    permissions,
    scopes: unique([...scope, ...permissions]),
    expiresAt: typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : undefined,
    notBefore: typeof claims.nbf === 'number' && Number.isFinite(claims.nbf) ? claims.nbf : undefined,
    claims,
    alg,
  };
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function claimRefusals(f: TokenFacts, rules: TokenRules, now: number): Refusal[] {
  const out: Refusal[] = [];
  const tolerance = rules.clockTolerance ?? 0;
  if (f.claims.iss !== rules.issuer) {
    out.push({ code: 'issuer_mismatch', message: `the token was not issued by ${rules.issuer}`, hint: 'a token from another tenant or environment; with a custom domain, configure the domain the tenant issues tokens under' });
  }
  if (!f.audience.includes(rules.audience)) {
    out.push({ code: 'audience_mismatch', message: `the token is not for the audience ${rules.audience}`, hint: `request the token with audience=${rules.audience} (the API identifier; Auth0 tells identifiers with and without a trailing slash apart)` });
  }
  if (f.expiresAt === undefined) {
    out.push({ code: 'missing_claim', message: 'the token has no exp claim (a number)', hint: 'an Auth0 access token always has one; this token is not from Auth0' });
  } else if (now >= f.expiresAt + tolerance) {
    out.push({ code: 'expired', message: `the token expired at ${iso(f.expiresAt)}${tolerance ? ` (tolerance ${tolerance} s)` : ''}`, hint: 'get a new token (omni-auth token renews it); if clocks differ, check this machine\'s clock' });
  }
  if (f.claims.nbf !== undefined && f.notBefore === undefined) {
    out.push({ code: 'missing_claim', message: 'the token\'s nbf claim is not a number' });
  } else if (f.notBefore !== undefined && f.notBefore > now + tolerance) {
    out.push({ code: 'not_yet_valid', message: `the token is not valid before ${iso(f.notBefore)}`, hint: 'check this machine\'s clock' });
  }
  if (f.sub === undefined) {
    out.push({ code: 'missing_claim', message: 'the token has no sub claim (a string)', hint: 'an Auth0 access token always names its subject; this token is not from Auth0' });
  }
  const missingScopes = (rules.requiredScopes ?? []).filter((s) => !f.scopes.includes(s));
  if (missingScopes.length > 0) {
    out.push({ code: 'insufficient_scope', message: `the token lacks the scope${missingScopes.length > 1 ? 's' : ''} ${missingScopes.join(' ')}`, hint: 'request the scope when getting the token (--scope), and grant it to the application (or, with RBAC, to the user) in Auth0' });
  }
  const missingPermissions = (rules.requiredPermissions ?? []).filter((p) => !f.permissions.includes(p));
  if (missingPermissions.length > 0) {
    out.push({
      code: 'missing_permission',
      message: `the token's permissions claim lacks ${missingPermissions.join(' ')}`,
      hint: f.claims.permissions === undefined
        ? 'the token has no permissions claim: turn on "Enable RBAC" and "Add Permissions in the Access Token" for the API, then assign a role with the permission'
        : 'assign the user a role with the permission (or the permission directly) in Auth0, then get a new token',
    });
  }
  return out;
}
