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
 *            azp = the client id; iat = nbf = now; exp ≤ iat + 300; jti ≥ 128 random bits,
 *            base64url; machine = {host, user, platform}
 *
 * The key is the identity: each thumbprint maps to exactly one user, `omni-<thumbprint>`, in the
 * connection named by the CONNECTION secret (default Username-Password-Authentication); Auth0 adds
 * its provider prefix (`auth0|omni-<thumbprint>` for a database connection). No `|` of our own:
 * Auth0 uses it as the provider separator.
 *
 * Secrets (all optional):
 *   ISSUER        accepted `aud` values, comma separated (default `https://${event.request.hostname}/`)
 *   ALLOWED_KEYS  comma-separated thumbprints; when non-empty, any other key is denied
 *   CONNECTION    the connection that holds the users
 *
 * Outcomes, exactly one per execution:
 *   api.access.rejectInvalidSubjectToken(reason)  the token is bad (counts for Suspicious IP Throttling)
 *   api.access.deny('access_denied', reason)      a valid token from a key not on ALLOWED_KEYS
 *   api.access.deny('server_error', reason)       our own fault (config, cache, library, bug)
 *   api.authentication.setUserByConnection(...)   the token is good
 * Reasons quote neither the token nor a secret value (only a denied key's thumbprint is named, so an
 * admin can allow it). The handler never throws.
 */

const crypto = require('crypto');

const TOKEN_TYPE = 'omni-local+jwt';
const TOKEN_ISSUER = 'omni-auth';
const MAX_LIFETIME_SECONDS = 300;
/** Tolerated clock skew: expired tokens for this long, and `iat`/`nbf` up to MAX_FUTURE ahead. */
const EXPIRY_LEEWAY_SECONDS = 30;
const MAX_FUTURE_SECONDS = 60;
/** 22 base64url characters carry 132 bits, the first length that holds the required 128. */
const MIN_JTI_LENGTH = 22;
/** A real token is under 1 KB; the cap only bounds the work a hostile caller can ask for. */
const MAX_TOKEN_LENGTH = 8192;
const MAX_USER_LENGTH = 64;
const MAX_HOST_LENGTH = 128;
const DEFAULT_CONNECTION = 'Username-Password-Authentication';
const USER_ID_PREFIX = 'omni-';

/** Per alg: the only key type and curve we accept, and the RFC 7638 members of that key. */
const KEY_RULES = {
  ES256: { kty: 'EC', crv: 'P-256', members: ['crv', 'kty', 'x', 'y'] },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['crv', 'kty', 'x'] },
};
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Control characters and bidi overrides: nothing a display name needs, and spoofing if kept. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Replay cache. Auth0 gives a trigger 20 entries, keys ≤ 64 bytes, values ≤ 4 KB, 8 KB in all, and
 * may refuse or drop entries when full. One key per jti would silently lose replay protection once
 * more than ~20 tokens are live, so all jtis share ONE entry: fixed-width records of
 * `hash(kid.jti)` (12 base64url chars = 72 bits; a collision only refuses a fresh token) followed by
 * the token's `exp` in base36 (7 chars, good past the year 4000). Records are pruned once their
 * token could no longer be accepted (exp + leeway), so the entry holds only live tokens: at most
 * REPLAY_CAPACITY of them (~210 per 5½ minutes, far above what a CLI fleet mints — access tokens
 * are cached for hours). When it is full, or the cache fails, we fail CLOSED with server_error
 * rather than accept a possible replay. Auth0's cache is best effort, not transactional: two
 * concurrent executions can race; this narrows replay to that window, it does not close it.
 */
