'use strict';
/**
 * omni-auth — Auth0 Action for the `custom-token-exchange` trigger (v1, runtime node22).
 *
 * The omni-auth CLI keeps a machine key (P-256 or Ed25519) and exchanges a short-lived, self-signed
 * "local token" for Auth0 tokens. The local token is a compact JWS:
 *
 *   header   alg  ES256 (crv P-256) or EdDSA (crv Ed25519) — nothing else
 *            typ  "omni-local+jwt"
 *            jwk  the public key (public members only)
 *            kid  the RFC 7638 SHA-256 thumbprint of jwk
 *   payload  iss "omni-auth"; sub = kid; aud = this tenant's issuer URL (https://{domain}/);
 *            azp = the client id; iat = nbf = now; exp ≤ iat + 120 (the CLI mints iat + 60);
 *            jti ≥ 128 random bits, base64url; machine = {host, user, platform}
 *
 * The key is the identity: each thumbprint maps to exactly one user in the connection named by the
 * CONNECTION secret (default `omni-auth-machines`, the username-only database connection that
 * `omni-auth setup` creates). The Action sets exactly these attributes:
 *   user_id   `omni-<thumbprint>` (Auth0 adds its provider prefix: `auth0|omni-<thumbprint>`; no `|`
 *             of our own, Auth0 uses it as the provider separator)
 *   username  `omni-` + the 32 thumbprint bytes in RFC 4648 base32, lowercase, unpadded (57
 *             characters). Auth0 stores usernames lowercased, so a case-sensitive base64url value
 *             would not survive; base32 keeps all 256 bits in the characters Auth0 allows. The
 *             username is the connection's identifier: a tenant on the older reading of Auth0's
 *             "Creation behavior" (an identifier the connection requires must be given) accepts the
 *             user on the dedicated connection, where username is the only identifier.
 *   name      `user@host`, nickname `user` (from the token's `machine`, invisible characters removed)
 * No email: a machine has none, and an invented one could reach someone or trigger verification mail.
 *
 * Person-bound keys (issue 10): after one browser sign-in, the CLI puts `binding: {id_token, salt}` in
 * the (key-signed) payload. The ID token is Auth0's own attestation "this person signed in for key K":
 * its nonce is base64url(SHA-256("omni-auth-bind/v1:" + K's thumbprint + ":" + salt)). The Action
 * verifies it against the tenant's JWKS (see verifyBinding) and sets THAT user with setUserById — no
 * Management API call per exchange. Which users a key may get is the IDENTITY policy:
 *   person   only bound keys; a key without a binding is denied (the default: closed)
 *   machine  the key is the user (below); a binding claim is ignored
 *   both     a bound key gets its person, an unbound key its machine user
 *
 * Secrets (all optional):
 *   ISSUER        accepted `aud` values, comma separated (default `https://${event.request.hostname}/`);
 *                 the first one is also the issuer of the bindings' ID tokens, whose JWKS is
 *                 `<issuer>.well-known/jwks.json`
 *   ALLOWED_KEYS  comma-separated thumbprints; when non-empty, any other key is denied (every mode)
 *   CONNECTION    the connection that holds the machine users (default omni-auth-machines)
 *   IDENTITY      person | machine | both (default person)
 *   BINDING_MAX_AGE_DAYS  how long a binding is good after its sign-in (ID token iat); default 30
 *
 * Outcomes, exactly one per execution:
 *   api.access.rejectInvalidSubjectToken(reason)  the token is bad (counts for Suspicious IP Throttling)
 *   api.access.deny('access_denied', reason)      a valid token from a key not on ALLOWED_KEYS, or from a
 *                                                 key over its replay-store bound (see below), or an
 *                                                 unbound key under `person`, or an expired binding
 *   api.access.deny('server_error', reason)       our own fault (config, cache, library, JWKS fetch, bug)
 *   api.authentication.setUserById(sub)           a good token with a good binding (person, both)
 *   api.authentication.setUserByConnection(...)   a good token, machine user (machine, both)
 * Reasons quote neither the token nor a secret value (only a denied key's thumbprint is named, so an
 * admin can allow it). The handler never throws.
 *
 * Dependencies: jose (pinned in package.json) is ESM-only since v6. It is loaded with `await
 * import('jose')` inside the handler, never with require(): `require()` of an ES module works only on
 * Node builds with require(esm) (^20.19, ^22.12, ≥ 23) and Auth0 does not say which node22 release it
 * runs, while `import()` from CommonJS works on every Node the runtime can be. (A jose line with a
 * CommonJS build, 5.x, would also work, but pins the Action to an older major for good.) Loaded once per
 * warm instance and kept; a failure to load is deny('server_error') and is retried next execution.
 */

const crypto = require('crypto');

