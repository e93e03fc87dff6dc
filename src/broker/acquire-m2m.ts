/**
 * Getting a client-credentials token under the cache lock (src/broker/m2m.ts): re-read the cache,
 * then one client_credentials request (bounded retries, a fresh client assertion per attempt), verify,
 * cache under the grant's own entry. There is no refresh token in this grant.
 */
import { isFresh, putEntry, readCache, type CachedToken } from '../cache/token-cache.js';
import { clientCredentialsToken } from '../exchange/exchange.js';
import { retryBudgetMs } from '../exchange/retry-budget.js';
import { CLIENT_KEY_ENV, mintClientAssertion, readClientKey } from '../identity/client-key.js';
import { UsageError } from '../util/errors.js';
import type { TokenRequest, TokenResult } from './get-token.js';
import { m2mCacheKey, m2mScope } from './m2m.js';
import { verifiedEntry } from './token-entry.js';

export async function acquireM2mToken(req: TokenRequest, now: () => number): Promise<TokenResult> {
  const { settings, files } = req;
  const key = m2mCacheKey(settings);
  const { entries, warning } = await readCache(files.tokens);
  if (warning) req.warn(warning);
  const cached = entries[key];
  if (!req.force && cached && isFresh(cached, req.minTtl, now())) {
    if (warning) await putEntry(files.tokens, key, cached);
    return { token: cached, source: 'cache' };
  }
  // A secret when one is set; else Private Key JWT with the client key; else nothing to authenticate with.
  const clientKey = req.clientSecret ? undefined : await readClientKey(files.clientKey, req.env);
  if (!req.clientSecret && !clientKey) {
    throw new UsageError('client_credentials_missing', `a client-credentials token needs the application to authenticate: no client key (${CLIENT_KEY_ENV} or ${files.clientKey}) and no OMNI_AUTH_CLIENT_SECRET`, {
      hint: 'run `omni-auth setup --m2m` (registers this home\'s client key with a machine-to-machine application: no secret), or set OMNI_AUTH_CLIENT_SECRET',
    });
  }
  const scope = m2mScope(settings);
  const response = await clientCredentialsToken({
    domain: settings.domain,
    clientId: settings.clientId,
    audience: settings.audience,
    retry: { maxTotalMs: retryBudgetMs(req.env) },
    ...(scope !== '' ? { scope } : {}),
    ...(clientKey
      ? { mintClientAssertion: () => mintClientAssertion(clientKey, settings.clientId, settings.issuer) }
      : { clientSecret: req.clientSecret! }),
  });
  const token = await verifiedEntry(response, settings, now, undefined);
  await putEntry(files.tokens, key, token);
  return { token, source: 'client-credentials' };
}
