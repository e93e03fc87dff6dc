/**
 * `omni-auth proxy <url>`: a stdio ⇄ Streamable HTTP bridge that owns the token (issue 11 §1).
 * Compiled on first use (scripts/build.mjs): the MCP SDK's transports stay in here.
 */
export { startProxy, PROXY_ERRORS, type ProxyOptions, type RunningProxy, type UpstreamKind } from './bridge.js';
export { brokerTokens, type BearerSource, type BrokerRequest } from './tokens.js';
export { parseBearerChallenge, type BearerChallenge } from './challenge.js';
export { proxyUrl, proxyHeaders, PROXY_HEADERS_VAR } from './url.js';