const REPLAY_KEY = 'omni-auth:jti';
const REPLAY_HASH_LENGTH = 12;
const REPLAY_EXP_LENGTH = 7;
const REPLAY_RECORD_LENGTH = REPLAY_HASH_LENGTH + REPLAY_EXP_LENGTH;
const REPLAY_MAX_VALUE_BYTES = 4000; // under 4096, margin for Auth0's own accounting
const REPLAY_CAPACITY = Math.floor(REPLAY_MAX_VALUE_BYTES / REPLAY_RECORD_LENGTH);
const REPLAY_VALUE = new RegExp(`^(?:[A-Za-z0-9_-]{${REPLAY_HASH_LENGTH}}[0-9a-z]{${REPLAY_EXP_LENGTH}})*$`);

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
    if (outcome.user) {
      api.authentication.setUserByConnection(outcome.connection, outcome.user, {
        creationBehavior: 'create_if_not_exists',
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
  const jose = loadJose();
  const token = subjectToken(event);
  const { header, jwk } = await checkHeader(jose, token);
  const payload = await verifySignature(jose, token, header.alg, jwk);
  const claims = checkClaims(payload, header.kid, config);
  if (config.allowedKeys.length > 0 && !config.allowedKeys.includes(header.kid)) {
    throw new Denied('access_denied', `machine key ${header.kid} is not on the allow-list`);
  }
  await rememberJti(api, header.kid, claims.jti, claims.exp);
  return {
    connection: config.connection,
    user: {
      user_id: USER_ID_PREFIX + header.kid,
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
  };
}

function list(secret) {
  if (typeof secret !== 'string') return [];
  return secret.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

let joseModule;
/** Loaded on first use so that a missing or broken dependency is a server_error, not a crash. */
function loadJose() {
  if (!joseModule) joseModule = require('jose');
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
  if (typeof header.kid !== 'string' || header.kid !== (await jose.calculateJwkThumbprint(jwk, 'sha256'))) {
    throw new InvalidToken('kid is not the RFC 7638 thumbprint of the header jwk');
  }
  return { header, jwk };
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
  return { exp, jti, machine: checkMachine(payload.machine) };
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
  const cleaned = Array.from(value.replace(UNPRINTABLE, '').trim());
  return cleaned.slice(0, maxLength).join('').trim();
}

/** Remembers hash(kid.jti) until the token can no longer be accepted; refuses one already seen. */
async function rememberJti(api, kid, jti, exp) {
  const now = Math.floor(Date.now() / 1000);
  const hash = crypto.createHash('sha256').update(`${kid}.${jti}`).digest('base64url').slice(0, REPLAY_HASH_LENGTH);

  let cached;
  try {
    cached = await api.cache.get(REPLAY_KEY);
  } catch {
    throw new ServerFault('the replay cache could not be read');
  }
  const stored = cached && typeof cached.value === 'string' ? cached.value : '';
  if (!REPLAY_VALUE.test(stored)) throw new ServerFault('the replay cache holds an unreadable value');

  const live = [];
  for (let at = 0; at < stored.length; at += REPLAY_RECORD_LENGTH) {
    const recordHash = stored.slice(at, at + REPLAY_HASH_LENGTH);
    const recordExp = parseInt(stored.slice(at + REPLAY_HASH_LENGTH, at + REPLAY_RECORD_LENGTH), 36);
    if (recordExp + EXPIRY_LEEWAY_SECONDS <= now) continue;
    if (recordHash === hash) throw new InvalidToken('the token was already used (jti replay)');
    live.push({ hash: recordHash, exp: recordExp });
  }
  if (live.length >= REPLAY_CAPACITY) {
    throw new ServerFault('too many token exchanges in the last few minutes; retry shortly');
  }
  live.push({ hash, exp: Math.ceil(exp) });

  const value = live.map((record) => record.hash + record.exp.toString(36).padStart(REPLAY_EXP_LENGTH, '0')).join('');
  const lastExp = Math.max(...live.map((record) => record.exp));
  let result;
  try {
    result = await api.cache.set(REPLAY_KEY, value, { expires_at: (lastExp + EXPIRY_LEEWAY_SECONDS) * 1000 });
  } catch {
    result = undefined;
  }
  if (!result || result.type !== 'success') throw new ServerFault('the replay cache could not be written');
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
