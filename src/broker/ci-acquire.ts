/**
 * A token for a CI job's own identity (issue 14 §1): under the cache lock, the job's cached token when
 * fresh, else the job's OIDC token (audience: the tenant's issuer URL) exchanged under the profile
 * `urn:omni-auth:ci-oidc`. No machine key is read or created. The CI token is never written; the
 * access token is cached under a key of its own (`…|ci=<job hash>`). No refresh token is asked for
 * (offline_access is dropped from the scope) or kept: the next job proves itself again with its own
 * OIDC token, and nothing long-lived is left on a runner's disk.
 */
import { cacheKeyOf, isFresh, putEntry, readCache, type CachedToken } from '../cache/token-cache.js';
import { exchangeToken } from '../exchange/exchange.js';
import { retryBudgetMs } from '../exchange/retry-budget.js';
import { ensurePrivateDir } from '../util/atomic-write.js';
import { withFileLock } from '../util/lock.js';
import { lockWaitMs } from './acquire.js';
import { CI_SUBJECT_TOKEN_TYPE, type CiSource } from './ci-token.js';
import type { TokenRequest, TokenResult } from './get-token.js';
import { verifiedEntry } from './token-entry.js';

const withoutOffline = (scope: string): string => scope.split(/\s+/).filter((s) => s !== '' && s !== 'offline_access').join(' ');

export async function acquireCiToken(req: TokenRequest, source: CiSource, now: () => number): Promise<TokenResult> {
  const { settings, files } = req;
  const scope = withoutOffline(settings.scope);
  const key = cacheKeyOf({ ...settings, scope, ci: source.cacheScope });
  if (!req.force) {
    const { entries, warning } = await readCache(files.tokens);
    const cached = warning ? undefined : entries[key];
    if (cached && isFresh(cached, req.minTtl, now())) return { token: cached, source: 'cache' };
  }
  // Fleets of CI jobs meet the tenant's rate limit first: the same retry budget as the machine key's exchange.
  const retry = { maxTotalMs: retryBudgetMs(req.env) };
  const timeoutMs = lockWaitMs(req.env, retry.maxTotalMs);
  await ensurePrivateDir(files.home);
  return withFileLock(files.tokensLock, async () => {
    const { entries, warning } = await readCache(files.tokens);
    if (warning) req.warn(warning);
    const cached = entries[key];
    if (!req.force && cached && isFresh(cached, req.minTtl, now())) return { token: cached, source: 'cache' as const };

    const response = await exchangeToken({
      domain: settings.domain,
      clientId: settings.clientId,
      clientSecret: req.clientSecret,
      audience: settings.audience,
      scope,
      subjectTokenType: CI_SUBJECT_TOKEN_TYPE,
      retry,
      // One CI token per attempt (GitHub: a fresh request), revealed only into the form.
      mintSubjectToken: async () => (await source.fetchToken(settings.issuer)).reveal(),
    });
    // No refresh token is asked for (offline_access dropped): a job's token is its own, for this run.
    const token = await verifiedEntry(response, settings, now, scope);
    await putEntry(files.tokens, key, token);
    return { token, source: 'exchange' as const };
  }, { timeoutMs });
}