const TOKEN_TYPE = 'omni-local+jwt';
const TOKEN_ISSUER = 'omni-auth';
/** The longest lifetime accepted. The CLI mints 60 s right before use: the replay window stays small. */
const MAX_LIFETIME_SECONDS = 120;
/** Tolerated clock skew: expired tokens for this long, and `iat`/`nbf` up to MAX_FUTURE ahead. */
const EXPIRY_LEEWAY_SECONDS = 30;
const MAX_FUTURE_SECONDS = 60;
/** 22 base64url characters carry 132 bits, the first length that holds the required 128. */
const MIN_JTI_LENGTH = 22;
/** A real token is under 1 KB; the cap only bounds the work a hostile caller can ask for. */
const MAX_TOKEN_LENGTH = 8192;
const MAX_USER_LENGTH = 64;
const MAX_HOST_LENGTH = 128;
const DEFAULT_CONNECTION = 'omni-auth-machines';
const USER_ID_PREFIX = 'omni-';
const USERNAME_PREFIX = 'omni-';
const BASE32_LOWER = 'abcdefghijklmnopqrstuvwxyz234567';
const THUMBPRINT_BYTES = 32;
/** What the handler needs from jose; checked once the module is loaded. */
const JOSE_FUNCTIONS = ['calculateJwkThumbprint', 'importJWK', 'compactVerify', 'createLocalJWKSet', 'jwtVerify'];

/** The IDENTITY policy (CONTRACTS-10 §6). Absent means `person`: closed by default. */
const IDENTITY_MODES = ['person', 'machine', 'both'];
const DEFAULT_IDENTITY = 'person';
const DEFAULT_BINDING_MAX_AGE_DAYS = 30;
const SECONDS_PER_DAY = 86400;
/** The nonce that binds a sign-in to a key: base64url(SHA-256(BIND_PREFIX + thumbprint + ":" + salt)). */
const BIND_PREFIX = 'omni-auth-bind/v1:';
/** 16 random bytes, base64url: 22 characters. */
const SALT_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** Auth0 signs ID tokens with RS256 (HS256 only for clients configured so; never for this CLI). */
const ID_TOKEN_ALG = 'RS256';
/** An ID token's iat may be this far ahead of the Action's clock (skew), no further. */
const ID_TOKEN_MAX_FUTURE_SECONDS = 60;
const MAX_SUB_LENGTH = 255;
/** The deny texts the CLI maps to `binding_required` (it looks for `omni-auth login --browser`). */
const NOT_BOUND_REASON = 'this machine key is not bound to a person; sign in once: omni-auth login --browser';
const EXPIRED_REASON = 'the sign-in that bound this key has expired; sign in again: omni-auth login --browser';

/**
 * The tenant's signing keys, cached in ONE api.cache entry beside the replay entry. Auth0 allows 20
 * entries, values ≤ 4 KB and 8 KB for all keys + values of the trigger; the replay entry may take up
 * to ~4 KB, so this one is kept compact — `k1:` + JSON of [kid, n, e] for each RS256 signing key, no
 * certificate chains — and is never written above JWKS_MAX_VALUE_BYTES (3 RSA-2048 keys, Auth0's
 * current + next + previous, take ~1.2 KB). A JWKS that does not fit is used but not cached: every
 * exchange with a binding then fetches it. The entry lives 10 minutes; a kid it lacks (a rotation)
 * makes the Action fetch once more before it refuses the token. The cache is not durable, and the
 * entry is only an optimisation: a missing or unreadable entry is a fetch, a failed write is ignored.
 */
const JWKS_CACHE_KEY = 'omni-auth:jwks';
const JWKS_VERSION = 'k1:';
const JWKS_TTL_MS = 10 * 60_000;
const JWKS_MAX_VALUE_BYTES = 3000;
/** Actions must finish in 20 s; a JWKS fetch gets at most this long (connect, headers and body). */
const JWKS_FETCH_TIMEOUT_MS = 5000;
const JWKS_MAX_KEYS = 20;

/** Per alg: the only key type and curve we accept, and the RFC 7638 members of that key. */
const KEY_RULES = {
  ES256: { kty: 'EC', crv: 'P-256', members: ['crv', 'kty', 'x', 'y'] },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['crv', 'kty', 'x'] },
};
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Ed25519 public keys that must never be accepted. A point of small order (the identity, the point of
 * order 2, the two of order 4, the four of order 8) verifies the signature `R = identity, S = 0` — and
 * others — for ANY message, so a fixed `omni-<thumbprint>` user would be one anyone can sign for.
 * RFC 8032 §5.1.3 decodes y from the low 255 bits and x's sign from the top bit; the small-order
 * points are exactly those whose y is one of the five values below (each with either sign bit), so
 * the check compares y only. Any y ≥ p is a non-canonical encoding (it aliases y − p: e.g. p + 1 is
 * the identity again) and is refused too, as libsodium does. Checked on the decoded `x` bytes BEFORE
 * any signature work: OpenSSL's verification does not refuse these keys.
 */
const ED25519_P = (1n << 255n) - 19n;
const ED25519_SMALL_ORDER_Y = new Set([
  0n, // (±√−1, 0): order 4
  1n, // the identity (0, 1): order 1
  ED25519_P - 1n, // (0, −1): order 2
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n, // order 8
  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n, // order 8
]);

/**
 * Characters that must never reach the display name: Unicode format characters (\p{Cf}: zero-width
 * space/joiners U+200B–U+200D, word joiner U+2060, BOM U+FEFF, Arabic letter mark U+061C, every bidi
 * embedding/override/isolate U+200E/F, U+202A–E, U+2066–9, tag characters), controls (\p{Cc}), line
 * and paragraph separators (\p{Zl}, \p{Zp}: U+2028, U+2029), and the Hangul fillers (letters that
 * render as nothing). "adm\u200din" must show as "admin", not as a look-alike of it.
 */
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/gu;

