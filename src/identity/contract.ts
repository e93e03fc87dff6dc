/**
 * The local token: the contract between this CLI and the Auth0 Action (docs/local-token.md). Every
 * constant of that contract lives here — in a module of its own, so settings can use them without
 * loading the JOSE library that minting needs.
 */
export const LOCAL_TOKEN_TYPE = 'omni-local+jwt';
export const LOCAL_TOKEN_ISSUER = 'omni-auth';
export const SUBJECT_TOKEN_TYPE = 'urn:omnispindle:local-auth';
/** The Action refuses tokens that live longer than this. */
export const MAX_LIFETIME_SECONDS = 300;
/** We mint shorter than the maximum so clock skew and retries fit inside it. */
export const DEFAULT_LIFETIME_SECONDS = 120;

export type LocalTokenAlg = 'ES256' | 'EdDSA';
