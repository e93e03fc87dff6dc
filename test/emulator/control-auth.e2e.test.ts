/**
 * Issue 9 §11: the emulator's control endpoints need the control token, refuse cross-origin and
 * non-JSON requests, and every route refuses a Host that is not the emulator's own (DNS rebinding).
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { call, control } from './helpers.js';

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.close();
});

/** A raw request with exactly these headers (Host included), as a browser or rebinding page would send. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: emu.port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the control token', () => {
  it('is a fresh random 32-byte base64url value in info(), different for each emulator', async () => {
    const token = emu.info().control_token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const other = await startEmulator();
    try {
      expect(other.info().control_token).not.toBe(token);
    } finally {
      await other.close();
    }
  });

  it('is required by every control endpoint: none or a wrong one is 401 and changes nothing', async () => {
    const before = emu.tenant.settings.actionTimeoutMs;
    for (const [method, path, json] of [
      ['GET', '/__emulator/stats', undefined],
      ['POST', '/__emulator/settings', { actionTimeoutMs: 1 }],
      ['POST', '/__emulator/fail-next-build', { message: 'x' }],
      ['POST', '/__emulator/reset-throttle', undefined],
    ] as const) {
      const none = await call(emu, method, path, { bare: true, ...(json ? { json } : {}) });
      expect([none.status, none.body.error], `${method} ${path}`).toEqual([401, 'invalid_token']);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
      const wrong = await call(emu, method, path, { headers: { authorization: `Bearer ${'A'.repeat(43)}` }, ...(json ? { json } : {}) });
      expect(wrong.status, `${method} ${path}`).toBe(401);
    }
    expect(emu.tenant.settings.actionTimeoutMs).toBe(before);
    expect(emu.tenant.settings.failNextBuild).toBeUndefined();
    expect((await control(emu, 'GET', 'stats')).status).toBe(200);
  });

  it('switches forgetActionCache (a boolean setting) on and off', async () => {
    const on = await control(emu, 'POST', 'settings', { forgetActionCache: true });
    expect([on.status, on.body.forgetActionCache, emu.tenant.settings.forgetActionCache]).toEqual([200, true, true]);
    expect((await control(emu, 'POST', 'settings', { forgetActionCache: 'yes' })).status).toBe(400);
    expect((await control(emu, 'POST', 'settings', { forgetActionCache: false })).body.forgetActionCache).toBe(false);
  });

  it('an unknown control path is 404 only after authentication', async () => {
    expect((await call(emu, 'GET', '/__emulator/nope', { bare: true })).status).toBe(401);
    expect((await control(emu, 'GET', 'nope')).status).toBe(404);
  });
});

describe('cross-origin requests', () => {
  const host = (): string => `127.0.0.1:${emu.port}`;

  it('refuses a form POST from another site, even one that somehow carries the token', async () => {
    const form = 'exchangeRatePerSecond=0';
    const page = await raw('POST', '/__emulator/settings', {
      host: host(), origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(form.length),
    }, form);
    expect(page.status).toBe(403);
    const withToken = await raw('POST', '/__emulator/settings', {
      host: host(), origin: 'http://evil.example', 'content-type': 'application/json', authorization: `Bearer ${emu.info().control_token}`,
      'content-length': '2',
    }, '{}');
    expect([withToken.status, JSON.parse(withToken.body).error]).toEqual([403, 'access_denied']);
    expect(emu.tenant.settings.exchangeRatePerSecond).not.toBe(0);
  });

  it('refuses a body that is not JSON (a form or text/plain a page could send)', async () => {
    const res = await call(emu, 'POST', '/__emulator/settings', { raw: 'actionTimeoutMs=1', contentType: 'text/plain' });
    expect([res.status, res.body.error]).toEqual([415, 'invalid_request']);
    const form = await call(emu, 'POST', '/__emulator/fail-next-build', { form: { message: 'x' } });
    expect(form.status).toBe(415);
    expect(emu.tenant.settings.failNextBuild).toBeUndefined();
  });

  it("accepts the emulator's own origin", async () => {
    const res = await call(emu, 'GET', '/__emulator/stats', { headers: { origin: emu.domain, authorization: `Bearer ${emu.info().control_token}` } });
    expect(res.status).toBe(200);
  });
});

describe('the Host check (DNS rebinding)', () => {
  it('refuses a foreign Host on every route, before counting or reading the request', async () => {
    const before = { ...emu.tenant.stats.requests };
    const token = emu.info().control_token;
    for (const path of ['/__emulator/stats', '/.well-known/jwks.json', '/api/v2/clients', '/oauth/token']) {
      const res = await raw(path === '/oauth/token' ? 'POST' : 'GET', path, { host: `rebind.evil.example:${emu.port}`, authorization: `Bearer ${token}` });
      expect(res.status, path).toBe(403);
    }
    const noPort = await raw('GET', '/.well-known/jwks.json', { host: 'rebind.evil.example' });
    expect(noPort.status).toBe(403);
    const otherPort = await raw('GET', '/.well-known/jwks.json', { host: `127.0.0.1:${emu.port + 1}` });
    expect(otherPort.status).toBe(403);
    expect(emu.tenant.stats.requests).toEqual(before);
  });

  it('answers 127.0.0.1 and localhost with its port', async () => {
    expect((await raw('GET', '/.well-known/jwks.json', { host: `127.0.0.1:${emu.port}` })).status).toBe(200);
    expect((await raw('GET', '/.well-known/jwks.json', { host: `LOCALHOST:${emu.port}` })).status).toBe(200);
  });
});