/**
 * Replay store. Auth0 gives a trigger 20 cache entries, keys ≤ 64 bytes, values ≤ 4 KB, 8 KB in all,
 * and its cache is NOT durable: "items may not be available in later transactions even if they are
 * within their specified lifetime". So replay protection here is best effort:
 *   - while the entry survives, a token is refused the second time it is presented;
 *   - when Auth0 drops the entry (or two executions race on it — the cache is not transactional), a
 *     replay of a token is possible until that token expires. The lifetime bounds it: the CLI mints
 *     exp = iat + 60, the Action accepts no more than 120 s plus 30 s leeway, so a captured CLI token
 *     is worth at most ~90 s, and never more than 210 s for any token (iat up to 60 s ahead).
 * The lifetime, not the cache, is the guarantee; the cache narrows it further when it can.
 *
 * Layout: ONE entry (one per jti would lose tokens to the 20-entry limit), value `v2:` followed by
 * fixed-width records `tag | hash | exp`:
 *   tag   the first 10 characters of the key's thumbprint (60 bits): whose token it was;
 *   hash  hash(kid.jti), 12 base64url characters (72 bits; a collision only refuses a fresh token);
 *   exp   the token's exp in base36 (7 characters, good past the year 4000).
 * Records are pruned once their token could no longer be accepted (exp + leeway), so the entry holds
 * only live tokens: at most REPLAY_CAPACITY (~137 in under 4 KB).
 *
 * Floods. Keys cost nothing to make, and every valid token must be remembered, so a flood must not
 * turn into a tenant-wide outage (issue: one key at one exchange per second once kept everyone at
 * server_error). Two rules:
 *   1. Per key: at most MAX_LIVE_PER_KEY live tokens. A key at its bound is refused with
 *      deny('access_denied') naming that key and when to retry — only that key. `access_denied`, not
 *      `invalid_request`: the token is valid (rejectInvalidSubjectToken would count it against the
 *      caller's IP for Suspicious IP Throttling and block every machine behind the same NAT), and
 *      `invalid_request` is what the CLI reads as "your token is bad, check the clock"; access_denied
 *      is the policy refusal the CLI already explains ("the tenant's Action denied this machine"),
 *      and the reason says why. One key alone therefore never fills the store.
 *   2. Store full (many keys at once): room is made by evicting, never by refusing. The record
 *      evicted belongs to the key holding the MOST live records, its earliest-expiring one first. A
 *      flooder loses its own records first — harmless: it could mint new tokens anyway — while a
 *      machine with one or two live tokens keeps its protection as long as any key holds more.
 *      Only a flood of many keys at one token each reaches the others' records; those tokens then
 *      fall back to the lifetime bound above, exactly as when Auth0 drops the entry. Failing closed
 *      instead would buy nothing durable (the cache may forget anyway) and give any caller a
 *      tenant-wide denial of service. ALLOWED_KEYS stops self-made keys before they reach the store.
 * An entry this Action cannot read is still server_error (fails closed: only the tenant's own code
 * could have written it); an entry of the previous layout (no `v2:`) is started afresh.
 */
const REPLAY_KEY = 'omni-auth:jti';
const REPLAY_VERSION = 'v2:';
const REPLAY_TAG_LENGTH = 10;
const REPLAY_HASH_LENGTH = 12;
const REPLAY_EXP_LENGTH = 7;
const REPLAY_RECORD_LENGTH = REPLAY_TAG_LENGTH + REPLAY_HASH_LENGTH + REPLAY_EXP_LENGTH;
const REPLAY_MAX_VALUE_BYTES = 4000; // under 4096, margin for Auth0's own accounting
const REPLAY_CAPACITY = Math.floor((REPLAY_MAX_VALUE_BYTES - REPLAY_VERSION.length) / REPLAY_RECORD_LENGTH);
const MAX_LIVE_PER_KEY = 10;
const REPLAY_VALUE = new RegExp(
  `^${REPLAY_VERSION}(?:[A-Za-z0-9_-]{${REPLAY_TAG_LENGTH + REPLAY_HASH_LENGTH}}[0-9a-z]{${REPLAY_EXP_LENGTH}})*$`,
);
/** The first layout: 12-character hashes and exps, no tag, no version. Dropped when met. */
const REPLAY_VALUE_V1 = /^(?:[A-Za-z0-9_-]{12}[0-9a-z]{7})*$/;

/** The token is bad: rejectInvalidSubjectToken. */
class InvalidToken extends Error {}
/** A policy refusal that must not count for IP throttling: deny(code). */
class Denied extends Error {
  constructor(code, reason) {
    super(reason);
    this.code = code;
  }
}
/** Our own fault, with a reason safe to show: deny('server_error'). */
class ServerFault extends Error {}

