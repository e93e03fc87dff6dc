/**
 * Where the proxy's bearer tokens come from: the broker's getToken, the one the `token` command uses —
 * the cache while the token has more than `minTtl` seconds left, else a renewal under the shared
 * cache lock. After a 401, `renew(refused)` never hands back the refused token: if the cache already
 * holds another (a parallel process renewed it), that one; otherwise a forced acquisition, which
 * skips the cache and the refresh token (a refresh could return the same grant) for a new exchange.
 */
import { getToken, type TokenRequest } from '../broker/get-token.js';

export interface BearerSource {
  /** A token valid for a while yet. */
  current(): Promise<string>;
  /** A token other than `refused` (the server said 401 to it). */
  renew(refused: string): Promise<string>;
}

export type BrokerRequest = Omit<TokenRequest, 'force'>;

export function brokerTokens(req: BrokerRequest): BearerSource {
  let renewing: { refused: string; next: Promise<string> } | undefined;
  const current = async (): Promise<string> => (await getToken(req)).token.access_token;
  return {
    current,
    renew(refused) {
      // Requests refused together share one renewal.
      if (renewing?.refused === refused) return renewing.next;
      const next = (async () => {
        const cached = await current();
        if (cached !== refused) return cached;
        return (await getToken({ ...req, force: true })).token.access_token;
      })();
      renewing = { refused, next };
      next.catch(() => undefined).finally(() => {
        if (renewing?.next === next) renewing = undefined;
      });
      return next;
    },
  };
}
