/**
 * The `api` object of the post-login trigger (v3), as far as it applies after a Custom Token
 * Exchange, and the outcome it records. Auth0's "Actions Triggers: post-login - API Object":
 * - `api.access.deny(reason)` refuses; "This will NOT cancel other user-related side effects (such
 *   as metadata changes)", and no further Actions run;
 * - `api.accessToken.setCustomClaim(name, value)` / `api.idToken.setCustomClaim(name, value)` add
 *   claims to the tokens issued "upon completion of the login flow";
 * - `api.multifactor.enable(provider, options)` requires MFA; after a Custom Token Exchange Auth0
 *   then refuses the exchange with `mfa_required` and an `mfa_token` ("Multi-Factor Authentication
 *   for Custom Token Exchange");
 * - `api.authentication.challengeWith/challengeWithAny/enrollWith/enrollWithAny` are not supported
 *   with Custom Token Exchange: "the transaction will fail with a non-recoverable error" (same page);
 * - `api.user.setAppMetadata/setUserMetadata(name, value)`, `api.cache`.
 * Not modelled (a call throws TypeError "… is not a function", which fails the exchange):
 * `api.accessToken.addScope/removeScope`, `api.redirect`, `api.samlResponse`, `api.session`,
 * `api.refreshToken`, `api.authentication.recordMethod/setPrimaryUser`.
 */
import { actionFacingCache, type ActionCacheApi } from './cache-api.js';
import type { RunEnd } from './cte-api.js';
import type { PostLoginOutcome } from './types.js';

export interface PostLoginApi {
  api: object;
  close(): void;
  outcome(end: RunEnd): PostLoginOutcome;
}

const UNSUPPORTED_MFA =
  'is not supported with Custom Token Exchange (event.transaction.protocol "oauth2-token-exchange"); the transaction fails';

export function createPostLoginApi(cache: ActionCacheApi, realmTypeError: (message: string) => Error): PostLoginApi {
  let open = true;
  let denied: string | undefined;
  let misuse: string | undefined;
  let mfa: { provider: string } | undefined;
  const accessTokenClaims: Record<string, unknown> = {};
  const idTokenClaims: Record<string, unknown> = {};
  const appMetadata: Record<string, unknown> = {};
  const userMetadata: Record<string, unknown> = {};

  const recording = (): boolean => open && denied === undefined;
  const wrongCall = (message: string): never => {
    misuse ??= message;
    throw realmTypeError(message);
  };
  const jsonCopy = (method: string, value: unknown, allowNull: boolean): unknown => {
    if (value === null && allowNull) return null;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    return json === undefined ? wrongCall(`${method}: the value must be JSON`) : JSON.parse(json);
  };
  const setInto = (method: string, target: Record<string, unknown>, key: unknown, value: unknown, allowNull: boolean): void => {
    if (!recording()) return;
    if (typeof key !== 'string' || key === '') wrongCall(`${method}: the name must be a non-empty string`);
    target[key as string] = jsonCopy(method, value, allowNull);
  };
  const unsupported = (method: string) => (): never => {
    const message = `${method} ${UNSUPPORTED_MFA}`;
    misuse ??= message;
    throw realmTypeError(message);
  };

  const api = {
    access: {
      deny(reason?: unknown) {
        if (recording()) denied = reason === undefined || reason === null ? '' : String(reason);
        return api;
      },
    },
    accessToken: {
      setCustomClaim(name: unknown, value: unknown) {
        setInto('api.accessToken.setCustomClaim', accessTokenClaims, name, value, false);
        return api;
      },
    },
    idToken: {
      setCustomClaim(name: unknown, value: unknown) {
        setInto('api.idToken.setCustomClaim', idTokenClaims, name, value, false);
        return api;
      },
    },
    multifactor: {
      enable(provider: unknown, _options?: unknown) {
        if (!recording()) return api;
        if (typeof provider !== 'string' || provider === '') wrongCall('api.multifactor.enable: provider must be a non-empty string');
        mfa ??= { provider: provider as string };
        return api;
      },
    },
    authentication: {
      challengeWith: unsupported('api.authentication.challengeWith'),
      challengeWithAny: unsupported('api.authentication.challengeWithAny'),
      enrollWith: unsupported('api.authentication.enrollWith'),
      enrollWithAny: unsupported('api.authentication.enrollWithAny'),
    },
    user: {
      setAppMetadata(key: unknown, value: unknown) {
        setInto('api.user.setAppMetadata', appMetadata, key, value, true);
        return api;
      },
      setUserMetadata(key: unknown, value: unknown) {
        setInto('api.user.setUserMetadata', userMetadata, key, value, true);
        return api;
      },
    },
    cache: actionFacingCache(cache),
  };

  return {
    api,
    close() {
      open = false;
    },
    outcome(end) {
      const metadata = { appMetadata: { ...appMetadata }, userMetadata: { ...userMetadata } };
      if (denied !== undefined) return { kind: 'denied', reason: denied, ...metadata };
      if (end.kind === 'failed') return { kind: 'failed', reason: end.reason, ...metadata };
      if (misuse) return { kind: 'failed', reason: misuse, ...metadata };
      return {
        kind: 'continue',
        accessTokenClaims: { ...accessTokenClaims },
        idTokenClaims: { ...idTokenClaims },
        ...(mfa ? { mfa } : {}),
        ...metadata,
      };
    },
  };
}
