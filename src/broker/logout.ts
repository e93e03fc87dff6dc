/**
 * The `logout` use case: drop cached tokens (revoking each refresh token at /oauth/revoke, best
 * effort), and the machine key only when asked — forgetting it means a new Auth0 user next time;
 * then the post-logout steps (the CLI's: restore the MCP client entries omni-auth wired).
 */
import { rm } from 'node:fs/promises';
import type { HomeFiles } from '../config/home.js';
import { deleteEntries } from '../cache/token-cache.js';
import { KEY_ENV } from '../identity/key-store.js';
import { withFileLock } from '../util/lock.js';
import type { Secret } from '../util/secret.js';

export interface LogoutResult {
  removed: number;
  revoked: number;
  /** Refresh tokens that could not be revoked, by tenant (no token text). */
  revokeFailures: { domain: string; error: string }[];
  keyRemoved: boolean;
}

/** A step that runs after the cache (and key) are gone, in order. */
export type PostLogoutStep = (result: LogoutResult) => Promise<void>;

export async function logout(
  files: HomeFiles,
  options: { forgetKey: boolean; env: NodeJS.ProcessEnv; clientSecret?: Secret },
  steps: PostLogoutStep[] = [],
): Promise<LogoutResult> {
  const removed = await withFileLock(files.tokensLock, () => deleteEntries(files.tokens));
  const result: LogoutResult = { removed: Object.keys(removed).length, revoked: 0, revokeFailures: [], keyRemoved: false };

  const withRefresh = Object.entries(removed).filter(([, t]) => t.refresh_token);
  if (withRefresh.length > 0) {
    const [{ revokeRefreshToken }, { parseCacheKey }, { Secret }] = await Promise.all([
      import('../exchange/exchange.js'),
      import('../cache/key.js'),
      import('../util/secret.js'),
    ]);
    for (const [key, t] of withRefresh) {
      const k = parseCacheKey(key)!;
      const r = await revokeRefreshToken({
        domain: k.domain,
        clientId: k.clientId,
        clientSecret: options.clientSecret,
        token: new Secret(t.refresh_token!),
      });
      if (r.revoked) result.revoked++;
      else result.revokeFailures.push({ domain: k.domain, error: r.error.message });
    }
  }

  if (options.forgetKey && !options.env[KEY_ENV]?.trim()) {
    try {
      await rm(files.key);
      result.keyRemoved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  for (const step of steps) await step(result);
  return result;
}
