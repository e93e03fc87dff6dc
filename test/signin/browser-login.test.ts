/**
 * The broker's browser-login use case with the sign-in replaced (it is injected): what it stores,
 * under which lock, and how concurrent automatic sign-ins become one.
 */
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserLogin, signInOnce, type SignInFn } from '../../src/broker/browser-login.js';
import { homeFiles } from '../../src/config/home.js';
import { resolveSettings } from '../../src/config/settings.js';
import { bindingNonce, findBinding } from '../../src/identity/binding.js';
import { currentThumbprint } from '../../src/identity/key-store.js';
import { withFileLock } from '../../src/util/lock.js';
import { Secret } from '../../src/util/secret.js';

const settings = resolveSettings({ domain: 'https://t.example', clientId: 'cli', audience: 'https://api' }, {}, undefined);
const exists = (p: string) => access(p).then(() => true, () => false);

function fakeSignIn(calls: { nonce: string }[]): SignInFn {
  return async (p) => {
    calls.push({ nonce: p.nonce });
    return {
      // Opaque (not a JWT): verifyAccessToken leaves it unchecked, no network needed.
      accessToken: new Secret('opaque-access-token'),
      refreshToken: new Secret('refresh-1'),
      idToken: new Secret('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl'),
      tokenType: 'Bearer',
      expiresIn: 3600,
      claims: { sub: 'auth0|pat', name: 'Pat', iat: 1_800_000_000 },
    };
  };
}

async function request(calls: { nonce: string }[] = []) {
  const home = await mkdtemp(join(tmpdir(), 'omni-blogin-'));
  const files = homeFiles(home);
  return { files, calls, req: { settings, files, env: {}, warn: () => undefined, signIn: fakeSignIn(calls), lockTimeoutMs: 30_000 } };
}

describe('browserLogin', () => {
  it('asks with the nonce of this key and a fresh salt; stores binding and tokens', async () => {
    const { files, calls, req } = await request();
    const r = await browserLogin(req);
    const tp = (await currentThumbprint(files.key, {}))!;
    const b = (await findBinding(files.home, settings.issuer, settings.clientId, tp))!;
    expect(calls[0]!.nonce).toBe(bindingNonce(tp, b.salt));
    expect(b).toMatchObject({ sub: 'auth0|pat', name: 'Pat', bound_at: 1_800_000_000, thumbprint: tp });
    const cache = JSON.parse(await readFile(files.tokens, 'utf8')) as { entries: Record<string, Record<string, unknown>> };
    expect(Object.values(cache.entries)[0]).toMatchObject({ access_token: 'opaque-access-token', refresh_token: 'refresh-1', subject: 'auth0|pat', key_thumbprint: tp });
    expect(Object.values(cache.entries)[0]).not.toHaveProperty('id_token');
    expect(r).toMatchObject({ source: 'browser', thumbprint: tp, boundAt: 1_800_000_000, user: { sub: 'auth0|pat' } });
  });

  it('writes the binding and the tokens only while holding the token cache lock', async () => {
    const { files, calls, req } = await request();
    let login: Promise<unknown> | undefined;
    await (await import('../../src/util/atomic-write.js')).ensurePrivateDir(files.home);
    await withFileLock(files.tokensLock, async () => {
      login = browserLogin(req);
      while (calls.length === 0) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 300));
      expect(await exists(files.tokens)).toBe(false);
      expect(await exists(join(files.home, 'bindings.json'))).toBe(false);
    });
    await login;
    expect(await exists(files.tokens)).toBe(true);
    expect(await exists(join(files.home, 'bindings.json'))).toBe(true);
  });
});

describe('signInOnce', () => {
  it('does not sign in again when another process bound this key since we started', async () => {
    const { calls, req } = await request();
    const started = Date.now() - 1000;
    await browserLogin(req);
    expect(calls).toHaveLength(1);
    expect(await signInOnce(req, started)).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('signs in when the binding is older than the refusal (an expired one)', async () => {
    const { calls, req } = await request();
    await browserLogin(req);
    expect(await signInOnce(req, Date.now() + 60_000)).toBe(true);
    expect(calls).toHaveLength(2);
  });
});
