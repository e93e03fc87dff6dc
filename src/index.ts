/**
 * The programmatic API: `import { getToken } from 'omni-auth'` — the original's `ensure_authenticated()`
 * for agents and Node tools. A thin facade over the broker function the `token` command runs
 * (src/broker/get-token.ts): the same settings resolution (options, then OMNI_AUTH_* / AUTH0_* in the
 * environment, then what `login` or `setup` saved), the same home, cache and lock, the same typed
 * errors (`code`, `hint`, `exitCode`: the CLI's exit-code table). Nothing here prints a token.
 *
 * This module is the library build's entry (dist/index.js, scripts/build.mjs); the CLI bundle never
 * imports it. Its public types name no Node.js type, so a consumer needs no @types/node to compile.
 */
import { getToken as brokerGetToken } from './broker/get-token.js';
import { parseCiMode, type CiMode } from './broker/ci-token.js';
import { tenantContext } from './cli/context.js';
import { UsageError } from './util/errors.js';

export { ExitCode, OmniAuthError, isOmniAuthError, type OmniAuthErrorOptions } from './util/errors.js';

/** The default of `minTtl`, as `omni-auth token --min-ttl`. */
export const DEFAULT_MIN_TTL = 300;

export interface GetTokenOptions {
  /** The settings profile (as `--profile`; overrides OMNI_AUTH_PROFILE and the saved default_profile). */
  profile?: string;
  /** The Auth0 domain (`tenant.region.auth0.com` or a full URL); overrides OMNI_AUTH_DOMAIN and the saved settings. */
  domain?: string;
  /** The application's client id; overrides OMNI_AUTH_CLIENT_ID and the saved settings. */
  clientId?: string;
  /** The API identifier the token is for; overrides OMNI_AUTH_AUDIENCE and the saved settings. */
  audience?: string;
  /** Space-separated scopes (default "openid profile email offline_access"). */
  scope?: string;
  /** The subject token type of the Token Exchange Profile (default urn:omnispindle:local-auth). */
  subjectTokenType?: string;
  /**
   * `'client-credentials'`: a machine-to-machine token for a confidential application (issue 12 §4) —
   * Private Key JWT with the client key (`omni-auth setup --m2m`), or OMNI_AUTH_CLIENT_SECRET when set.
   * Default `'exchange'`: this machine key's token via Custom Token Exchange.
   */
  grant?: 'exchange' | 'client-credentials';
  /** Seconds the token must still be valid for to be taken from the cache (default 300). */
  minTtl?: number;
  /** omni-auth's home directory (default: OMNI_AUTH_HOME, else the OS config directory). */
  home?: string;
  /** The environment settings are read from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Where warnings for a person go (default: stderr, prefixed "omni-auth: warning:"). Never given a secret. */
  onWarning?: (message: string) => void;
  /**
   * Keyless CI identity (docs/ci-oidc.md): the job's own OIDC token instead of a machine key —
   * `github` (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN), `gitlab` (the ID token in `ciTokenEnv`, default
   * OMNI_AUTH_ID_TOKEN), or `auto` (whichever this job has, else the machine key).
   */
  ci?: 'auto' | 'github' | 'gitlab';
  ciTokenEnv?: string;
}

export interface AccessToken {
  /** The access token for the API (a bearer token: keep it out of logs). */
  accessToken: string;
  /** When it expires, in seconds since the epoch. */
  expiresAt: number;
  /**
   * The Auth0 user id (`sub`) the token is for: the person a bound key belongs to, or the machine's
   * own user. Undefined only when the tenant issues access tokens omni-auth cannot verify (opaque or
   * HS256-signed), so it cannot tell.
   */
  subject: string | undefined;
}

function checkMinTtl(value: unknown): number {
  if (value === undefined) return DEFAULT_MIN_TTL;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new UsageError('invalid_min_ttl', `minTtl must be a whole number of seconds; got ${JSON.stringify(value)}`, {
      hint: 'e.g. { minTtl: 600 } to renew tokens with less than 10 minutes left',
    });
  }
  return value;
}

function checkGrant(value: unknown): 'exchange' | 'client-credentials' {
  if (value === undefined || value === 'exchange' || value === 'client-credentials') return value ?? 'exchange';
  throw new UsageError('invalid_grant', `grant must be 'exchange' or 'client-credentials'; got ${JSON.stringify(value)}`, {
    hint: "omit it for this machine key's token, or { grant: 'client-credentials' } for the application's own",
  });
}

const defaultWarning = (message: string): void => {
  process.stderr.write(`omni-auth: warning: ${message}\n`);
};

/**
 * An access token for the API: from the cache while it has more than `minTtl` seconds left, else
 * renewed (refresh token) or exchanged (the machine key, and the person's binding when there is one),
 * under the cache lock shared with every omni-auth process of this home.
 *
 * @throws OmniAuthError (see `isOmniAuthError`) with the codes of `omni-auth token`, e.g.
 *   `settings_missing` (exitCode 2), `binding_required` / `local_token_refused` (3), `tenant_unreachable` (4).
 */
export async function getToken(options: GetTokenOptions = {}): Promise<AccessToken> {
  const minTtl = checkMinTtl(options.minTtl);
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  if (options.home !== undefined) {
    if (typeof options.home !== 'string' || options.home.trim() === '') {
      throw new UsageError('invalid_home', 'home must be a non-empty directory path', { hint: 'omit it to use OMNI_AUTH_HOME or the OS config directory' });
    }
    env.OMNI_AUTH_HOME = options.home;
  }
  const ctx = await tenantContext({
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    ...(options.domain !== undefined ? { domain: options.domain } : {}),
    ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
    ...(options.subjectTokenType !== undefined ? { subjectTokenType: options.subjectTokenType } : {}),
    ...(checkGrant(options.grant) === 'client-credentials' ? { grant: 'client-credentials' as const } : {}),
  }, env);
  let ci: { mode: CiMode; tokenEnv?: string } | undefined;
  if (options.ci !== undefined) ci = { mode: parseCiMode(String(options.ci)), ...(options.ciTokenEnv !== undefined ? { tokenEnv: options.ciTokenEnv } : {}) };
  const { token } = await brokerGetToken({ ...ctx, minTtl, warn: options.onWarning ?? defaultWarning, ...(ci ? { ci } : {}) });
  return { accessToken: token.access_token, expiresAt: token.expires_at, subject: token.subject };
}
