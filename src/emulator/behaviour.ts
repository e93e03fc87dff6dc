/**
 * Every behaviour of the emulator where Auth0 does not document what it does (see
 * /work/shared/reference/auth0-cte.md §1, "documented?"). One place, so a finding about the real
 * tenant corrects one constant. docs/emulator.md explains each choice.
 */
import type { Tenant } from './state.js';

/** An OAuth error answer: HTTP status, `error` code and `error_description`. */
export interface ErrorChoice {
  status: number;
  error: string;
  description: string;
}

const choice = (status: number, error: string, description: string): ErrorChoice => ({ status, error, description });

// ---- Token exchange: configuration refusals ----

/** No Token Exchange Profile has that subject_token_type (Auth0: 400 assumed, text undocumented). */
export const NO_PROFILE = choice(400, 'invalid_request', 'No Token Exchange Profile matches the subject_token_type.');

/** The client's `token_exchange.allow_any_profile_of_type` lacks `custom_authentication` (403 assumed). */
export const CLIENT_NOT_ALLOWED = choice(403, 'unauthorized_client', 'Custom Token Exchange is not enabled for this client.');

/** Auth0 refuses this trigger for third-party and non-OIDC-conformant clients; the answer is ours. */
export const CLIENT_NOT_ELIGIBLE = choice(403, 'unauthorized_client', 'Custom Token Exchange requires a first-party, OIDC-conformant client.');

/**
 * The API does not skip consent (`skip_consent_for_verifiable_first_party_clients` false). Auth0
 * documents the form — `invalid_request` with `consent_required` in the description (reference §6,
 * Custom Token Exchange § Troubleshooting) — but not the status: 403 is the emulator's choice.
 */
export const CONSENT_REQUIRED = choice(
  403,
  'invalid_request',
  'consent_required: the API does not allow skipping user consent; turn on "Allow Skipping User Consent" for it.',
);

/** The profile's Action is missing or has no deployed version (Auth0 refuses such profiles up front). */
export const ACTION_NOT_DEPLOYED = choice(403, 'access_denied', 'The Custom Token Exchange Action is not deployed.');

/**
 * Where the audience comes from when the request has none: Auth0 uses the tenant's "Default
 * Audience" setting; the emulated tenant's default audience is the API it was seeded with.
 */
export function defaultAudience(tenant: Tenant): string {
  return tenant.seed.audience;
}

// ---- Token exchange: the Action's outcomes ----

/**
 * `api.access.deny(code, reason)`: `error` is the code, `error_description` the reason (CTE "API
 * Object" § api.access.deny: "invalid_request, server_error, or any custom code"); the status is
 * 500 for `server_error` and 400 for `invalid_request` and custom codes (reference §6).
 */
export function deniedStatus(code: string): number {
  return code === 'server_error' ? 500 : 400;
}

/** `api.access.rejectInvalidSubjectToken(reason)`: "rejected with an invalid_request error code". */
export const REJECTED = { status: 400, error: 'invalid_request' } as const;

/**
 * The Action threw, timed out, or set no user / two users. Auth0 surfaces an uncaught Action error
 * as `access_denied` with the error's message (support article "Troubleshooting the access_denied
 * error"); on /oauth/token, access_denied is a 403.
 */
export const ACTION_FAILED = { status: 403, error: 'access_denied' } as const;

// ---- Post-login Actions after an exchange ----

/**
 * A post-login Action called `api.access.deny(reason)`: Auth0's post-login "API Object" says the
 * reason "is sent as error_description"; the `error` (`access_denied`) and the status are not
 * documented. An Auth0 Community report of a post-login deny on /oauth/token ("Help understanding
 * error codes in pre-user-registration and post-login actions") shows HTTP 500
 * `{"error":"access_denied","error_description":<reason>}` — the emulator answers the same.
 */
export const POST_LOGIN_DENIED = { status: 500, error: 'access_denied' } as const;

/**
 * MFA required by a post-login Action (`api.multifactor.enable`) after a Custom Token Exchange:
 * "Multi-Factor Authentication for Custom Token Exchange" says Auth0 rejects the call with
 * `mfa_required`; "Authenticate Using the Resource Owner Password Flow with MFA" gives the body,
 * `{"error":"mfa_required","error_description":"Multifactor authentication required","mfa_token":…}`,
 * and the Auth0 SDKs document the status as 403.
 */
export const MFA_REQUIRED = choice(403, 'mfa_required', 'Multifactor authentication required');

// ---- Token exchange: resolving the user the Action set (all undocumented answers) ----

export const USER_NOT_FOUND = choice(403, 'access_denied', 'The user set by the Action does not exist.');
export const CONNECTION_NOT_FOUND = choice(403, 'access_denied', 'The connection set by the Action does not exist.');
export const CONNECTION_NOT_ENABLED = choice(403, 'access_denied', 'The connection set by the Action is not enabled for this client.');
export const USER_ID_MISSING = choice(403, 'access_denied', 'setUserByConnection needs user_attributes.user_id.');
/** creationBehavior 'none' and no such user. */
export const USER_NOT_CREATED = choice(403, 'access_denied', 'The user does not exist and the Action did not allow creating it.');
/** An existing user's email/email_verified/phone_number/phone_verified/username would change. */
export const IMMUTABLE_ATTRIBUTE = choice(403, 'access_denied', 'The Action may not change these attributes of an existing user: ');

