/**
 * The local token: the contract between this CLI and the Auth0 Action (docs/local-token.md). Every
 * constant of that contract lives here — in a module of its own, so settings can use them without
 * loading the JOSE library that minting needs.
 */
export const LOCAL_TOKEN_TYPE = 'omni-local+jwt';
export const LOCAL_TOKEN_ISSUER = 'omni-auth';
export const SUBJECT_TOKEN_TYPE = 'urn:omnispindle:local-auth';
/**
 * The Action refuses tokens that live longer than this (auth0-actions/custom_token_exchange.js keeps
 * the same number). Short because the Action's replay store is best effort (Auth0's `api.cache` may
 * forget): a token's lifetime is what bounds a replay.
 */
export const MAX_LIFETIME_SECONDS = 120;
/**
 * What the CLI mints: `exp = iat + 60`. The token is minted right before the exchange, so a minute
 * covers the request and one retry; the Action's 30 s leeway covers clock skew.
 */
export const DEFAULT_LIFETIME_SECONDS = 60;

export type LocalTokenAlg = 'ES256' | 'EdDSA';
