'use strict';
/**
 * omni-auth — Auth0 Action for the `custom-token-exchange` trigger (v1, runtime node22), bound to the
 * Token Exchange Profile of subject token type `urn:omni-auth:ci-oidc`: keyless CI identity.
 *
 * A CI job (GitHub Actions, GitLab CI, or any OIDC issuer an admin trusts) presents the short-lived
 * OIDC token its CI system signed for it. This Action
 *   1. checks the token is a compact JWS with an asymmetric alg (no `none`, no HS*), at most 8 KB;
 *   2. reads `iss` (unverified) and refuses an issuer no rule of the trust policy names;
 *   3. fetches the issuer's discovery document (`<iss>/.well-known/openid-configuration`), whose
 *      `issuer` must be `iss` and whose `jwks_uri` must be on the issuer's own origin, then the JWKS;
 *      both only over https (see LOOPBACK below), without redirects, each body at most 64 KB. The
 *      keys are cached in api.cache (one entry, see CI_JWKS_CACHE_KEY) and fetched again once when
 *      the token's `kid` is not among them (rotation) — but not within REFETCH_COOLDOWN_MS of the
 *      last fetch, so tokens with made-up kids cannot make the Action fetch the issuer every time;
 *   4. verifies signature, `iss`, `aud` (one of the accepted audiences: the ISSUER secret, default
 *      `https://{hostname}/` — the tenant's issuer URL; a token addressed to other audiences as well
 *      is refused: any of them could replay it here), `exp`, `nbf` (30 s leeway) and `iat` (not
 *      more than 60 s ahead);
 *   5. matches the claims against the trust policy, rules in order: a rule matches when its issuer is
 *      `iss` and every claim it lists is a string claim of the token with exactly that value. The
 *      first match sets the rule's user: api.authentication.setUserById(user) — a service user the
 *      admin created (`omni-auth setup --ci-trust-file` creates them on request).
 *
 * The trust policy is the CI_TRUST_POLICY secret: a JSON array of rules
 *   {"issuer": "github" | "gitlab" | "<issuer URL>", "claims": {"<claim>": "<value>", …}, "user": "<user id>"}
 * (`github` = https://token.actions.githubusercontent.com, `gitlab` = https://gitlab.com). Closed by
 * default: no policy (or an empty one) is no CI identity at all. A rule for one of these two SHARED
 * issuers must tie the token to an owner (SCOPING, as setup checks): without it, every repository on
 * github.com / gitlab.com would match; a policy with such a rule is refused as a whole (server_error).
 *
 * Outcomes, exactly one per execution:
 *   api.access.rejectInvalidSubjectToken(reason)  the token is bad: malformed, untrusted issuer, bad
 *                                                 signature, wrong audience, expired, unknown key
 *   api.access.deny('access_denied', reason)      a valid token no rule matches; no policy at all
 *   api.access.deny('server_error', reason)       our fault: policy unreadable, jose missing, the
 *                                                 issuer's keys cannot be fetched
 *   api.authentication.setUserById(user)          a valid token a rule matches
 * Reasons name the token's `iss` and `sub` (public facts about the job, which an admin needs to write
 * a rule) but never the token itself or a secret value. The handler never throws.
 *
 * LOOPBACK. Issuers are fetched over https only. The omni-auth emulator runs a stand-in CI issuer on
 * http://127.0.0.1; the Action reaches it only when BOTH the secret CI_ALLOW_LOOPBACK_HTTP is `1`
 * AND the tenant itself is on loopback (event.request.hostname 127.0.0.1, localhost or ::1). `setup`
 * sets the secret only for a tenant whose own domain is a loopback http origin, and a real Auth0
 * tenant's hostname is never loopback: a hand-set secret on a real tenant opens nothing.
 *
 * Replay: a CI token is not remembered (the cache is shared with the machine Action's replay store
 * and cannot hold a fleet's jtis). A captured token is bounded by its own lifetime (GitHub: minutes),
 * its audience (this tenant only) and the policy (it yields only the user its job's rule names).
 *
 * jose is loaded with `await import('jose')` (ESM-only since v6), as custom_token_exchange.js does.
 */

