/** postForm / postJson: the URL rule, timeouts, cancellation and body parsing (msw + fetch transport). */
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../src/exchange/errors.js';
import { postForm, postJson, type HttpOptions } from '../../src/exchange/http.js';
import { ExitCode, OmniAuthError } from '../../src/util/errors.js';
import { fetchTransport } from './helpers.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const opts: HttpOptions = { connectTimeoutMs: 1_000, totalTimeoutMs: 2_000, transport: fetchTransport };

describe('the URL rule', () => {
  it.each(['https://tenant.auth0.com/x', 'http://localhost:8080/x', 'http://127.0.0.1:9/x', 'http://127.45.6.7/x', 'http://[::1]:9/x'])(
    'allows %s', async (url) => {
      // A catch-all handler: msw's path patterns cannot express an IPv6 host.
      server.use(http.post('*', ({ request }) => (request.url === url ? HttpResponse.json({ ok: true }) : undefined)));
      expect((await postForm(new URL(url), {}, opts)).body).toEqual({ ok: true });
    },
  );

  it.each(['http://tenant.auth0.com/x', 'http://10.0.0.1/x', 'http://localhost.evil.com/x', 'http://128.0.0.1/x', 'ftp://tenant.auth0.com/x'])(
    'refuses %s without sending anything', async (url) => {
      let sent = false;
      server.use(http.all(url, () => {
        sent = true;
        return HttpResponse.json({});
      }));
      const e = await postJson(new URL(url), { token: 'x' }, opts).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(OmniAuthError);
      expect((e as OmniAuthError).code).toBe('insecure_url');
      expect((e as OmniAuthError).exitCode).toBe(ExitCode.usage);
      expect(sent).toBe(false);
    },
  );
});

describe('timeouts and cancellation', () => {
  it('a slow answer hits the total timeout: a transient tenant_unreachable naming the host', async () => {
    server.use(http.post('https://slow.example.com/t', async () => {
      await delay(5_000);
      return HttpResponse.json({});
    }));
    const e = await postForm(new URL('https://slow.example.com/t'), {}, { ...opts, totalTimeoutMs: 150 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TransientError);
    expect((e as OmniAuthError).code).toBe('tenant_unreachable');
    expect((e as OmniAuthError).message).toMatch(/slow\.example\.com.*in time/);
    expect((e as OmniAuthError).details).toEqual({ reason: 'timeout' });
  });

  it('the caller\'s abort comes back as the caller\'s reason, not as a network error', async () => {
    server.use(http.post('https://slow.example.com/t', async () => {
      await delay(5_000);
      return HttpResponse.json({});
    }));
    const controller = new AbortController();
    const reason = new Error('user pressed Ctrl-C');
    setTimeout(() => controller.abort(reason), 50);
    await expect(postForm(new URL('https://slow.example.com/t'), {}, { ...opts, signal: controller.signal })).rejects.toBe(reason);
  });
});

describe('bodies', () => {
  it('encodes the form and leaves out undefined fields', async () => {
    let got = '';
    server.use(http.post('https://t.example.com/f', async ({ request }) => {
      got = await request.text();
      return HttpResponse.json({});
    }));
    await postForm(new URL('https://t.example.com/f'), { a: '1 2', b: undefined, c: 'x&y=z' }, opts);
    expect(Object.fromEntries(new URLSearchParams(got))).toEqual({ a: '1 2', c: 'x&y=z' });
  });

  it('an empty body is undefined; lower-case header names', async () => {
    server.use(http.post('https://t.example.com/e', () => new HttpResponse(null, { status: 200, headers: { 'X-RateLimit-Remaining': '3' } })));
    const r = await postForm(new URL('https://t.example.com/e'), {}, opts);
    expect(r.body).toBeUndefined();
    expect(r.headers['x-ratelimit-remaining']).toBe('3');
  });

  it('a non-JSON error page is left to the status (body undefined)', async () => {
    server.use(http.post('https://t.example.com/h', () => HttpResponse.text('<html>bad gateway</html>', { status: 502 })));
    expect(await postForm(new URL('https://t.example.com/h'), {}, opts)).toMatchObject({ status: 502, body: undefined });
  });

  it('a 2xx that is not JSON is a transient tenant_bad_response', async () => {
    server.use(http.post('https://t.example.com/b', () => HttpResponse.text('<html>captive portal</html>')));
    const e = await postForm(new URL('https://t.example.com/b'), {}, opts).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TransientError);
    expect((e as OmniAuthError).code).toBe('tenant_bad_response');
    expect((e as OmniAuthError).exitCode).toBe(ExitCode.unreachable);
    expect((e as OmniAuthError).message).not.toContain('captive');
  });
});
