/**
 * Keyless CI identity, the client side (issue 14 §1): `--ci auto|github|gitlab` finds the job's own
 * OIDC token, which omni-auth exchanges (subject token type `urn:omni-auth:ci-oidc`) instead of a
 * machine key's local token.
 *
 *   github  GET `${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=<aud>` (`?audience=` when the URL has no
 *           query) with `Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}` → `{"value": jwt}`.
 *           The variables exist only in a job with `permissions: id-token: write`.
 *   gitlab  the token in the variable `--ci-token-env` names (default OMNI_AUTH_ID_TOKEN), declared
 *           with GitLab's `id_tokens:` and the tenant's issuer URL as `aud`.
 *   auto    github when GITHUB_ACTIONS=true and the request variables are set, gitlab when
 *           GITLAB_CI=true and the token variable is set, else the machine key (as without --ci).
 *
 * The CI token is a Secret: never printed, logged or written. `cacheScope` tells cache entries of
 * different jobs apart without holding anything secret: a SHA-256 of the request URL (GitHub's is
 * per job) or of the token (GitLab's is per job).
 */
import { createHash } from 'node:crypto';
import { OmniAuthError, UsageError, ExitCode } from '../util/errors.js';
import { Secret } from '../util/secret.js';

/** The Token Exchange Profile's subject token type for CI OIDC tokens (setup creates the profile). */
export const CI_SUBJECT_TOKEN_TYPE = 'urn:omni-auth:ci-oidc';
export const CI_MODES = ['auto', 'github', 'gitlab'] as const;
export type CiMode = (typeof CI_MODES)[number];
export const DEFAULT_CI_TOKEN_ENV = 'OMNI_AUTH_ID_TOKEN';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PERMISSIONS_HINT = 'give the job (or workflow) `permissions: id-token: write` — GitHub sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN only then';

export interface CiOptions {
  mode: CiMode;
  /** The variable holding GitLab's ID token. */
  tokenEnv?: string;
}

export interface CiSource {
  provider: 'github' | 'gitlab';
  /** Not secret: distinguishes one job's cache entry from another's. */
  cacheScope: string;
  /** Gets the job's OIDC token for `audience` (GitHub: one request per call). */
  fetchToken(audience: string): Promise<Secret>;
}

export function parseCiMode(value: string): CiMode {
  if ((CI_MODES as readonly string[]).includes(value)) return value as CiMode;
  throw new UsageError('invalid_ci', `--ci must be one of ${CI_MODES.join(', ')}; got "${value}"`, {
    hint: 'github: the job\'s GitHub Actions OIDC token; gitlab: the ID token in --ci-token-env; auto: whichever this job has, else the machine key',
  });
}

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 22);
const present = (v: string | undefined): v is string => typeof v === 'string' && v.trim() !== '';

