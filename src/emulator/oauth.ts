/**
 * The Authentication API routes: POST /oauth/token (token exchange, client credentials, refresh,
 * authorization code),
 * POST /oauth/revoke, GET /userinfo and the two /.well-known documents. Token exchanges are
 * rate limited and counted in `tenant.stats.exchanges`.
 */
import { TOO_MANY_REQUESTS } from './behaviour.js';
import { openidConfiguration, jwks, userinfo } from './discovery.js';
import { TOKEN_EXCHANGE_GRANT, tokenExchange, type ExchangeContext } from './exchange.js';
import { clientCredentials, refreshToken, revoke } from './grants.js';
import type { EmulatorReply, EmulatorRequest, Handler } from './http-types.js';
import { OAuthError, Params } from './oauth-error.js';
import { rateLimitHeaders, type TokenBucket } from './ratelimit.js';
import { authorizationCode } from './signin/codes.js';

export interface OAuthContext extends ExchangeContext {
  /** The tenant-wide token-exchange bucket (settings.exchangeBurst, refilled at exchangeRatePerSecond). */
  exchangeWindow: TokenBucket;
}

/** RFC 6749 §5.1: token responses must not be cached. */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

async function exchange(ctx: OAuthContext, req: EmulatorRequest, params: Params): Promise<EmulatorReply> {
  const { stats, settings } = ctx.tenant;
  const window = ctx.exchangeWindow.take(settings.exchangeBurst ?? settings.exchangeRatePerSecond, settings.exchangeRatePerSecond);
  const headers = { ...NO_STORE, ...rateLimitHeaders(window) };
  try {
    if (!window.allowed) {
      stats.exchanges.rate_limited++;
      throw OAuthError.of(TOO_MANY_REQUESTS);
    }
    const body = await tokenExchange(ctx, req, params);
    stats.exchanges.ok++;
    return { status: 200, body, headers };
  } catch (e) {
    stats.exchanges.failed++;
    if (e instanceof OAuthError) return { ...e.reply(), headers };
    throw e;
  }
}

async function token(ctx: OAuthContext, req: EmulatorRequest): Promise<EmulatorReply> {
  const params = new Params(req.body);
  const grantType = params.require('grant_type');
  switch (grantType) {
    case TOKEN_EXCHANGE_GRANT:
      return exchange(ctx, req, params);
    case 'client_credentials':
      return { status: 200, body: await clientCredentials(ctx.tenant, req, params), headers: NO_STORE };
    case 'refresh_token':
      return { status: 200, body: await refreshToken(ctx.tenant, req, params), headers: NO_STORE };
    case 'authorization_code':
      return { status: 200, body: await authorizationCode(ctx.tenant, req, params), headers: NO_STORE };
    default:
      throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);
  }
}

export function oauthHandler(ctx: OAuthContext): Handler {
  const { tenant } = ctx;
  return async (req) => {
    const route = `${req.method} ${req.path}`;
    try {
      switch (route) {
        case 'POST /oauth/token':
          return await token(ctx, req);
        case 'POST /oauth/revoke':
          await revoke(tenant, req, new Params(req.body));
          return { status: 200 };
        case 'GET /userinfo':
          return await userinfo(tenant, req);
        case 'GET /.well-known/openid-configuration':
          return { status: 200, body: openidConfiguration(tenant) };
        case 'GET /.well-known/jwks.json':
          return { status: 200, body: jwks(tenant) };
        default:
          return undefined;
      }
    } catch (e) {
      if (e instanceof OAuthError) return e.reply();
      throw e;
    }
  };
}
