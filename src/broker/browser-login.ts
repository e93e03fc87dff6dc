/**
 * The browser login use case (issue 10 §1–2): one sign-in that both gets this person's tokens and
 * binds this machine's key to them.
 *
 *   take the sign-in lock → load (or create) the machine key → a fresh salt, and the nonce that binds
 *   the key → sign in (src/signin, injected by the CLI so it stays lazily loaded) → verify the access
 *   token like an exchanged one → under the cache lock: store the binding, then the tokens → save the
 *   settings → the post-login steps.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheKeyOf, putEntry, type CachedToken } from '../cache/token-cache.js';
import { saveSettings } from '../config/settings-write.js';
import { bindingNonce, bindingsFile, findBinding, newSalt, saveBinding } from '../identity/binding.js';
import { KEY_ENV, loadOrCreateKey } from '../identity/key-store.js';
import { ensurePrivateDir } from '../util/atomic-write.js';
import { withFileLock } from '../util/lock.js';
import type { Secret } from '../util/secret.js';
import type { TokenRequest } from './get-token.js';
import type { LoginResult, PostLoginStep } from './login.js';

/** What the sign-in returns (src/signin's SignInTokens), as the broker needs it. */
export interface SignedIn {
  accessToken: Secret;
  refreshToken?: Secret;
  idToken: Secret;
  tokenType: string;
  expiresIn?: number;
  scope?: string;
  claims: { sub: string; iat: number; name?: string; nickname?: string; email?: string };
}

/** The sign-in itself, given the nonce: src/signin's `signIn` with the CLI's choices bound in. */
export type SignInFn = (p: { issuer: string; clientId: string; clientSecret?: Secret; audience: string; scope: string; nonce: string }) => Promise<SignedIn>;

export type BrowserLoginRequest = Omit<TokenRequest, 'force' | 'minTtl'> & {
  signIn: SignInFn;
  /** How long to wait for another process's sign-in (the sign-in lock). */
  lockTimeoutMs: number;
};

/** The lock that makes concurrent sign-ins (several `exec` started at once) one. */
export const signinLock = (home: string): string => join(home, 'signin.lock');

/**
 * The cache entry for tokens a person signed in for (browser or device): expiry and subject from the
 * verified access token when it verifies, else from the answer; bound to the key of this machine.
 */
export async function cacheEntryOf(
  got: { accessToken: Secret; refreshToken?: Secret; tokenType: string; expiresIn?: number; scope?: string; claims?: { sub: string } },
  req: Pick<TokenRequest, 'settings' | 'now'>,
  thumbprint: string,
): Promise<CachedToken> {
  const { settings } = req;
  const { verifyAccessToken } = await import('../exchange/verify.js');
  const verified = await verifyAccessToken(got.accessToken.reveal(), { domain: settings.domain, audience: settings.audience });
  const obtainedAt = (req.now ?? (() => Math.floor(Date.now() / 1000)))();
  const subject = verified?.sub ?? got.claims?.sub;
  return {
    access_token: got.accessToken.reveal(),
    token_type: got.tokenType,
    expires_at: verified?.exp ?? obtainedAt + (got.expiresIn ?? 0),
    obtained_at: obtainedAt,
    scope: got.scope ?? settings.scope,
    ...(got.refreshToken ? { refresh_token: got.refreshToken.reveal() } : {}),
    ...(subject ? { subject } : {}),
    key_thumbprint: thumbprint,
  };
}

/**
 * A person's sign-in (browser or device): one at a time per home, under the sign-in lock; then the
 * settings are saved and the post-login steps run.
 */
export async function lockedSignIn(
  req: Pick<TokenRequest, 'files' | 'settings'> & { lockTimeoutMs: number },
  signInAndStore: () => Promise<LoginResult>,
  steps: PostLoginStep[],
): Promise<LoginResult> {
  await ensurePrivateDir(req.files.home);
  const out = await withFileLock(signinLock(req.files.home), signInAndStore, { timeoutMs: req.lockTimeoutMs });
  await saveSettings(req.files, req.settings);
  for (const step of steps) await step(out);
  return out;
}

export function browserLogin(req: BrowserLoginRequest, steps: PostLoginStep[] = []): Promise<LoginResult> {
  return lockedSignIn(req, () => signInAndStore(req), steps);
}

/**
 * For `exec` and other automatic sign-ins: sign in unless another process bound this key since
 * `sinceMs` (its sign-in finished while we waited for the lock) — then its binding and tokens serve.
 * True when this call signed in.
 */
export async function signInOnce(req: BrowserLoginRequest, sinceMs: number): Promise<boolean> {
  await ensurePrivateDir(req.files.home);
  return withFileLock(signinLock(req.files.home), async () => {
    const key = await loadOrCreateKey(req.files.key, req.env);
    const changed = await stat(bindingsFile(req.files.home)).then((s) => s.mtimeMs >= sinceMs, () => false);
    if (changed && await findBinding(req.files.home, req.settings.issuer, req.settings.clientId, key.thumbprint)) return false;
    await signInAndStore(req);
    return true;
  }, { timeoutMs: req.lockTimeoutMs });
}

async function signInAndStore(req: BrowserLoginRequest): Promise<LoginResult> {
  const { settings, files } = req;
  const key = await loadOrCreateKey(files.key, req.env);
  const salt = newSalt();
  const nonce = bindingNonce(key.thumbprint, salt);
  const got = await req.signIn({
    issuer: settings.issuer,
    clientId: settings.clientId,
    ...(req.clientSecret ? { clientSecret: req.clientSecret } : {}),
    audience: settings.audience,
    scope: settings.scope,
    nonce,
  });
  const token = await cacheEntryOf(got, req, key.thumbprint);
  await withFileLock(files.tokensLock, async () => {
    // The binding first: it is what later exchanges need; the tokens are a convenience.
    await saveBinding(files.home, settings.issuer, settings.clientId, {
      id_token: got.idToken.reveal(),
      salt,
      thumbprint: key.thumbprint,
      sub: got.claims.sub,
      ...(typeof got.claims.name === 'string' ? { name: got.claims.name } : {}),
      bound_at: got.claims.iat,
    });
    await putEntry(files.tokens, cacheKeyOf(settings), token);
  }, { timeoutMs: 45_000 });
  const fromEnv = Boolean(req.env[KEY_ENV]?.trim());
  return {
    token,
    source: 'browser',
    boundAt: got.claims.iat,
    thumbprint: key.thumbprint,
    keySource: fromEnv ? KEY_ENV : files.key,
    user: { sub: got.claims.sub, ...(got.claims.name ? { name: got.claims.name } : {}), ...(got.claims.nickname ? { nickname: got.claims.nickname } : {}) },
  };
}
