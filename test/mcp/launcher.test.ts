/** The launcher wired entries run (a copy of the bundle in OMNI_AUTH_HOME), and which tokens are ours. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundlePath, installLauncher, launcherPath } from '../../src/mcp/launcher.js';
import { issuedBy } from '../../src/mcp/our-token.js';
import { packageRoot } from '../../src/util/package-root.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-launcher-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('bundlePath', () => {
  it('is the running file when that is the bundle (every module of the bundle has its URL)', () => {
    expect(bundlePath(pathToFileURL('/opt/npx/_npx/1/node_modules/omni-auth/dist/omni-auth.cjs').href)).toBe('/opt/npx/_npx/1/node_modules/omni-auth/dist/omni-auth.cjs');
    expect(bundlePath(pathToFileURL('/home/u/.config/omni-auth/bin/omni-auth.cjs').href)).toBe('/home/u/.config/omni-auth/bin/omni-auth.cjs');
  });

  it('is the build output when running from the TypeScript sources', () => {
    expect(bundlePath()).toBe(join(packageRoot(), 'dist', 'omni-auth.cjs'));
  });
});

describe('installLauncher', () => {
  it('copies the bundle into <home>/bin/omni-auth.cjs (0700, in a 0700 directory), and again only when it changed', async () => {
    const home = join(dir, 'omni');
    const bundle = join(dir, 'omni-auth.cjs');
    await writeFile(bundle, '#!/usr/bin/env node\nconsole.log(1);\n');

    const first = await installLauncher(home, bundle);
    expect(first).toEqual({ path: launcherPath(home), updated: true });
    expect(first.path).toBe(join(home, 'bin', 'omni-auth.cjs'));
    expect(await readFile(first.path, 'utf8')).toBe('#!/usr/bin/env node\nconsole.log(1);\n');
    expect((await stat(first.path)).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'bin'))).mode & 0o777).toBe(0o700);

    const mtime = (await stat(first.path)).mtimeMs;
    expect(await installLauncher(home, bundle)).toEqual({ path: first.path, updated: false });
    expect((await stat(first.path)).mtimeMs).toBe(mtime);

    await writeFile(bundle, '#!/usr/bin/env node\nconsole.log(2);\n');
    expect((await installLauncher(home, bundle)).updated).toBe(true);
    expect(await readFile(first.path, 'utf8')).toContain('console.log(2)');
  });

  it('finds itself equal when run from the launcher', async () => {
    const home = join(dir, 'omni');
    await writeFile(join(dir, 'b.js'), 'x');
    const { path } = await installLauncher(home, join(dir, 'b.js'));
    expect(await installLauncher(home, path)).toEqual({ path, updated: false });
  });
});

describe('issuedBy', () => {
  const jwt = (payload: object) => `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
  const ours = issuedBy('https://tenant.eu.auth0.com/');

  it('says yes only to a JWT from the tenant of the settings', () => {
    expect(ours(jwt({ iss: 'https://tenant.eu.auth0.com/', sub: 'x' }))).toBe(true);
    expect(ours(jwt({ iss: 'https://other.eu.auth0.com/' }))).toBe(false);
    expect(ours(jwt({ sub: 'x' }))).toBe(false);
    expect(ours('ghp_notajwt')).toBe(false);
    expect(ours('eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln')).toBe(false);
  });
});
