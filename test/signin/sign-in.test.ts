/**
 * The sign-in protocol against a fake authorization server on loopback: PKCE S256, state, the
 * key-bound nonce, the loopback callback, paste-back, and each way it can fail — with no secret (code,
 * verifier, tokens) in any error.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bindingNonce, newSalt } from '../../src/identity/binding.js';
import { signIn, type SignInOptions } from '../../src/signin/index.js';
import { freePort, followAsBrowser, startFakeTenant, type FakeTenant } from './fake-tenant.js';

let tenant: FakeTenant;
let said: string[];
const thumbprint = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const nonce = bindingNonce(thumbprint, newSalt());

beforeEach(async () => {
  tenant = await startFakeTenant();
  said = [];
});
afterEach(async () => {
  await tenant.close();
});

async function options(extra: Partial<SignInOptions> = {}): Promise<SignInOptions> {
  return {
    issuer: tenant.issuer, clientId: tenant.clientId, audience: tenant.audience, scope: 'profile email offline_access', nonce,
    port: await freePort(), timeoutSeconds: 30, mode: 'browser', say: (l) => said.push(l), env: {},
    openBrowser: async (url) => {
      void followAsBrowser(url);
      return true;
    },
    ...extra,
  };
}

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<Error & { code?: string; exitCode?: number; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

describe('signIn (browser, loopback callback)', () => {
  it('sends PKCE S256, state, the key-bound nonce, audience and openid; returns verified tokens', async () => {
    let pages: Promise<{ status: number; page: string }> | undefined;
    const got = await signIn(await options({ openBrowser: async (url) => ((pages = followAsBrowser(url)), true) }));
    const q = tenant.authorizeRequests[0]!;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(q.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(q.get('nonce')).toBe(nonce);
    expect(q.get('audience')).toBe(tenant.audience);
    expect(q.get('scope')!.split(' ')).toContain('openid');
    expect(q.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(got.claims).toMatchObject({ sub: 'auth0|person-1', name: 'Pat Person', nonce });
    expect(got.refreshToken?.reveal()).toBeTruthy();
    // The tab is told it can be closed.
    const { status, page } = await pages!;
    expect(status).toBe(200);
    expect(page).toMatch(/close this tab/i);
    // The URL is always printed (stderr), never a token.
    expect(said.join('\n')).toContain(`${tenant.issuer}authorize?`);
    expect(said.join('\n')).not.toContain(got.idToken.reveal());
  });

  it('a callback whose state does not match is a clear error, and the tab says so', async () => {
    let pages: Promise<{ status: number; page: string; callback: URL }> | undefined;
    const e = await failure(signIn(await options({
      openBrowser: async (url) => ((pages = followAsBrowser(url, (cb) => cb.searchParams.set('state', 'forged'))), true),
    })));
    expect(e.code).toBe('signin_state_mismatch');
    expect(e.exitCode).toBe(3);
    const { status, page, callback } = await pages!;
    expect(status).toBe(400);
    expect(page).toMatch(/state/);
    expect(e.message).not.toContain(callback.searchParams.get('code')!);
    expect(tenant.grants).toEqual([]);
  });

  it('error= in the callback is a clear error with the tenant\'s words', async () => {
    tenant.options.authorize = 'deny';
    const e = await failure(signIn(await options()));
    expect(e.code).toBe('signin_denied');
    expect(e.message).toContain('access_denied');
    expect(e.message).toContain('The person declined');
  });

  it('a taken callback port is an error naming the port', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      const e = await failure(signIn(await options({ port })));
      expect(e.code).toBe('callback_port_in_use');
      expect(e.message).toContain(String(port));
      expect(e.hint).toContain('--callback-port');
    } finally {
      busy.close();
    }
  });

  it('times out with a clear error when no callback comes', async () => {
    const e = await failure(signIn(await options({ timeoutSeconds: 1, openBrowser: async () => true })));
    expect(e.code).toBe('signin_timeout');
    expect(e.hint).toContain('--timeout');
  });

  it('refuses an ID token not signed by the tenant\'s JWKS', async () => {
    tenant.options.forgeIdToken = true;
    const e = await failure(signIn(await options()));
    expect(e.code).toBe('id_token_unverified');
  });

  it('refuses an ID token whose nonce is not the one sent (the key binding)', async () => {
    tenant.options.nonceOverride = bindingNonce(thumbprint, newSalt());
    const e = await failure(signIn(await options()));
    expect(e.code).toBe('id_token_unverified');
    expect(e.message).toMatch(/nonce/);
  });

  it('refuses an ID token minted for another client (audience)', async () => {
    tenant.options.idTokenAudience = 'another-client';
    const e = await failure(signIn(await options()));
    expect(e.code).toBe('id_token_unverified');
  });

  it('fails at once, without waiting, when no browser opens and nothing can be pasted (exec)', async () => {
    const e = await failure(signIn(await options({ openBrowser: async () => false, failWithoutBrowser: true, timeoutSeconds: 3600 })));
    expect(e.code).toBe('binding_required');
    expect(e.exitCode).toBe(3);
  });

  it('when the browser cannot open, a pasted address on the terminal completes the sign-in', async () => {
    const input = new PassThrough();
    const got = signIn(await options({
      input,
      openBrowser: async (url) => {
        const r = await fetch(url, { redirect: 'manual' });
        input.write(`${r.headers.get('location')}\n`);
        return false;
      },
    }));
    expect((await got).claims.sub).toBe('auth0|person-1');
  });
});

describe('signIn --no-browser (paste-back)', () => {
  async function pasteFlow(transform: (callback: URL) => string) {
    const input = new PassThrough();
    const opts = await options({ mode: 'paste', input, openBrowser: async () => { throw new Error('no browser in paste mode'); } });
    const flow = signIn({ ...opts, say: (l) => {
      said.push(l);
      const m = /(http:\/\/\S+\/authorize\?\S+)/.exec(l);
      if (m) void fetch(m[1]!, { redirect: 'manual' }).then((r) => input.write(`${transform(new URL(r.headers.get('location')!))}\n`));
    } });
    return flow;
  }

  it('accepts the whole address the browser ended on, and verifies its state', async () => {
    expect((await pasteFlow((cb) => cb.href)).claims.sub).toBe('auth0|person-1');
  });

  it('accepts the bare code', async () => {
    expect((await pasteFlow((cb) => cb.searchParams.get('code')!)).claims.sub).toBe('auth0|person-1');
  });

  it('refuses a pasted address of another sign-in (state)', async () => {
    const e = await failure(pasteFlow((cb) => {
      cb.searchParams.set('state', 'other');
      return cb.href;
    }));
    expect(e.code).toBe('signin_state_mismatch');
  });

  it('listens on no port: a taken callback port does not matter', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      const input = new PassThrough();
      const flow = signIn({ ...(await options({ mode: 'paste', input, port })), say: (l) => {
        const m = /(http:\/\/\S+\/authorize\?\S+)/.exec(l);
        if (m) void fetch(m[1]!, { redirect: 'manual' }).then((r) => input.write(`${r.headers.get('location')}\n`));
      } });
      expect((await flow).claims.sub).toBe('auth0|person-1');
    } finally {
      busy.close();
    }
  });
});

describe('signIn: the tenant', () => {
  it('an unreachable tenant is signin_unavailable (exit 4), before any port is taken', async () => {
    const port = await freePort();
    const e = await failure(signIn({ ...(await options()), issuer: `http://127.0.0.1:${port}/` }));
    expect(e.code).toBe('signin_unavailable');
    expect(e.exitCode).toBe(4);
  });
});