exports.onExecuteCustomTokenExchange = async (event, api) => {
  let outcome;
  try {
    outcome = await exchange(event, api);
  } catch (err) {
    outcome = failure(err);
  }
  try {
    if (outcome.userId !== undefined) {
      // The person's own user; Auth0 refuses it if the user no longer exists or is blocked.
      api.authentication.setUserById(outcome.userId);
    } else if (outcome.user) {
      api.authentication.setUserByConnection(outcome.connection, outcome.user, {
        creationBehavior: 'create_if_not_exists',
        // Not 'replace': Auth0 has no partial update, so 'replace' would remove every attribute not
        // given here (whatever an admin or another Action set on the user), and a changed username
        // would be an error anyway. 'none' leaves an existing user as it is; its name stays the one
        // of its first exchange.
        updateBehavior: 'none',
      });
    } else if (outcome.invalid) {
      api.access.rejectInvalidSubjectToken(outcome.invalid);
    } else {
      api.access.deny(outcome.code, outcome.reason);
    }
  } catch {
    // The api itself failed; nothing more we can do without risking a second outcome.
  }
};

function failure(err) {
  if (err instanceof InvalidToken) return { invalid: err.message };
  if (err instanceof Denied) return { code: err.code, reason: err.message };
  // Never err.message for anything unexpected: it may quote token content.
  const reason = err instanceof ServerFault ? err.message : 'the token exchange Action failed unexpectedly';
  return { code: 'server_error', reason };
}

/** The whole story: configuration, structure, signature, claims, policy, replay, user. */
async function exchange(event, api) {
  const config = readConfig(event);
  const jose = await loadJose();
  const token = subjectToken(event);
  const { header, jwk } = await checkHeader(jose, token);
  const payload = await verifySignature(jose, token, header.alg, jwk);
  const claims = checkClaims(payload, header.kid, config);
  if (config.allowedKeys.length > 0 && !config.allowedKeys.includes(header.kid)) {
    throw new Denied('access_denied', `machine key ${header.kid} is not on the allow-list`);
  }
  // The policy. In `machine` mode a binding is not even looked at.
  let person;
  if (config.identity !== 'machine') {
    if (claims.binding !== undefined) person = await verifyBinding(jose, api, claims.binding, header.kid, config);
    else if (config.identity === 'person') throw new Denied('access_denied', NOT_BOUND_REASON);
  }
  await rememberJti(api, header.kid, claims.jti, claims.exp);
  if (person !== undefined) return { userId: person };
  return {
    connection: config.connection,
    user: {
      user_id: USER_ID_PREFIX + header.kid,
      username: usernameOf(header.kid),
      name: `${claims.machine.user}@${claims.machine.host}`,
      nickname: claims.machine.user,
    },
  };
}

function readConfig(event) {
  const secrets = (event && event.secrets) || {};
  const clientId = event && event.client && event.client.client_id;
  if (typeof clientId !== 'string' || clientId === '') {
    throw new ServerFault('the Action received no client id');
  }
  let issuers = list(secrets.ISSUER);
  if (issuers.length === 0) {
    const hostname = event.request && event.request.hostname;
    if (typeof hostname !== 'string' || hostname === '') {
      throw new ServerFault('the Action has no ISSUER secret and the request has no hostname');
    }
    issuers = [`https://${hostname}/`];
  }
  const connection = typeof secrets.CONNECTION === 'string' && secrets.CONNECTION.trim();
  return {
    clientId,
    issuers,
    allowedKeys: list(secrets.ALLOWED_KEYS),
    connection: connection || DEFAULT_CONNECTION,
    identity: identityOf(secrets.IDENTITY),
    maxAgeSeconds: maxAgeOf(secrets.BINDING_MAX_AGE_DAYS),
  };
}

function identityOf(secret) {
  const value = typeof secret === 'string' ? secret.trim().toLowerCase() : '';
  if (value === '') return DEFAULT_IDENTITY;
  if (!IDENTITY_MODES.includes(value)) throw new ServerFault('the IDENTITY secret must be person, machine or both');
  return value;
}

function maxAgeOf(secret) {
  const text = typeof secret === 'string' ? secret.trim() : '';
  if (text === '') return DEFAULT_BINDING_MAX_AGE_DAYS * SECONDS_PER_DAY;
  const days = /^[0-9]+(?:\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(days > 0 && Number.isFinite(days))) {
    throw new ServerFault('the BINDING_MAX_AGE_DAYS secret must be a positive number of days');
  }
  return Math.floor(days * SECONDS_PER_DAY);
}

