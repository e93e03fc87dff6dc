/**
 * The warm `token` path imports these modules but sends nothing: neither undici nor jose may load
 * until a request is sent or a JWT verified.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const loaded: string[] = [];
vi.mock('undici', () => {
  loaded.push('undici');
  return {};
});
vi.mock('jose', () => {
  loaded.push('jose');
  return {};
});

beforeEach(() => {
  loaded.length = 0;
  vi.resetModules();
});

describe('lazy imports', () => {
  it('importing every exchange module loads neither undici nor jose', async () => {
    await import('../../src/exchange/exchange.js');
    await import('../../src/exchange/verify.js');
    await import('../../src/exchange/http.js');
    await import('../../src/exchange/undici-transport.js');
    expect(loaded).toEqual([]);
  });

  it('sending a request goes through Node\'s own fetch (no bundled undici to compile); verifying an opaque token loads nothing', async () => {
    const { verifyAccessToken } = await import('../../src/exchange/verify.js');
    expect(await verifyAccessToken('opaque', { domain: 'https://t.example.com', audience: 'a' })).toBeUndefined();
    expect(loaded).toEqual([]);
    const { postForm } = await import('../../src/exchange/http.js');
    // Nothing listens on port 9: refused (or timed out), through Node's fetch.
    await postForm(new URL('http://127.0.0.1:9/oauth/token'), {}, { connectTimeoutMs: 100, totalTimeoutMs: 100 }).catch(() => undefined);
    expect(loaded).toEqual([]);
  });

  it('with a proxy configured, a request loads the bundled undici (EnvHttpProxyAgent)', async () => {
    vi.stubEnv('HTTPS_PROXY', 'http://127.0.0.1:9');
    try {
      const { postForm } = await import('../../src/exchange/http.js');
      // The mocked undici has no Agent: the request fails, after undici was loaded.
      await postForm(new URL('https://t.example.com/oauth/token'), {}, { connectTimeoutMs: 100, totalTimeoutMs: 100 }).catch(() => undefined);
      expect(loaded).toEqual(['undici']);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('verifying a JWT loads jose', async () => {
    const { verifyAccessToken } = await import('../../src/exchange/verify.js');
    await verifyAccessToken('eyJhbGciOiJSUzI1NiJ9.e30.c2ln', { domain: 'https://t.example.com', audience: 'a' }).catch(() => undefined);
    expect(loaded).toEqual(['jose']);
  });
});
