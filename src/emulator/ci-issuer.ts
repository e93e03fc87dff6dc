/**
 * The emulator's stand-in CI OIDC issuer (issue 14 §1), for tests and the demo: it plays GitHub
 * Actions' token service under `<emulator>/__ci`.
 *
 *   GET <issuer>/.well-known/openid-configuration   discovery: issuer, jwks_uri, claims_supported …
 *   GET <issuer>/.well-known/jwks                   its one RS256 public key
 *   GET <issuer>/idtoken?api-version=2.0[&audience=X][&claim=value…]
 *       with `Authorization: Bearer <request_token>` → `{"value": "<jwt>"}`, as GitHub's
 *       ACTIONS_ID_TOKEN_REQUEST_URL answers. The URL (`request_url`, with its `?api-version=2.0`)
 *       and the token are in the emulator's JSON line under `ci`. The caller appends `&audience=X`;
 *       every other query parameter becomes a claim (`&repository=acme/other&ref=refs/heads/dev`),
 *       overriding the defaults below, so a test picks a job's claims by building the URL.
 *
 * The token carries GitHub's claim names (docs.github.com "OpenID Connect reference"): sub
 * (`repo:OWNER/REPO:environment:ENV` with an environment, `repo:OWNER/REPO:pull_request` for a
 * pull_request event, else `repo:OWNER/REPO:ref:REF`, unless `sub` is given), repository,
 * repository_owner, repository_id, repository_owner_id, repository_visibility, ref, ref_type,
 * ref_protected, sha, workflow, workflow_ref, job_workflow_ref, event_name, run_id, run_number,
 * run_attempt, actor, actor_id, runner_environment, environment (only when given), jti, iat,
 * nbf = iat − 300 and exp = iat + 6 h as GitHub's own tokens show. Without `audience` the aud is
 * GitHub's default, `https://github.com/<repository_owner>`.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import type { EmulatorReply, EmulatorRequest, Handler } from './http-types.js';
import { createSigningKey, type SigningKey } from './tokens.js';

export const CI_PREFIX = '/__ci';
const LIFETIME_SECONDS = 6 * 3600;
const NBF_BEFORE_IAT_SECONDS = 300;
/** Query parameters of the request URL that are not claims. */
const NOT_CLAIMS = new Set(['api-version', 'audience']);
/** Claims the caller cannot set through the URL: the issuer's own. */
const RESERVED = new Set(['iss', 'iat', 'nbf', 'exp', 'jti', 'aud']);

export const DEFAULT_CI_CLAIMS: Readonly<Record<string, string>> = {
  repository: 'acme/api',
  repository_owner: 'acme',
  repository_id: '100001',
  repository_owner_id: '200001',
  repository_visibility: 'private',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  ref_protected: 'true',
  sha: '0000000000000000000000000000000000000000',
  workflow: 'CI',
  event_name: 'push',
  run_id: '1',
  run_number: '1',
  run_attempt: '1',
  actor: 'octocat',
  actor_id: '1',
  runner_environment: 'github-hosted',
};

export interface CiIssuer {
  issuer: string;
  requestUrl: string;
  requestToken: string;
  handler: Handler;
}

export interface CiToken {
  audience?: string;
  claims?: Record<string, string>;
}

/** The claims of one token: the defaults, the caller's, and the derived sub and workflow refs. */
export function ciClaims(given: Record<string, string>): Record<string, string> {
  const c: Record<string, string> = { ...DEFAULT_CI_CLAIMS, ...given };
  if (given.repository !== undefined && given.repository_owner === undefined) c.repository_owner = c.repository!.split('/')[0]!;
  c.workflow_ref ??= `${c.repository}/.github/workflows/ci.yml@${c.ref}`;
  c.job_workflow_ref ??= c.workflow_ref;
  if (c.sub === undefined) {
    const repo = `repo:${c.repository}`;
    if (c.environment !== undefined) c.sub = `${repo}:environment:${c.environment}`;
    else if (c.event_name === 'pull_request') c.sub = `${repo}:pull_request`;
    else c.sub = `${repo}:ref:${c.ref}`;
  }
  return c;
}

export async function signCiToken(key: SigningKey, issuer: string, audience: string, claims: Record<string, string>, now = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ ...claims, jti: randomUUID() })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now - NBF_BEFORE_IAT_SECONDS)
    .setExpirationTime(now + LIFETIME_SECONDS)
    .sign(key.privateKey);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const json = (status: number, body: unknown): EmulatorReply => ({ status, body });

export async function createCiIssuer(origin: string): Promise<CiIssuer> {
  const key = await createSigningKey();
  const issuer = `${origin}${CI_PREFIX}`;
  const requestToken = randomBytes(32).toString('base64url');
  const requestUrl = `${issuer}/idtoken?api-version=2.0`;
  const discovery = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks`,
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'sha', 'repository', 'repository_id', 'repository_owner',
      'repository_owner_id', 'repository_visibility', 'run_id', 'run_number', 'run_attempt', 'runner_environment', 'actor', 'actor_id',
      'workflow', 'workflow_ref', 'job_workflow_ref', 'event_name', 'ref_type', 'ref_protected', 'environment'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid'],
  };

  const handler: Handler = async (req: EmulatorRequest) => {
    if (req.path !== CI_PREFIX && !req.path.startsWith(`${CI_PREFIX}/`)) return undefined;
    if (req.method !== 'GET') return json(405, { message: 'Method Not Allowed' });
    switch (req.path) {
      case `${CI_PREFIX}/.well-known/openid-configuration`:
        return json(200, discovery);
      case `${CI_PREFIX}/.well-known/jwks`:
        return json(200, { keys: [key.publicJwk] });
      case `${CI_PREFIX}/idtoken`: {
        const bearer = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
        if (bearer === undefined || !sameSecret(bearer, requestToken)) return json(401, { message: 'Unauthorized: the request token is missing or wrong' });
        const given: Record<string, string> = {};
        for (const [name, value] of req.query) {
          if (NOT_CLAIMS.has(name)) continue;
          if (RESERVED.has(name)) return json(400, { message: `the claim ${name} is the issuer's own and cannot be set` });
          given[name] = value;
        }
        const claims = ciClaims(given);
        const audience = req.query.get('audience') || `https://github.com/${claims.repository_owner}`;
        return json(200, { count: 1, value: await signCiToken(key, issuer, audience, claims) });
      }
      default:
        return json(404, { message: 'Not Found' });
    }
  };
  return { issuer, requestUrl, requestToken, handler };
}