function list(secret) {
  if (typeof secret !== 'string') return [];
  return secret.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * `omni-` + base32 (RFC 4648 alphabet, lowercase, no padding) of the thumbprint's 32 bytes: 52
 * characters, 57 in all — within the connection's 64, unchanged by Auth0's lowercasing, and only
 * characters Auth0 allows in usernames. Never email-shaped (no `@`).
 */
function usernameOf(kid) {
  const bytes = Buffer.from(kid, 'base64url');
  if (bytes.length !== THUMBPRINT_BYTES) throw new ServerFault('the key thumbprint has an unexpected length');
  return USERNAME_PREFIX + base32Lower(bytes);
}

function base32Lower(bytes) {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_LOWER[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32_LOWER[(buffer << (5 - bits)) & 31];
  return out;
}

let joseModule;
/**
 * jose, loaded on first use with `import()` (jose 6 is ESM-only; see the header) and kept for later
 * executions of a warm instance. A missing or broken dependency is deny('server_error'), not a crash
 * and not a rejected token; a failed load is not remembered, so the next execution tries again.
 */
async function loadJose() {
  if (joseModule) return joseModule;
  let loaded;
  try {
    loaded = await import('jose');
  } catch {
    throw new ServerFault('the Action could not load its dependency jose');
  }
  // A CommonJS build seen through import() puts the functions on `default`.
  const candidates = [loaded, loaded && loaded.default];
  const usable = candidates.find((candidate) => candidate && JOSE_FUNCTIONS.every((name) => typeof candidate[name] === 'function'));
  if (!usable) throw new ServerFault('the Action loaded a jose without the functions it needs');
  joseModule = usable;
  return joseModule;
}

function subjectToken(event) {
  const transaction = event.transaction;
  if (!transaction || typeof transaction !== 'object') {
    throw new ServerFault('the Action received no transaction');
  }
  const token = transaction.subject_token;
  if (typeof token !== 'string' || token === '') throw new InvalidToken('subject_token is missing');
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidToken('subject_token is too long');
  return token;
}

/** Structure, then header rules: all before any signature work. */
async function checkHeader(jose, token) {
  const segments = token.split('.');
  if (segments.length !== 3) throw new InvalidToken('subject_token is not a compact JWS');
  for (const segment of segments) {
    if (segment === '' || !BASE64URL.test(segment) || !isCanonicalBase64url(segment)) {
      throw new InvalidToken('subject_token is not a compact JWS');
    }
  }
  const header = parseJsonObject(segments[0]);
  if (!header) throw new InvalidToken('the JWS header is not a JSON object');

  const rule = Object.prototype.hasOwnProperty.call(KEY_RULES, header.alg) ? KEY_RULES[header.alg] : undefined;
  if (!rule) throw new InvalidToken('alg must be ES256 or EdDSA');
  if (header.typ !== TOKEN_TYPE) throw new InvalidToken(`typ must be ${TOKEN_TYPE}`);

  const given = header.jwk;
  if (!isPlainObject(given)) throw new InvalidToken('the header has no jwk');
  if (PRIVATE_JWK_MEMBERS.some((name) => name in given)) {
    throw new InvalidToken('the header jwk holds private key members');
  }
  if (given.kty !== rule.kty || given.crv !== rule.crv) {
    throw new InvalidToken(`${header.alg} requires a ${rule.kty} key on ${rule.crv}`);
  }
  const jwk = {};
  for (const name of rule.members) {
    if (typeof given[name] !== 'string' || given[name] === '') {
      throw new InvalidToken(`the header jwk has no valid "${name}"`);
    }
    jwk[name] = given[name];
  }
  if (rule.kty === 'OKP') checkEd25519Point(jwk.x);
  if (typeof header.kid !== 'string' || header.kid !== (await jose.calculateJwkThumbprint(jwk, 'sha256'))) {
    throw new InvalidToken('kid is not the RFC 7638 thumbprint of the header jwk');
  }
  return { header, jwk };
}

/** Refuses Ed25519 public keys of small order and non-canonical encodings (see ED25519_SMALL_ORDER_Y). */
function checkEd25519Point(x) {
  if (!BASE64URL.test(x) || !isCanonicalBase64url(x)) throw new InvalidToken('the header jwk "x" is not canonical base64url');
  const bytes = Buffer.from(x, 'base64url');
  if (bytes.length !== 32) throw new InvalidToken('the header jwk "x" is not a 32-byte Ed25519 key');
  let y = 0n;
  for (let i = 31; i >= 0; i -= 1) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  if (y >= ED25519_P) throw new InvalidToken('the header jwk is a non-canonical Ed25519 point encoding');
  if (ED25519_SMALL_ORDER_Y.has(y)) throw new InvalidToken('the header jwk is an Ed25519 point of small order');
}

/** The signature, with the key from the header and only the header's (already allowed) alg. */
async function verifySignature(jose, token, alg, jwk) {
  let key;
  try {
    key = await jose.importJWK(jwk, alg);
  } catch {
    throw new InvalidToken('the header jwk is not a valid public key');
  }
  let result;
  try {
    result = await jose.compactVerify(token, key, { algorithms: [alg] });
  } catch (err) {
    if (isJoseError(err)) throw new InvalidToken('the token signature is invalid');
    throw err;
  }
  let payload;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(result.payload));
  } catch {
    payload = undefined;
  }
  if (!isPlainObject(payload)) throw new InvalidToken('the token payload is not a JSON object');
  return payload;
}