/** The CI source `options` asks for in this environment; undefined: use the machine key (auto only). */
export function resolveCiSource(options: CiOptions, env: NodeJS.ProcessEnv, warn: (m: string) => void): CiSource | undefined {
  const tokenEnv = options.tokenEnv ?? DEFAULT_CI_TOKEN_ENV;
  if (!ENV_NAME.test(tokenEnv)) {
    throw new UsageError('invalid_ci_token_env', `--ci-token-env "${tokenEnv}" is not a valid environment variable name`, { hint: 'e.g. --ci-token-env OMNI_AUTH_ID_TOKEN' });
  }
  const github = present(env.ACTIONS_ID_TOKEN_REQUEST_URL) && present(env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
  let mode = options.mode;
  if (mode === 'auto') {
    if (env.GITHUB_ACTIONS === 'true' && github) mode = 'github';
    else if (env.GITLAB_CI === 'true' && present(env[tokenEnv])) mode = 'gitlab';
    else {
      if (env.GITHUB_ACTIONS === 'true') warn(`--ci auto: this GitHub Actions job has no OIDC token variables, so the machine key is used; ${PERMISSIONS_HINT}`);
      if (env.GITLAB_CI === 'true') warn(`--ci auto: ${tokenEnv} is not set in this GitLab job, so the machine key is used; declare it under id_tokens: (see docs/ci-oidc.md)`);
      return undefined;
    }
  }
  if (mode === 'github') {
    if (!github) {
      throw new UsageError('ci_token_unavailable', 'this job has no GitHub Actions OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not both set', { hint: PERMISSIONS_HINT });
    }
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL!.trim();
    const requestToken = new Secret(env.ACTIONS_ID_TOKEN_REQUEST_TOKEN!.trim());
    return { provider: 'github', cacheScope: `github:${digest(url)}`, fetchToken: (audience) => githubToken(url, requestToken, audience) };
  }
  const value = env[tokenEnv];
  if (!present(value)) {
    throw new UsageError('ci_token_unavailable', `the variable ${tokenEnv} holds no GitLab ID token`, {
      hint: `declare it in the job: id_tokens: { ${tokenEnv}: { aud: <the tenant's issuer URL> } } — or name another variable with --ci-token-env`,
    });
  }
  const token = new Secret(value.trim());
  return {
    provider: 'gitlab',
    cacheScope: `gitlab:${digest(token.reveal())}`,
    fetchToken: async (audience) => checkedCiToken(token, audience, `the variable ${tokenEnv}`, GITLAB_AUD_HINT(tokenEnv, audience)),
  };
}

const GITLAB_AUD_HINT = (tokenEnv: string, audience: string): string => `declare it in the job: id_tokens: { ${tokenEnv}: { aud: "${audience}" } } — the tenant's issuer URL as its only audience`;
const JWS_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** A JSON object from a base64url segment, or undefined. */
function segmentObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A claim's value for a message: public (an audience), but bounded and printable. */
const shown = (value: unknown): string => JSON.stringify(value).replace(/[^\x20-\x7e]/g, '?').slice(0, 120);

/**
 * Before the CI token leaves the job, that it IS one for this tenant: a JWT (a variable naming some
 * other secret — GitLab's CI_JOB_TOKEN, an API key — is never sent to Auth0) whose only audience is
 * the tenant's issuer URL (a token for Vault or another service is never handed to Auth0, where it
 * would be valid at that service; the Action would refuse it anyway). Nothing is verified here: the
 * Action does that. Messages never contain the value.
 */
export function checkedCiToken(token: Secret, audience: string, where: string, hint: string): Secret {
  const segments = token.reveal().split('.');
  const header = segments.length === 3 && segments.every((s) => JWS_SEGMENT.test(s)) ? segmentObject(segments[0]!) : undefined;
  const payload = header && typeof header.alg === 'string' ? segmentObject(segments[1]!) : undefined;
  if (!payload) {
    throw new UsageError('ci_token_unavailable', `${where} does not hold an OIDC ID token (a JWT); nothing was sent`, { hint });
  }
  const aud = payload.aud;
  if (!(aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience))) {
    throw new UsageError('ci_token_unavailable', `the CI token in ${where} is for the audience ${shown(aud ?? null)}, not only this tenant's ${shown(audience)}; nothing was sent`, { hint });
  }
  return token;
}

/** The request URL with `audience` appended as GitHub's toolkit does (`&` or `?`). */
export function githubRequestUrl(requestUrl: string, audience: string): URL {
  const separator = requestUrl.includes('?') ? '&' : '?';
  return new URL(`${requestUrl}${separator}audience=${encodeURIComponent(audience)}`);
}

async function githubToken(requestUrl: string, requestToken: Secret, audience: string): Promise<Secret> {
  let url: URL;
  try {
    url = githubRequestUrl(requestUrl, audience);
  } catch {
    throw new UsageError('ci_token_unavailable', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL', { hint: PERMISSIONS_HINT });
  }
  const { getJson, DEFAULT_TIMEOUTS } = await import('../exchange/http.js');
  const result = await getJson(url, { ...DEFAULT_TIMEOUTS, headers: { authorization: `Bearer ${requestToken.reveal()}` } });
  const value = (result.body as { value?: unknown } | undefined)?.value;
  if (result.status !== 200 || typeof value !== 'string' || value.split('.').length !== 3) {
    throw new OmniAuthError('ci_token_refused', `GitHub's OIDC token service (${url.host}) answered HTTP ${result.status} without a token`, {
      hint: `${PERMISSIONS_HINT}; a fork's pull_request job gets no token at all`,
      exitCode: ExitCode.refused,
      details: { status: result.status },
    });
  }
  return checkedCiToken(new Secret(value), audience, `the answer of GitHub's OIDC token service (${url.host})`, PERMISSIONS_HINT);
}
