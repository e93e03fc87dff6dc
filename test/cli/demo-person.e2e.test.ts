/**
 * `omni-auth demo` at a terminal where a browser can open: after the machine flow it offers the person
 * flow, and on "y" signs in with `login --browser` against a person-only emulator. The terminal is
 * util-linux `script` (a pty; the test skips without it); BROWSER is a small Node program that does
 * what a person does on the page, with plain HTTP, as the demo user, then follows the redirect to the
 * CLI's loopback callback.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, tempHome } from './run-cli.js';

const SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

const BROWSER = `#!/usr/bin/env node
const url = process.argv[2];
const html = await (await fetch(url, { redirect: 'manual' })).text();
const tx = /name="tx" value="([^"]+)"/.exec(html)[1];
const post = new URL('/authorize', url);
const res = await fetch(post, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: post.origin },
  body: new URLSearchParams({ tx, email: 'demo@example.com', password: 'demo-password', action: 'login' }) });
await fetch(res.headers.get('location'));
`;

describe.skipIf(!SCRIPT)('omni-auth demo at a terminal', () => {
  it('offers the person flow and, on "y", binds the key with login --browser; the bound key then gets the person\'s token', async () => {
    const dir = await tempHome('omni-demo-tty-');
    const browser = join(dir, 'browser.mjs');
    await writeFile(browser, BROWSER);
    await chmod(browser, 0o755);
    const env = cleanEnv({ BROWSER: browser, DISPLAY: undefined, WAYLAND_DISPLAY: undefined });
    const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} demo`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let answered = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!answered && out.includes('[y/N]')) {
        answered = true;
        child.stdin.write('y\n');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).toBe(0);
    expect(answered).toBe(true);
    expect(out).toContain('$ omni-auth login --browser --no-write');
    expect(out).toMatch(/bound\s+this machine key to auth0\|/);
    // Two tokens on the terminal: the machine's (first flow), then the person's from the bound key.
    const tokens = [...out.matchAll(/^([\w-]+\.[\w-]+\.[\w-]+)\r?$/gm)].map((m) => m[1]!);
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(decodeJwt(tokens[0]!).sub).toMatch(/^auth0\|omni-/);
    expect(decodeJwt(tokens.at(-1)!).sub).toMatch(/^auth0\|(?!omni-)/);
  }, 90_000);
});