function checkClaims(payload, kid, config) {
  if (payload.iss !== TOKEN_ISSUER) throw new InvalidToken(`iss must be ${TOKEN_ISSUER}`);
  if (payload.sub !== kid) throw new InvalidToken('sub must equal kid');
  // A single string, as minted: this closed contract has no use for multi-audience tokens.
  if (typeof payload.aud !== 'string' || !config.issuers.includes(payload.aud)) {
    throw new InvalidToken("aud is not this tenant's issuer");
  }
  if (payload.azp !== config.clientId) throw new InvalidToken('azp is not the requesting client');

  const { iat, exp, nbf } = payload;
  if (!isNumericDate(iat)) throw new InvalidToken('iat is missing or not a number');
  if (!isNumericDate(exp)) throw new InvalidToken('exp is missing or not a number');
  if (nbf !== undefined && !isNumericDate(nbf)) throw new InvalidToken('nbf is not a number');
  if (exp <= iat) throw new InvalidToken('exp must be after iat');
  if (exp - iat > MAX_LIFETIME_SECONDS) {
    throw new InvalidToken(`the token lives longer than ${MAX_LIFETIME_SECONDS} seconds`);
  }
  const now = Math.floor(Date.now() / 1000);
  if (iat > now + MAX_FUTURE_SECONDS) throw new InvalidToken('iat is in the future');
  if (nbf !== undefined && nbf > now + MAX_FUTURE_SECONDS) throw new InvalidToken('the token is not valid yet (nbf)');
  if (exp + EXPIRY_LEEWAY_SECONDS <= now) throw new InvalidToken('the token has expired');

  const { jti } = payload;
  if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || !BASE64URL.test(jti)) {
    throw new InvalidToken(`jti must be at least ${MIN_JTI_LENGTH} base64url characters`);
  }
  return { exp, jti, machine: checkMachine(payload.machine), binding: payload.binding };
}

/** `machine` names the user in Auth0 (`user@host`): strings, printable, bounded. */
function checkMachine(machine) {
  if (!isPlainObject(machine)) throw new InvalidToken('machine is missing');
  const { host, user, platform } = machine;
  if (typeof host !== 'string' || typeof user !== 'string' || typeof platform !== 'string') {
    throw new InvalidToken('machine must hold host, user and platform strings');
  }
  const cleanHost = printable(host, MAX_HOST_LENGTH);
  const cleanUser = printable(user, MAX_USER_LENGTH);
  if (cleanHost === '' || cleanUser === '') throw new InvalidToken('machine.host and machine.user must not be empty');
  return { host: cleanHost, user: cleanUser };
}

function printable(value, maxLength) {
  const cleaned = Array.from(value.replace(INVISIBLE, '').trim());
  return cleaned.slice(0, maxLength).join('').trim();
}

/**
 * The binding: Auth0's ID token of the sign-in that bound this key, and the salt of its nonce. Every
 * check failing is a forgery (rejectInvalidSubjectToken), except two: the tenant's keys cannot be
 * fetched (deny server_error — our fault, nobody is throttled for it) and a genuine binding older
 * than the max age (deny access_denied, "sign in again"). Returns the person's user id (`sub`).
 *
 *   alg       RS256 only, checked on the header before any key is looked up (no none, no HS256 with a
 *             public key as secret, no PS/ES even with a key of the tenant's)
 *   signature a key of the tenant's JWKS (`<issuer>.well-known/jwks.json`), chosen by the header kid
 *   iss       exactly the issuer (first ISSUER value, else https://{hostname}/)
 *   aud       contains this client's id; an array aud needs azp == the client id (OIDC Core §3.1.3.7),
 *             and an azp, when present, must be the client id anyway
 *   nonce     == base64url(SHA-256("omni-auth-bind/v1:" + the local token's kid + ":" + salt)): the
 *             sign-in was made for THIS key — a binding of key K is useless with key L
 *   iat       not ahead of now by more than 60 s; iat + BINDING_MAX_AGE_DAYS > now, else expired
 *   exp       NOT checked against now: an ID token lives minutes to hours, the binding the max age
 *             (docs/local-token.md argues it). jose still checks exp > iat, at the sign-in's own time.
 *   sub       a string of at most 255 characters (OIDC Core §2): the user setUserById gets
 */
async function verifyBinding(jose, api, binding, kid, config) {
  if (!isPlainObject(binding)) throw new InvalidToken('binding must be an object with id_token and salt');
  const { id_token: idToken, salt } = binding;
  if (typeof salt !== 'string' || !SALT_PATTERN.test(salt) || !isCanonicalBase64url(salt)) {
    throw new InvalidToken('binding.salt must be 22 base64url characters');
  }
  if (typeof idToken !== 'string' || idToken === '') throw new InvalidToken('binding.id_token is missing');
  const segments = idToken.split('.');
  if (segments.length !== 3 || segments.some((segment) => segment === '' || !BASE64URL.test(segment) || !isCanonicalBase64url(segment))) {
    throw new InvalidToken("the binding's ID token is not a compact JWS");
  }
  const header = parseJsonObject(segments[0]);
  const unverified = parseJsonObject(segments[1]);
  if (!header || !unverified) throw new InvalidToken("the binding's ID token is not a JWT");
  if (header.alg !== ID_TOKEN_ALG) throw new InvalidToken(`the binding's ID token must be signed with ${ID_TOKEN_ALG}`);
  if (typeof header.kid !== 'string' || header.kid === '') throw new InvalidToken("the binding's ID token names no signing key (kid)");
  if (!isNumericDate(unverified.iat) || unverified.iat < 0) throw new InvalidToken("the binding's ID token has no iat");
  // Judged before the signature too: a genuine ID token never has one, and jose gets a sane date.
  const now = Math.floor(Date.now() / 1000);
  if (unverified.iat > now + ID_TOKEN_MAX_FUTURE_SECONDS) throw new InvalidToken("the binding's ID token is issued in the future");

  const issuer = config.issuers[0];
  let keys = await tenantKeys(api, issuer, false);
  let payload;
  try {
    payload = await verifyIdToken(jose, idToken, keys.keys, issuer, config.clientId, unverified.iat);
  } catch (err) {
    if (!(err && err.code === 'ERR_JWKS_NO_MATCHING_KEY' && keys.cached)) throw idTokenError(err);
    // A kid the cached set lacks: the tenant may have rotated its key. Fetch once more, then judge.
    keys = await tenantKeys(api, issuer, true);
    try {
      payload = await verifyIdToken(jose, idToken, keys.keys, issuer, config.clientId, unverified.iat);
    } catch (again) {
      throw idTokenError(again);
    }
  }

  const { aud, azp, nonce, sub, iat } = payload;
  if (Array.isArray(aud) && azp !== config.clientId) throw new InvalidToken("the binding's ID token has several audiences and no azp of this client");
  if (azp !== undefined && azp !== config.clientId) throw new InvalidToken("the binding's ID token was issued to another client (azp)");
  if (typeof nonce !== 'string' || nonce !== bindingNonce(kid, salt)) {
    throw new InvalidToken('the binding was not made for this machine key (nonce)');
  }
  if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUB_LENGTH) throw new InvalidToken("the binding's ID token has no valid sub");
  if (iat + config.maxAgeSeconds <= now) throw new Denied('access_denied', EXPIRED_REASON);
  return sub;
}