// ---- Token exchange: request validation texts (codes and statuses are Auth0's) ----

export const REQUESTED_TOKEN_TYPE = choice(400, 'invalid_request', 'Invalid subject_token_type and requested_token_type combination.');
export const RESERVED_NAMESPACE = choice(400, 'invalid_request', 'Invalid subject_token_type: it uses a reserved namespace.');
export const NOT_A_NAMESPACE = choice(400, 'invalid_request', 'Invalid subject_token_type: it must start with https:// or urn:.');
export const ACTOR_PAIR = choice(400, 'invalid_request', 'actor_token and actor_token_type must be sent together.');

// ---- Client authentication (codes are Auth0's, texts ours) ----

export const UNKNOWN_CLIENT = choice(401, 'invalid_client', 'Unknown client.');
export const BAD_CLIENT_SECRET = choice(401, 'invalid_client', 'Client authentication failed.');
export const CLIENT_ID_MISMATCH = choice(400, 'invalid_request', 'client_id in the body and in the Authorization header differ.');

// ---- Private Key JWT (issue 12 §4; docs/fidelity.md "Issue 12 — machine-to-machine") ----

/** RFC 7523 §2.2's client_assertion_type, the one Auth0 documents. */
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Auth0: "Auth0 supports a maximum of 5 minutes for the token lifetime". */
export const ASSERTION_LIFETIME_MAX_SECONDS = 300;
/** CHOICE: Auth0 documents no text for a refused assertion (wrong key, alg, iss/sub/aud, expired, replayed). */
export const ASSERTION_REFUSED = choice(401, 'invalid_client', 'Invalid client assertion');
/** CHOICE: a client configured for Private Key JWT presenting a secret (or nothing). */
export const PRIVATE_KEY_JWT_REQUIRED = choice(401, 'invalid_client', 'Client authentication failed: this client authenticates with Private Key JWT.');
/** RFC 6749 §2.3: one method per request. */
export const TWO_CLIENT_AUTH_METHODS = choice(400, 'invalid_request', 'Only one client authentication method may be used.');

// ---- Refresh tokens and revocation ----

/** A refresh request may narrow the scope, never widen it (RFC 6749 §6). */
export const SCOPE_WIDENED = choice(400, 'invalid_scope', 'The requested scope exceeds the scope originally granted.');
/** RFC 7009 §2.1: a token issued to another client is refused; the code is ours. */
export const REVOKE_OTHER_CLIENT = choice(403, 'unauthorized_client', 'The token was not issued to this client.');

// ---- Throttling and rate limiting ----

export const TOO_MANY_ATTEMPTS = choice(
  429,
  'too_many_attempts',
  'We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.',
);
export const TOO_MANY_REQUESTS = choice(429, 'too_many_requests', 'Global limit has been reached');

/**
 * The X-RateLimit-Limit shown on every response that is not a token exchange. It is counted in a
 * 1-second window and shown, never enforced: only token exchanges are limited by the emulator.
 */
export const GENERAL_RATE_LIMIT_PER_SECOND = 100;

// ---- Tokens ----

/** Auth0's default ID token lifetime (10 hours). */
export const ID_TOKEN_LIFETIME_SECONDS = 36_000;
/** `event.tenant.id` handed to the Action. */
export const EMULATOR_TENANT_ID = 'omni-auth-emulator';

// ---- HTTP ----

/** Request bodies above this answer 413 (Auth0 accepts Action code of a few hundred KB). */
export const MAX_BODY_BYTES = 1024 * 1024;

// ---- Browser sign-in (/authorize and the authorization_code grant) ----

/** How long an authorization code may be redeemed (RFC 6749 §4.1.2 recommends at most 10 minutes; Auth0 publishes none). */
export const AUTH_CODE_LIFETIME_MS = 10 * 60 * 1000;
/** How long a sign-in page (its transaction) stays usable. */
export const AUTH_TRANSACTION_LIFETIME_MS = 30 * 60 * 1000;

/**
 * A blocked user on /authorize: Auth0 redirects with "user is blocked" in the URL ("Block and
 * Unblock Users"); the code is `unauthorized` (Auth0 support article "How to Customize Error
 * Message Returned to Application Callback Endpoint": `?error=unauthorized&error_description=user%20is%20blocked`).
 */
export const SIGNIN_BLOCKED = { error: 'unauthorized', description: 'user is blocked' } as const;
/**
 * A blocked user anywhere on /oauth/token (setUserById / setUserByConnection of a blocked user, a
 * refresh token or an authorization code of one): undocumented; 403 access_denied "user is blocked".
 */
export const USER_BLOCKED = choice(403, 'access_denied', 'user is blocked');

/** Wrong email or password on the sign-in page (Auth0's Universal Login wording). */
export const WRONG_CREDENTIALS = 'Wrong email or password.';

/** The code grant's refusals: `invalid_grant`, 403 as Auth0 answers an invalid code. */
export const INVALID_CODE = choice(403, 'invalid_grant', 'Invalid authorization code');
export const BAD_CODE_VERIFIER = choice(403, 'invalid_grant', 'Failed to verify code verifier');
export const REDIRECT_URI_MISMATCH = choice(403, 'invalid_grant', 'redirect_uri does not match the one of the authorization request');
