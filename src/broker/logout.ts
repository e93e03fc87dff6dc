/**
 * The `logout` use case: drop cached tokens (revoking each refresh token at /oauth/revoke, best
 * effort), and the machine key only when asked — forgetting it means a new Auth0 user next time;
 * then the post-logout steps (the CLI's: restore the MCP client entries omni-auth wired).
 */
import { access, rm } from 'node:fs/promises';
import type { HomeFiles } from '../config/home.js';
import { deleteEntries, type CacheKey } from '../cache/token-cache.js';
import { forgetBindings } from '../identity/binding.js';
import { KEY_ENV } from '../identity/key-store.js';
import { withFileLock } from '../util/lock.js';
import type { Secret } from '../util/secret.js';

export interface LogoutResult {
  removed: number;
  /** With `only`: the cached tokens left in place (other profiles', or no profile's). */
  kept: number;
  revoked: number;
  /** Refresh tokens that could not be revoked, by tenant (no token text). */
  revokeFailures: { domain: string; error: string }[];
  keyRemoved: boolean;
  /** Why the key was not removed when asked: it comes from OMNI_AUTH_KEY, or there was no key file. */
  keyKept?: 'from_env' | 'no_file';
  /** With forgetKey: whether a bindings file (the key↔person bindings) was deleted. */
  bindingsRemoved: boolean;
}

/** A step that runs after the cache (and key) are gone, in order. */
export type PostLogoutStep = (result: LogoutResult) => Promise<void>;

export async function logout(
  files: HomeFiles,
  options: {
    forgetKey: boolean;
    env: NodeJS.ProcessEnv;
    /** A confidential application's secret, and the one (domain, client) it belongs to: never sent to another. */
    clientSecret?: { secret: Secret; domain: string; clientId: string };
    /**
     * Remove only these cache entries (issue 14 §3: one profile's — its tenant, application and API);
     * absent: every entry. A key that does not parse is passed as undefined.
     */
    only?: (key: CacheKey | undefined) => boolean;
  },
  steps: PostLogoutStep[] = [],
): Promise<LogoutResult> {
  // Nothing cached yet (a machine that never logged in): nothing to lock, nothing to remove.
  const hasCache = await access(files.tokens).then(() => true, () => false);
  let kept = 0;
  const only = options.only;
  const select = only ? (key: CacheKey | undefined) => (only(key) ? true : (kept++, false)) : undefined;
  const removed = hasCache ? await withFileLock(files.tokensLock, () => deleteEntries(files.tokens, select)) : {};
  const result: LogoutResult = { removed: Object.keys(removed).length, kept, revoked: 0, revokeFailures: [], keyRemoved: false, bindingsRemoved: false };

  const withRefresh = Object.entries(removed).filter(([, t]) => t.refresh_token);
  if (withRefresh.length > 0) {
    const [{ revokeRefreshToken }, { parseCacheKey }, { Secret }] = await Promise.all([
      import('../exchange/exchange.js'),
      import('../cache/key.js'),
      import('../util/secret.js'),
    ]);
    for (const [key, t] of withRefresh) {
      const k = parseCacheKey(key)!;
      const own = options.clientSecret;
      const r = await revokeRefreshToken({
        domain: k.domain,
        clientId: k.clientId,
        ...(own && own.domain === k.domain && own.clientId === k.clientId ? { clientSecret: own.secret } : {}),
        token: new Secret(t.refresh_token!),
      });
      if (r.revoked) result.revoked++;
      else result.revokeFailures.push({ domain: k.domain, error: r.error.message });
    }
  }

  if (options.forgetKey && options.env[KEY_ENV]?.trim()) {
    result.keyKept = 'from_env';
  } else if (options.forgetKey) {
    try {
      await rm(files.key);
      result.keyRemoved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      result.keyKept = 'no_file';
    }
  }
  // The bindings are identity, not cache: plain logout keeps them; forgetting the key forgets them too
  // (also when the key comes from OMNI_AUTH_KEY and stays: the person asked to be forgotten here).
  if (options.forgetKey) result.bindingsRemoved = await forgetBindings(files.home);
  for (const step of steps) await step(result);
  return result;
}
