#!/usr/bin/env node
// A stand-in for the system browser, run as `BROWSER="node fake-browser.mjs"`: the URL is its last
// argument (never through a shell). It records the URL (FAKE_BROWSER_URL_FILE: the hook a real-browser
// test uses to learn the authorize URL) and, unless FAKE_BROWSER_ONLY_RECORD=1, does what a browser
// does: follows the tenant's redirect to the loopback callback.
import { appendFileSync } from 'node:fs';

const url = process.argv.at(-1);
if (process.env.FAKE_BROWSER_URL_FILE) appendFileSync(process.env.FAKE_BROWSER_URL_FILE, `${url}\n`);
if (process.env.FAKE_BROWSER_ONLY_RECORD !== '1') {
  // Detached like a real browser: the CLI goes on waiting on its loopback while this runs.
  setTimeout(async () => {
    const r = await fetch(url, { redirect: 'manual' });
    const location = r.headers.get('location');
    if (location) await (await fetch(location)).text();
  }, 10);
}
