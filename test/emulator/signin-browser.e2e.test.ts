/**
 * The sign-in page in a real browser (Debian's chromium, driven by playwright-core): the form, its
 * CSP (form-action must allow the redirect to the loopback callback) and the 302 to the callback.
 * Skipped when no chromium is installed.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { call } from './helpers.js';
import { registerCallback } from './signin-helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const PERSON = { email: 'browser@example.com', password: 'browser-password-1' };

describe.skipIf(CHROMIUM === undefined)('the sign-in page in chromium', () => {
  let emu: Emulator;
  let browser: Browser;
  let server: Server;
  let callback: string;
  const received: URL[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ provisioned: true, users: [PERSON] });
    server = createServer((req, res) => {
      received.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><title>done</title><p id="done">You can close this tab.</p>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    callback = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    await registerCallback(emu, callback);
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await emu?.close();
  });

  it('shows an error for a wrong password, then signs in and lands on the callback with code and state', async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(`${emu.issuer}authorize`);
    const params = {
      client_id: emu.info().client_id, redirect_uri: callback, response_type: 'code', scope: 'openid profile offline_access',
      audience: emu.info().audience, state: 'st-1', nonce: 'n-1', code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const page = await browser.newPage();
    await page.goto(url.toString());
    await page.fill('#email', PERSON.email);
    await page.fill('#password', 'wrong');
    await page.click('#continue');
    await expect(page.locator('#error').textContent()).resolves.toBe('Wrong email or password.');
    await page.fill('#password', PERSON.password);
    await page.click('#continue');
    await page.waitForSelector('#done');
    const landed = new URL(page.url());
    expect(`${landed.origin}${landed.pathname}`).toBe(callback);
    expect(landed.searchParams.get('state')).toBe('st-1');
    const code = landed.searchParams.get('code')!;
    expect(received.filter((u) => u.pathname === '/callback').map((u) => u.searchParams.get('code'))).toEqual([code]);
    const res = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'authorization_code', client_id: emu.info().client_id, code, code_verifier: verifier, redirect_uri: callback },
    });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toEqual(expect.any(String));
  });
});
