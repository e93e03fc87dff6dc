/**
 * `login --device` (issue 10, headless): the Device Authorization Flow gets this person's own access
 * and refresh tokens into the cache — under the sign-in lock and the cache lock, like the browser
 * login — and binds NOTHING: the device flow carries no nonce, so no attestation of this machine key
 * comes out of it. Later headless exchanges under a `person` policy still need `login --browser`
 * (or `--no-browser`). An existing binding is left as it is.
 */
import { cacheKeyOf, putEntry } from '../cache/token-cache.js';
import { KEY_ENV, loadOrCreateKey } from '../identity/key-store.js';
import { withFileLock } from '../util/lock.js';
import type { Secret } from '../util/secret.js';
import { cacheEntryOf, lockedSignIn } from './browser-login.js';
import type { TokenRequest } from './get-token.js';
import type { LoginResult, PostLoginStep } from './login.js';

export interface DeviceSignedIn {
  accessToken: Secret;
  refreshToken?: Secret;
  tokenType: string;
  expiresIn?: number;
  scope?: string;
  claims?: { sub: string; name?: string; nickname?: string };
}

export type DeviceSignInFn = (p: { issuer: string; clientId: string; clientSecret?: Secret; audience: string; scope: string }) => Promise<DeviceSignedIn>;

export type DeviceLoginRequest = Omit<TokenRequest, 'force' | 'minTtl'> & { signIn: DeviceSignInFn; lockTimeoutMs: number };

export function deviceLogin(req: DeviceLoginRequest, steps: PostLoginStep[] = []): Promise<LoginResult> {
  return lockedSignIn(req, () => signInAndStore(req), steps);
}

async function signInAndStore(req: DeviceLoginRequest): Promise<LoginResult> {
  const { settings, files } = req;
  // The key is loaded (or created) so the cached entry names it, as every other entry does.
  const key = await loadOrCreateKey(files.key, req.env);
  const got = await req.signIn({
    issuer: settings.issuer,
    clientId: settings.clientId,
    ...(req.clientSecret ? { clientSecret: req.clientSecret } : {}),
    audience: settings.audience,
    scope: settings.scope,
  });
  const token = await cacheEntryOf(got, req, key.thumbprint);
  await withFileLock(files.tokensLock, () => putEntry(files.tokens, cacheKeyOf(settings), token), { timeoutMs: 45_000 });
  return {
    token,
    source: 'device',
    thumbprint: key.thumbprint,
    keySource: req.env[KEY_ENV]?.trim() ? KEY_ENV : files.key,
    user: { ...(token.subject ? { sub: token.subject } : {}), ...(got.claims?.name ? { name: got.claims.name } : {}), ...(got.claims?.nickname ? { nickname: got.claims.nickname } : {}) },
  };
}