function bindingNonce(kid, salt) {
  return crypto.createHash('sha256').update(`${BIND_PREFIX}${kid}:${salt}`, 'utf8').digest('base64url');
}

/** jose's jwtVerify against a local key set; `exp` is judged at the sign-in's own time (iat), not now. */
async function verifyIdToken(jose, idToken, keys, issuer, clientId, iat) {
  const keySet = jose.createLocalJWKSet({
    keys: keys.map(([kid, n, e]) => ({ kty: 'RSA', kid, n, e, alg: ID_TOKEN_ALG, use: 'sig' })),
  });
  const { payload } = await jose.jwtVerify(idToken, keySet, {
    algorithms: [ID_TOKEN_ALG],
    issuer,
    audience: clientId,
    requiredClaims: ['iat', 'sub', 'nonce'],
    currentDate: new Date(iat * 1000),
  });
  return payload;
}

/** What a failed ID token verification says; anything not from jose is our fault (server_error). */
function idTokenError(err) {
  if (err instanceof InvalidToken || err instanceof Denied || err instanceof ServerFault) return err;
  if (!isJoseError(err)) return err;
  switch (err.code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new InvalidToken("the binding's ID token is signed by a key this tenant does not publish");
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new InvalidToken("the binding's ID token signature is invalid");
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new InvalidToken(`the binding's ID token must be signed with ${ID_TOKEN_ALG}`);
    case 'ERR_JWT_EXPIRED':
      return new InvalidToken("the binding's ID token expires before it was issued");
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.claim === 'iss') return new InvalidToken("the binding's ID token is from another issuer");
      if (err.claim === 'aud') return new InvalidToken("the binding's ID token was issued to another client (aud)");
      return new InvalidToken(`the binding's ID token has no valid ${typeof err.claim === 'string' ? err.claim : 'claim'}`);
    default:
      return new InvalidToken("the binding's ID token is invalid");
  }
}

/**
 * The tenant's RS256 signing keys as [kid, n, e] triples: from api.cache unless `refresh`, else (and
 * on a miss) fetched and cached when they fit. `cached` says whether they came from the cache.
 */
async function tenantKeys(api, issuer, refresh) {
  if (!refresh) {
    const cached = await readCachedKeys(api);
    if (cached) return { keys: cached, cached: true };
  }
  const keys = await fetchKeys(issuer);
  const value = JWKS_VERSION + JSON.stringify(keys);
  try {
    if (Buffer.byteLength(value, 'utf8') <= JWKS_MAX_VALUE_BYTES) await api.cache.set(JWKS_CACHE_KEY, value, { ttl: JWKS_TTL_MS });
    else await api.cache.delete(JWKS_CACHE_KEY);
  } catch {
    // Only an optimisation: the next exchange fetches again.
  }
  return { keys, cached: false };
}

async function readCachedKeys(api) {
  let record;
  try {
    record = await api.cache.get(JWKS_CACHE_KEY);
  } catch {
    return undefined;
  }
  const value = record && typeof record.value === 'string' ? record.value : '';
  if (!value.startsWith(JWKS_VERSION)) return undefined;
  let keys;
  try {
    keys = JSON.parse(value.slice(JWKS_VERSION.length));
  } catch {
    return undefined;
  }
  const valid = Array.isArray(keys) && keys.length > 0 &&
    keys.every((key) => Array.isArray(key) && key.length === 3 && key.every((part) => typeof part === 'string' && part !== ''));
  return valid ? keys : undefined;
}

