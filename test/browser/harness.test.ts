/**
 * The real-browser harness works (and keeps working in CI): headless Debian Chromium opens a page
 * from a loopback server, fills and submits its form, follows the server's redirect to a second
 * loopback server on another port — the shape of a sign-in page redirecting to the CLI's callback —
 * and shows that server's page. Skipped only when the browser is missing and not required
 * (test/browser/helpers.ts `browserAvailable`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { browserAvailable, escapeHtml, launchBrowser, loopbackServer, type Browser, type LoopbackServer } from './helpers.js';

const open: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});
const track = <T extends { close: () => Promise<void> }>(x: T): T => {
  open.push(x);
  return x;
};

const html = (res: import('node:http').ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>test</title></head><body>${body}</body></html>`);
};

describe.skipIf(!browserAvailable())('headless Chromium through playwright-core', () => {
  it('submits a loopback page\'s form and follows its redirect to a loopback callback on another port', async () => {
    // The "CLI": a callback server that records the query and tells the person they can close the tab.
    const callback: LoopbackServer = track(await loopbackServer((r, res) => {
      if (r.url.pathname !== '/callback') return html(res, 404, 'not found');
      html(res, 200, `<h1 id="done">Signed in as ${escapeHtml(r.url.searchParams.get('user') ?? '?')}</h1><p>You can close this tab.</p>`);
    }));
    // The "sign-in page": a form; its POST answers 302 to the callback with the state it was given.
    const signIn: LoopbackServer = track(await loopbackServer((r, res) => {
      if (r.method === 'GET' && r.url.pathname === '/authorize') {
        const state = escapeHtml(r.url.searchParams.get('state') ?? '');
        return html(res, 200, `<form method="post" action="/authorize">
          <input type="hidden" name="state" value="${state}">
          <label>Email <input name="email" type="email" autocomplete="off"></label>
          <label>Password <input name="password" type="password"></label>
          <button type="submit" id="continue">Continue</button></form>`);
      }
      if (r.method === 'POST' && r.url.pathname === '/authorize') {
        const to = new URL('/callback', callback.origin);
        to.searchParams.set('user', r.form.get('email') ?? '');
        to.searchParams.set('state', r.form.get('state') ?? '');
        res.writeHead(302, { location: to.href });
        return res.end();
      }
      html(res, 404, 'not found');
    }));

    const browser: Browser = track(await launchBrowser());
    const page = await browser.page();
    await page.goto(`${signIn.origin}/authorize?state=s-123`);
    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await Promise.all([page.waitForURL(`${callback.origin}/callback?**`), page.click('#continue')]);

    expect(await page.locator('#done').textContent()).toBe('Signed in as alice@example.com');
    const posted = signIn.received.find((r) => r.method === 'POST');
    expect(posted?.form.get('email')).toBe('alice@example.com');
    expect(posted?.form.get('password')).toBe('correct horse battery staple');
    expect(posted?.form.get('state')).toBe('s-123');
    const got = callback.received.find((r) => r.url.pathname === '/callback');
    expect(got?.url.searchParams.get('state')).toBe('s-123');
    expect(got?.url.searchParams.get('user')).toBe('alice@example.com');
  }, 90_000);

  it('each launch has a fresh profile: a cookie set in one browser is not sent by the next', async () => {
    const site = track(await loopbackServer((r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'seen=1; Path=/; Max-Age=3600' });
      res.end('ok');
    }));
    const first = track(await launchBrowser());
    const tab = await first.page();
    await tab.goto(`${site.origin}/one`);
    await tab.goto(`${site.origin}/two`);
    await first.close();
    const second = track(await launchBrowser());
    await (await second.page()).goto(`${site.origin}/three`);
    const cookieOf = (path: string) => site.received.find((r) => r.url.pathname === path)?.headers.cookie;
    expect(cookieOf('/one')).toBeUndefined();
    expect(cookieOf('/two')).toBe('seen=1'); // the same browser keeps it: the check can see cookies
    expect(cookieOf('/three')).toBeUndefined();
  }, 90_000);
});
