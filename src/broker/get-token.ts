/**
 * The `token` use case, top to bottom (after kubelogin's GetToken): look in the cache; when the cached
 * token has more than minTtl seconds left, that is the answer — this path loads no HTTP client, no JWT
 * library. Otherwise take the cache lock and acquire one (acquire.ts, loaded on demand).
 */
import type { HomeFiles } from '../config/home.js';
import type { Settings } from '../config/settings.js';
import { cacheKeyOf, isFresh, readCache, type CachedToken } from '../cache/token-cache.js';
import { currentThumbprint } from '../identity/key-store.js';
import { UsageError } from '../util/errors.js';
import type { Secret } from '../util/secret.js';
import type { CiOptions } from './ci-token.js';

export interface TokenRequest {
  settings: Settings;
  files: HomeFiles;
  /** Seconds the token must still be valid for to be used from the cache. */
  minTtl: number;
  env: NodeJS.ProcessEnv;
  clientSecret?: Secret;
  /** `client-credentials`: a machine-to-machine token for the application (src/broker/m2m.ts); default the exchange. */
  grant?: 'exchange' | 'client-credentials';
  /** Skip the cache and get a new token (login does this). */
  force?: boolean;
  /** Where to print warnings for a person (stderr). */
  warn: (message: string) => void;
  now?: () => number;
  /** Keyless CI identity (`--ci`): the job's OIDC token instead of the machine key (ci-token.ts). */
  ci?: CiOptions;
}

export interface TokenResult {
  token: CachedToken;
  source: 'cache' | 'refresh' | 'exchange' | 'browser' | 'device' | 'client-credentials';
}

export async function getToken(req: TokenRequest): Promise<TokenResult> {
  const now = req.now ?? (() => Math.floor(Date.now() / 1000));
  if (req.ci && req.grant === 'client-credentials') {
    // Two different identities (a CI job's user, an application): asking for both is a mistake to name.
    throw new UsageError('ci_with_client_credentials', '--ci and --grant client-credentials ask for two different identities', {
      hint: 'use --ci for the job\'s service user, or --grant client-credentials for the application\'s own token',
    });
  }
  if (req.grant === 'client-credentials') {
    // The application's token, not this machine key's: no key check. Its own cache entry.
    const { m2mCacheKey } = await import('./m2m.js');
    if (!req.force) {
      const { entries, warning } = await readCache(req.files.tokens);
      const cached = warning ? undefined : entries[m2mCacheKey(req.settings)];
      if (cached && isFresh(cached, req.minTtl, now())) return { token: cached, source: 'cache' };
    }
    const { acquireToken } = await import('./acquire.js');
    return acquireToken(req, now);
  }
  // `--ci`: acquire.ts decides between the job's OIDC token and the machine key (never in the warm entry).
  if (req.ci) {
    const { acquireToken } = await import('./acquire.js');
    return acquireToken(req, now);
  }
  if (!req.force) {
    const { entries, warning } = await readCache(req.files.tokens);
    // A corrupt cache is reported once, by the path that rewrites it (acquire), not here as well.
    if (!warning) {
      const cached = entries[cacheKeyOf(req.settings)];
      if (cached && isFresh(cached, req.minTtl, now()) && cached.key_thumbprint === (await currentThumbprint(req.files.key, req.env))) {
        return { token: cached, source: 'cache' };
      }
    }
  }
  const { acquireToken } = await import('./acquire.js');
  return acquireToken(req, now);
}
