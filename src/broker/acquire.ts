/**
 * Getting a new token, under the cache lock so parallel callers share one exchange: re-read the cache
 * (another process may have just filled it), renew with the refresh token when there is one (the
 * exchange is the rate-limited path), else exchange a freshly minted local token; verify; cache.
 */
import { cacheKeyOf, isFresh, putEntry, readCache, type CachedToken } from '../cache/token-cache.js';
import { exchangeToken, refreshToken, type TokenResponse } from '../exchange/exchange.js';
import { retryBudgetMs } from '../exchange/retry-budget.js';
import { findBinding } from '../identity/binding.js';
import { loadOrCreateKey } from '../identity/key-store.js';
import { mintLocalToken } from '../identity/local-token.js';
import { machineInfo } from '../identity/machine.js';
import { ensurePrivateDir } from '../util/atomic-write.js';
import { isOmniAuthError, UsageError } from '../util/errors.js';
import { withFileLock } from '../util/lock.js';
import { Secret } from '../util/secret.js';
import type { TokenRequest, TokenResult } from './get-token.js';
import { resolveCiSource } from './ci-token.js';
import { verifiedEntry } from './token-entry.js';

/**
 * How long to wait for another omni-auth process's exchange: longer than that exchange may take (its
 * retries are bounded by the retry budget, OMNI_AUTH_RETRY_BUDGET, plus the JWKS fetch), so a waiter
 * gives up only on a stuck holder.
 */
const DEFAULT_LOCK_WAIT_SECONDS = 45;
const LOCK_WAIT_BEYOND_BUDGET_SECONDS = 15;

export function lockWaitMs(env: NodeJS.ProcessEnv, retryBudget: number): number {
  const raw = env.OMNI_AUTH_LOCK_TIMEOUT;
  if (raw === undefined || raw.trim() === '') return Math.max(DEFAULT_LOCK_WAIT_SECONDS * 1000, retryBudget + LOCK_WAIT_BEYOND_BUDGET_SECONDS * 1000);
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError('invalid_lock_timeout', `OMNI_AUTH_LOCK_TIMEOUT must be a positive number of seconds; got "${raw}"`, {
      hint: 'e.g. OMNI_AUTH_LOCK_TIMEOUT=60, or unset it for the default (45 s, or the retry budget + 15 s when that is longer)',
    });
  }
  return seconds * 1000;
}

export async function acquireToken(req: TokenRequest, now: () => number): Promise<TokenResult> {
  if (req.ci) {
    // Keyless CI identity (ci-token.ts): the job's OIDC token when it has one; `auto` outside CI falls through.
    const source = resolveCiSource(req.ci, req.env, req.warn);
    if (source) return (await import('./ci-acquire.js')).acquireCiToken(req, source, now);
  }
  const { settings, files } = req;
  // The total patience of this request's exchange or refresh (longer in CI), read before any work.
  const retry = { maxTotalMs: retryBudgetMs(req.env) };
  const timeoutMs = lockWaitMs(req.env, retry.maxTotalMs);
  await ensurePrivateDir(files.home);
  return withFileLock(files.tokensLock, async () => {
    if (req.grant === 'client-credentials') {
      const { acquireM2mToken } = await import('./acquire-m2m.js');
      return acquireM2mToken(req, now);
    }
    const key = cacheKeyOf(settings);
    const { entries, warning } = await readCache(files.tokens);
    if (warning) req.warn(warning);
    // The key first: a cached token (and its refresh token) is this machine's only if the same key got it
    // — after OMNI_AUTH_KEY changes or the key is replaced, the old identity must not be served.
    const machineKey = await loadOrCreateKey(files.key, req.env);
    const thumbprint = machineKey.thumbprint;
    const cached = entries[key]?.key_thumbprint === thumbprint ? entries[key] : undefined;
    if (!req.force && cached && isFresh(cached, req.minTtl, now())) {
      // The read dropped malformed entries or a bad file: write back what was valid.
      if (warning) await putEntry(files.tokens, key, cached);
      return { token: cached, source: 'cache' as const };
    }

    let response: TokenResponse | undefined;
    let source: TokenResult['source'] = 'exchange';
    if (cached?.refresh_token && !req.force) {
      try {
        response = await refreshToken({
          domain: settings.domain,
          clientId: settings.clientId,
          clientSecret: req.clientSecret,
          refreshToken: new Secret(cached.refresh_token),
          scope: settings.scope,
          retry,
        });
        source = 'refresh';
      } catch (e) {
        // A refused refresh (revoked, expired, rotated) falls back to an exchange; an unreachable
        // tenant would fail the exchange too, so that error is the answer.
        if (!isOmniAuthError(e) || e.exitCode !== 3) throw e;
        req.warn('the refresh token was refused; exchanging the machine key again');
      }
    }
    if (!response) {
      const machine = machineInfo();
      // The person this key is bound to (one browser sign-in, src/identity/binding.ts), when there is a
      // binding for this tenant and application made with this very key.
      const found = await findBinding(files.home, settings.issuer, settings.clientId, thumbprint, req.warn);
      const binding = found ? { id_token: found.id_token, salt: found.salt } : undefined;
      response = await exchangeToken({
        domain: settings.domain,
        clientId: settings.clientId,
        clientSecret: req.clientSecret,
        audience: settings.audience,
        scope: settings.scope,
        subjectTokenType: settings.subjectTokenType,
        retry,
        // A new local token (new jti) for every attempt: the Action refuses replays.
        mintSubjectToken: () => mintLocalToken({ ...machineKey, audience: settings.issuer, clientId: settings.clientId, machine, ...(binding ? { binding } : {}) }),
      });
    }

    const token: CachedToken = {
      ...(await verifiedEntry(response, settings, now, settings.scope)),
      // Auth0 does not rotate refresh tokens by default: keep the old one when none is returned.
      ...(response.refresh_token ?? cached?.refresh_token ? { refresh_token: response.refresh_token ?? cached?.refresh_token } : {}),
      ...(response.id_token ? { id_token: response.id_token } : {}),
      key_thumbprint: thumbprint,
    };
    await putEntry(files.tokens, key, token);
    return { token, source };
  }, { timeoutMs });
}
