/** The README's first command: `omni-auth demo` runs setup → login → token against a fresh emulator. */
import { existsSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { browserPossible } from '../../src/cli/demo.js';
import { cleanEnv, runCli } from './run-cli.js';

describe('omni-auth demo', () => {
  it('provisions a fresh emulator, logs in, and prints one verified-shape token on stdout', async () => {
    // A developer's exported settings for a real tenant must not steer the demo away from its emulator.
    const r = await runCli(['demo'], cleanEnv({ AUTH0_DOMAIN: 'nonexistent-tenant.invalid', OMNI_AUTH_CLIENT_ID: 'not-this-one', OMNI_AUTH_AUDIENCE: 'https://elsewhere/' }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = decodeJwt(r.stdout.trim());
    expect(claims.sub).toMatch(/^auth0\|omni-/);
    expect(claims.iss).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const order = ['$ omni-auth setup', 'is set up', '$ omni-auth login', 'Logged in', '$ omni-auth token', '$ omni-auth status'];
    const at = order.map((s) => r.stderr.indexOf(s));
    expect(at.every((i) => i >= 0), r.stderr).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(r.stderr).not.toContain(r.stdout.trim());
    const home = /throw-away home (\S+)/.exec(r.stderr)?.[1];
    expect(home).toBeTruthy();
    expect(existsSync(home!)).toBe(false);
    // No TTY here: the person flow is only described, with the exact commands, and nothing waits for input.
    expect(r.stderr).toContain('omni-auth emulator --provisioned --identity person');
    expect(r.stderr).toContain('omni-auth login --browser');
    expect(r.stderr).not.toContain('[y/N]');
  }, 60_000);

  it('offers the browser only where one can open', () => {
    expect(browserPossible({}, 'linux')).toBe(false);
    expect(browserPossible({ DISPLAY: ':0' }, 'linux')).toBe(true);
    expect(browserPossible({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(browserPossible({ BROWSER: '/usr/bin/true' }, 'linux')).toBe(true);
    expect(browserPossible({}, 'darwin')).toBe(true);
    expect(browserPossible({}, 'win32')).toBe(true);
  });
});