const TOKEN_MAX_LENGTH = 8192;
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'];
const LEEWAY_SECONDS = 30;
const MAX_FUTURE_SECONDS = 60;
const SHORTHAND_ISSUERS = {
  github: 'https://token.actions.githubusercontent.com',
  gitlab: 'https://gitlab.com',
};
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'];
const FETCH_TIMEOUT_MS = 5000;
const MAX_DOCUMENT_BYTES = 65536;
const MAX_KEYS = 20;
const MAX_SUB_IN_REASON = 200;
/**
 * Claims that tie a token of a shared issuer to one owner, and the `sub` prefixes that do (a job's own
 * repository chooses its sub template, so only a sub that begins with the repository or owner binds).
 * Not job_workflow_ref (any repository may call a public reusable workflow) nor GitLab's
 * ci_config_ref_uri (a project may take its CI file from another project). Same list as setup's.
 */
const SCOPING = {
  [SHORTHAND_ISSUERS.github]: { claims: ['repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'workflow_ref'], sub: /^(repo|repository|repository_id|repository_owner|repository_owner_id):[^:]/ },
  [SHORTHAND_ISSUERS.gitlab]: { claims: ['project_path', 'project_id', 'namespace_path', 'namespace_id'], sub: /^project_path:[^:]/ },
};
/**
 * ONE cache entry for the last issuer's keys: `c2:` + JSON {iss, at (fetch time, ms), kids (every kid
 * published then), keys: [public JWKs, compact — as many as fit, the ones tokens were verified with
 * first]}. GitHub has published four RSA-2048 keys at once (~1.8 KB): all of them never fit, the one
 * its jobs are signed with does. The trigger's cache (20 entries, 8 KB in all) is shared with the
 * machine Action's replay store (~4 KB) and tenant JWKS entry, so this one stays under
 * CI_JWKS_MAX_VALUE_BYTES. Ten minutes; a published kid the entry has no key for is fetched for, an
 * unknown kid only after REFETCH_COOLDOWN_MS.
 */
const CI_JWKS_CACHE_KEY = 'omni-auth:ci-jwks';
const CI_JWKS_VERSION = 'c2:';
const CI_JWKS_MAX_VALUE_BYTES = 1200;
const CI_JWKS_TTL_MS = 10 * 60_000;
/** No refetch on an unknown kid within this long of the cached set's fetch (jose's remote JWKS: 30 s). */
const REFETCH_COOLDOWN_MS = 30_000;
const JWK_MEMBERS = ['kty', 'kid', 'alg', 'n', 'e', 'crv', 'x', 'y'];
const BASE64URL = /^[A-Za-z0-9_-]+$/;

class InvalidToken extends Error {}
class Denied extends Error {
  constructor(code, reason) {
    super(reason);
    this.code = code;
  }
}
class ServerFault extends Error {}

exports.onExecuteCustomTokenExchange = async (event, api) => {
  let outcome;
  try {
    outcome = await exchange(event, api);
  } catch (err) {
    if (err instanceof InvalidToken) outcome = { invalid: err.message };
    else if (err instanceof Denied) outcome = { code: err.code, reason: err.message };
    else outcome = { code: 'server_error', reason: err instanceof ServerFault ? err.message : 'the CI token exchange Action failed unexpectedly' };
  }
  try {
    if (outcome.userId !== undefined) api.authentication.setUserById(outcome.userId);
    else if (outcome.invalid !== undefined) api.access.rejectInvalidSubjectToken(outcome.invalid);
    else api.access.deny(outcome.code, outcome.reason);
  } catch {
    // The api itself failed; a second outcome must not be attempted.
  }
};

async function exchange(event, api) {
  const config = readConfig(event);
  const token = subjectToken(event);
  const { header, payload: unverified } = decode(token);
  const iss = unverified.iss;
  if (typeof iss !== 'string' || iss === '') throw new InvalidToken('the CI token has no iss');
  const rules = config.rules.filter((rule) => rule.issuer === iss);
  if (rules.length === 0) throw new InvalidToken(`the CI token's issuer ${quote(iss)} is not trusted by this tenant`);
  checkIssuerUrl(iss, config);

  const jose = await loadJose();
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  let payload;
  const cached = await readCachedKeys(api, iss);
  if (cached) {
    try {
      payload = await verify(jose, token, header, cached.keys, iss, config);
    } catch (err) {
      if (!(err && err.code === 'ERR_JWKS_NO_MATCHING_KEY')) throw verifyError(err);
      // A kid the issuer published at the last fetch (a key the entry had no room for) is fetched for;
      // any other kid only once the cached set is REFETCH_COOLDOWN_MS old (rotation): made-up kids
      // cannot make every exchange fetch the issuer.
      const published = kid !== undefined && cached.kids.includes(kid);
      if (!published && Date.now() - cached.at < REFETCH_COOLDOWN_MS) throw verifyError(err);
    }
  }
  if (payload === undefined) {
    const all = await fetchKeys(iss, config);
    const at = Date.now();
    const kept = cached ? cached.keys.map((k) => k.kid) : [];
    const stored = await storeKeys(api, iss, at, all, kept);
    try {
      payload = await verify(jose, token, header, all, iss, config);
    } catch (again) {
      throw verifyError(again);
    }
    // The key a VERIFIED token used goes into the entry if it had no room for it (never an unverified kid).
    if (kid !== undefined && !stored.includes(kid)) await storeKeys(api, iss, at, all, [kid, ...kept]);
  }

  const match = rules.find((rule) => Object.keys(rule.claims).every((name) => typeof payload[name] === 'string' && payload[name] === rule.claims[name]));
  if (!match) {
    const sub = typeof payload.sub === 'string' ? payload.sub : '(none)';
    throw new Denied('access_denied', `no CI trust rule matches this job (iss ${quote(iss)}, sub ${quote(sub)})`);
  }
  return { userId: match.user };
}

/** A value of the token for a reason: invisible characters removed, at most MAX_SUB_IN_REASON characters. */
function quote(text) {
  const clean = Array.from(String(text).replace(/[\p{Cc}\p{Cf}]/gu, ''));
  return JSON.stringify(clean.length > MAX_SUB_IN_REASON ? `${clean.slice(0, MAX_SUB_IN_REASON).join('')}…` : clean.join(''));
}

function readConfig(event) {
  const secrets = (event && event.secrets) || {};
  const hostname = event && event.request && typeof event.request.hostname === 'string' ? event.request.hostname : '';
  let audiences = list(secrets.ISSUER);
  if (audiences.length === 0) {
    if (hostname === '') throw new ServerFault('the Action has no ISSUER secret and the request has no hostname');
    audiences = [`https://${hostname}/`];
  }
  const allowLoopback = String(secrets.CI_ALLOW_LOOPBACK_HTTP || '').trim() === '1' && LOOPBACK_HOSTS.includes(hostname.toLowerCase());
  return { audiences, allowLoopback, rules: readPolicy(secrets.CI_TRUST_POLICY) };
}

function list(secret) {
  if (typeof secret !== 'string') return [];
  return secret.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/** The policy, checked as strictly as setup writes it; a policy this Action cannot read fails closed. */
function readPolicy(secret) {
  if (typeof secret !== 'string' || secret.trim() === '') {
    throw new Denied('access_denied', 'this tenant has no CI trust policy: CI identity is off (an admin runs omni-auth setup --ci-trust-file)');
  }
  let parsed;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw new ServerFault('the CI_TRUST_POLICY secret is not JSON');
  }
  if (!Array.isArray(parsed)) throw new ServerFault('the CI_TRUST_POLICY secret is not a JSON array of rules');
  if (parsed.length === 0) throw new Denied('access_denied', 'the CI trust policy has no rules: CI identity is off');
  return parsed.map((rule, index) => {
    const bad = (what) => new ServerFault(`CI_TRUST_POLICY rule ${index}: ${what}`);
    if (!isPlainObject(rule)) throw bad('is not an object');
    const issuer = Object.prototype.hasOwnProperty.call(SHORTHAND_ISSUERS, rule.issuer) ? SHORTHAND_ISSUERS[rule.issuer] : rule.issuer;
    if (typeof issuer !== 'string' || !/^https?:\/\//.test(issuer)) throw bad('issuer must be github, gitlab or an issuer URL');
    if (!isPlainObject(rule.claims) || Object.keys(rule.claims).length === 0) throw bad('claims must name at least one claim');
    if (!Object.values(rule.claims).every((value) => typeof value === 'string')) throw bad('claim values must be strings');
    if (typeof rule.user !== 'string' || rule.user === '') throw bad('user must be a user id');
    const scoping = Object.prototype.hasOwnProperty.call(SCOPING, issuer) ? SCOPING[issuer] : undefined;
    if (scoping && !scoping.claims.some((c) => Object.prototype.hasOwnProperty.call(rule.claims, c)) && !(typeof rule.claims.sub === 'string' && scoping.sub.test(rule.claims.sub))) {
      throw bad(`a rule for ${issuer} must name the repository or project (${scoping.claims.join(', ')}, or a sub that begins with it): without it any repository there would match`);
    }
    return { issuer, claims: rule.claims, user: rule.user };
  });
}

function subjectToken(event) {
  const transaction = event && event.transaction;
  if (!transaction || typeof transaction !== 'object') throw new ServerFault('the Action received no transaction');
  const token = transaction.subject_token;
  if (typeof token !== 'string' || token === '') throw new InvalidToken('subject_token is missing');
  if (token.length > TOKEN_MAX_LENGTH) throw new InvalidToken('subject_token is too long');
  return token;
}

function decode(token) {
  const segments = token.split('.');
  if (segments.length !== 3 || segments.some((segment) => !BASE64URL.test(segment))) {
    throw new InvalidToken('subject_token is not a compact JWS');
  }
  const header = parseJsonObject(segments[0]);
  const payload = parseJsonObject(segments[1]);
  if (!header || !payload) throw new InvalidToken('subject_token is not a JWT');
  if (!ALGORITHMS.includes(header.alg)) throw new InvalidToken(`the CI token's alg must be one of ${ALGORITHMS.join(', ')}`);
  return { header, payload };
}

function checkIssuerUrl(iss, config) {
  const url = parseUrl(iss);
  if (!url) throw new InvalidToken('the CI token\'s issuer is not a URL');
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && config.allowLoopback && LOOPBACK_HOSTS.includes(url.hostname)) return;
  throw new InvalidToken(`the CI token's issuer ${quote(iss)} is not https`);
}

function parseUrl(text) {
  try {
    const url = new URL(text);
    return url.username === '' && url.password === '' ? url : undefined;
  } catch {
    return undefined;
  }
}

let joseModule;
async function loadJose() {
  if (joseModule) return joseModule;
  let loaded;
  try {
    loaded = await import('jose');
  } catch {
    throw new ServerFault('the Action could not load its dependency jose');
  }
  const usable = [loaded, loaded && loaded.default].find((m) => m && typeof m.createLocalJWKSet === 'function' && typeof m.jwtVerify === 'function');
  if (!usable) throw new ServerFault('the Action loaded a jose without the functions it needs');
  joseModule = usable;
  return joseModule;
}

async function verify(jose, token, header, keys, iss, config) {
  const { payload } = await jose.jwtVerify(token, jose.createLocalJWKSet({ keys }), {
    algorithms: [header.alg],
    issuer: iss,
    audience: config.audiences,
    clockTolerance: LEEWAY_SECONDS,
    requiredClaims: ['exp', 'iat'],
  });
  if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
    throw new InvalidToken("the CI token's audience is not this tenant alone (a token for several audiences could be replayed here by any of them: request one with the tenant's issuer URL as its only audience)");
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || payload.iat > now + MAX_FUTURE_SECONDS) throw new InvalidToken('the CI token is issued in the future (iat)');
  return payload;
}

function verifyError(err) {
  if (err instanceof InvalidToken || err instanceof Denied || err instanceof ServerFault) return err;
  if (!(err && typeof err.code === 'string' && err.code.startsWith('ERR_J'))) return err;
  switch (err.code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new InvalidToken('the CI token is signed by a key its issuer does not publish');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new InvalidToken('the CI token signature is invalid');
    case 'ERR_JWT_EXPIRED':
      return new InvalidToken('the CI token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.claim === 'aud') return new InvalidToken("the CI token's audience is not this tenant (request it with the tenant's issuer URL as audience)");
      if (err.claim === 'nbf') return new InvalidToken('the CI token is not valid yet (nbf)');
      return new InvalidToken(`the CI token has no valid ${typeof err.claim === 'string' ? err.claim : 'claim'}`);
    default:
      return new InvalidToken('the CI token is invalid');
  }
}

/**
 * Writes the cache entry for `iss`: every published kid, and as many keys as fit in
 * CI_JWKS_MAX_VALUE_BYTES — those whose kid is in `prefer` first (the keys jobs were verified with),
 * then in the issuer's order. Returns the kids of the keys written (none when nothing was).
 */
async function storeKeys(api, iss, at, all, prefer) {
  const kids = [...new Set(all.map((k) => k.kid).filter((k) => typeof k === 'string'))];
  const rank = (k) => (typeof k.kid === 'string' && prefer.includes(k.kid) ? prefer.indexOf(k.kid) : prefer.length);
  const ordered = all.map((k, i) => ({ k, i })).sort((a, b) => rank(a.k) - rank(b.k) || a.i - b.i).map((x) => x.k);
  const encode = (keys) => CI_JWKS_VERSION + JSON.stringify({ iss, at, kids, keys });
  const chosen = [];
  for (const key of ordered) if (Buffer.byteLength(encode([...chosen, key]), 'utf8') <= CI_JWKS_MAX_VALUE_BYTES) chosen.push(key);
  if (chosen.length === 0) return [];
  try {
    await api.cache.set(CI_JWKS_CACHE_KEY, encode(chosen), { ttl: CI_JWKS_TTL_MS });
  } catch {
    return []; // Only an optimisation.
  }
  return chosen.map((k) => k.kid);
}

/** The cached entry if it is `iss`'s: {at, kids (all published at `at`), keys (those that fitted)}. */
async function readCachedKeys(api, iss) {
  try {
    const record = await api.cache.get(CI_JWKS_CACHE_KEY);
    const value = record && typeof record.value === 'string' ? record.value : '';
    if (!value.startsWith(CI_JWKS_VERSION)) return undefined;
    const parsed = JSON.parse(value.slice(CI_JWKS_VERSION.length));
    if (!isPlainObject(parsed) || parsed.iss !== iss || typeof parsed.at !== 'number') return undefined;
    if (!Array.isArray(parsed.kids) || !parsed.kids.every((k) => typeof k === 'string')) return undefined;
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0 || !parsed.keys.every(isPlainObject)) return undefined;
    return { at: parsed.at, kids: parsed.kids, keys: parsed.keys };
  } catch {
    return undefined;
  }
}

async function fetchKeys(iss, config) {
  const issuerUrl = parseUrl(iss);
  const discoveryUrl = new URL(`${issuerUrl.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`, issuerUrl.origin);
  const discovery = await getJson(discoveryUrl, 'discovery document');
  if (discovery.issuer !== iss) throw new ServerFault(`the discovery document of ${quote(iss)} names another issuer`);
  const jwksUrl = typeof discovery.jwks_uri === 'string' ? parseUrl(discovery.jwks_uri) : undefined;
  if (!jwksUrl || jwksUrl.origin !== issuerUrl.origin) throw new ServerFault(`the discovery document of ${quote(iss)} has no jwks_uri on the issuer's own origin`);
  checkIssuerUrl(jwksUrl.href, config);
  const jwks = await getJson(jwksUrl, 'JWKS');
  const keys = [];
  for (const key of Array.isArray(jwks.keys) ? jwks.keys : []) {
    if (!isPlainObject(key) || (key.kty !== 'RSA' && key.kty !== 'EC')) continue;
    if (key.use !== undefined && key.use !== 'sig') continue;
    if (key.key_ops !== undefined && !(Array.isArray(key.key_ops) && key.key_ops.includes('verify'))) continue;
    const compact = {};
    for (const name of JWK_MEMBERS) if (typeof key[name] === 'string') compact[name] = key[name];
    keys.push(compact);
    if (keys.length === MAX_KEYS) break;
  }
  if (keys.length === 0) throw new ServerFault(`the CI issuer ${quote(iss)} publishes no signing key`);
  return keys;
}

async function getJson(url, what) {
  if (typeof fetch !== 'function') throw new ServerFault('the Action runtime has no fetch');
  let text;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: controller.signal });
    if (!response.ok) throw new ServerFault(`the CI issuer's ${what} could not be fetched (HTTP ${response.status})`);
    text = await readLimited(response, what);
  } catch (err) {
    if (err instanceof ServerFault) throw err;
    throw new ServerFault(`the CI issuer's ${what} could not be fetched`);
  } finally {
    clearTimeout(timer);
    // Whatever is left of a body we stopped reading (too large, an error) is not downloaded.
    controller.abort();
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!isPlainObject(body)) throw new ServerFault(`the CI issuer's ${what} is not a JSON object`);
  return body;
}

/** The body as text, read at most MAX_DOCUMENT_BYTES far: a larger one is refused, not read first. */
async function readLimited(response, what) {
  const tooLarge = () => new ServerFault(`the CI issuer's ${what} is too large (more than ${MAX_DOCUMENT_BYTES} bytes)`);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_DOCUMENT_BYTES) throw tooLarge();
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}

function parseJsonObject(segment) {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url')));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