/** GET <issuer>.well-known/jwks.json with the runtime's global fetch and a short timeout. */
async function fetchKeys(issuer) {
  let url;
  try {
    url = new URL('.well-known/jwks.json', issuer.endsWith('/') ? issuer : `${issuer}/`);
  } catch {
    throw new ServerFault('the issuer is not a URL, so its signing keys cannot be fetched');
  }
  if (typeof fetch !== 'function') throw new ServerFault('the Action runtime has no fetch to get the tenant signing keys');
  let body;
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new ServerFault(`the tenant signing keys could not be fetched (HTTP ${response.status})`);
    body = JSON.parse(await response.text());
  } catch (err) {
    if (err instanceof ServerFault) throw err;
    throw new ServerFault('the tenant signing keys could not be fetched');
  }
  const published = body && Array.isArray(body.keys) ? body.keys : [];
  const keys = [];
  for (const key of published) {
    if (!isPlainObject(key) || key.kty !== 'RSA') continue;
    if (key.alg !== undefined && key.alg !== ID_TOKEN_ALG) continue;
    if (key.use !== undefined && key.use !== 'sig') continue;
    if (typeof key.kid !== 'string' || key.kid === '' || keys.some(([kid]) => kid === key.kid)) continue;
    if (![key.n, key.e].every((part) => typeof part === 'string' && part !== '' && BASE64URL.test(part))) continue;
    keys.push([key.kid, key.n, key.e]);
    if (keys.length === JWKS_MAX_KEYS) break;
  }
  if (keys.length === 0) throw new ServerFault('the tenant publishes no RS256 signing key');
  return keys;
}

/**
 * Remembers the token until it can no longer be accepted; refuses one already seen, and a key over
 * its bound; makes room by evicting from the heaviest key. See REPLAY_KEY for the whole design.
 */
async function rememberJti(api, kid, jti, exp) {
  const now = Math.floor(Date.now() / 1000);
  const tag = kid.slice(0, REPLAY_TAG_LENGTH);
  const hash = crypto.createHash('sha256').update(`${kid}.${jti}`).digest('base64url').slice(0, REPLAY_HASH_LENGTH);

  let cached;
  try {
    cached = await api.cache.get(REPLAY_KEY);
  } catch {
    throw new ServerFault('the replay cache could not be read');
  }
  const live = readReplayRecords(cached && typeof cached.value === 'string' ? cached.value : '')
    .filter((record) => record.exp + EXPIRY_LEEWAY_SECONDS > now);
  if (live.some((record) => record.tag === tag && record.hash === hash)) {
    throw new InvalidToken('the token was already used (jti replay)');
  }

  const own = live.filter((record) => record.tag === tag);
  if (own.length >= MAX_LIVE_PER_KEY) {
    const wait = Math.max(1, Math.min(...own.map((record) => record.exp)) + EXPIRY_LEEWAY_SECONDS - now);
    throw new Denied(
      'access_denied',
      `machine key ${kid} made more than ${MAX_LIVE_PER_KEY} token exchanges within its tokens' lifetime; retry in about ${wait} s`,
    );
  }
  while (live.length >= REPLAY_CAPACITY) evictOne(live);
  live.push({ tag, hash, exp: Math.ceil(exp) });

  const value = REPLAY_VERSION + live.map((r) => r.tag + r.hash + r.exp.toString(36).padStart(REPLAY_EXP_LENGTH, '0')).join('');
  const lastExp = Math.max(...live.map((record) => record.exp));
  let result;
  try {
    result = await api.cache.set(REPLAY_KEY, value, { expires_at: (lastExp + EXPIRY_LEEWAY_SECONDS) * 1000 });
  } catch {
    result = undefined;
  }
  if (!result || result.type !== 'success') throw new ServerFault('the replay cache could not be written');
}

function readReplayRecords(stored) {
  if (stored === '' || (!stored.startsWith(REPLAY_VERSION) && REPLAY_VALUE_V1.test(stored))) return [];
  if (!REPLAY_VALUE.test(stored)) throw new ServerFault('the replay cache holds an unreadable value');
  const records = [];
  for (let at = REPLAY_VERSION.length; at < stored.length; at += REPLAY_RECORD_LENGTH) {
    records.push({
      tag: stored.slice(at, at + REPLAY_TAG_LENGTH),
      hash: stored.slice(at + REPLAY_TAG_LENGTH, at + REPLAY_TAG_LENGTH + REPLAY_HASH_LENGTH),
      exp: parseInt(stored.slice(at + REPLAY_TAG_LENGTH + REPLAY_HASH_LENGTH, at + REPLAY_RECORD_LENGTH), 36),
    });
  }
  return records;
}

/** Drops one record: of the key with the most live records, the one that expires first. */
function evictOne(live) {
  const counts = new Map();
  for (const record of live) counts.set(record.tag, (counts.get(record.tag) || 0) + 1);
  let victim = -1;
  for (let i = 0; i < live.length; i += 1) {
    if (victim < 0) {
      victim = i;
      continue;
    }
    const heavier = counts.get(live[i].tag) - counts.get(live[victim].tag);
    if (heavier > 0 || (heavier === 0 && live[i].exp < live[victim].exp)) victim = i;
  }
  live.splice(victim, 1);
}

function parseJsonObject(segment) {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url')));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Rejects the alternative spellings base64url allows in its last character (signature malleability). */
function isCanonicalBase64url(segment) {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumericDate(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

function isJoseError(err) {
  return Boolean(err) && typeof err.code === 'string' && err.code.startsWith('ERR_J');
}
