/**
 * `.ci/run` gets the browser before the tests: installs Debian's chromium with apt-get when it is
 * missing and this is root; does nothing when it is there (root or not); without root it warns and
 * still runs the tests — which then require the browser (OMNI_AUTH_REQUIRE_BROWSER=1). Run with
 * stand-ins for id, apt-get, sudo and npm on PATH that log their arguments.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';
import { run } from '../tenant/helpers.js';
import { browserAvailable } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omni-auth-ci-run-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function stub(name: string, body: string): Promise<void> {
  const file = join(dir, name);
  await writeFile(file, `#!/usr/bin/env bash\n${body}\n`);
  await chmod(file, 0o755);
}

async function ciRun(options: { uid: number; chromium: 'present' | 'missing' }) {
  const log = join(dir, 'log');
  const browser = join(dir, 'chromium');
  if (options.chromium === 'present') await stub('chromium', 'exit 0');
  await stub('id', `[ "$1" = -u ] && echo ${options.uid}`);
  await stub('apt-get', `echo "apt-get $*" >> ${log}`);
  await stub('sudo', `echo "sudo $*" >> ${log}; exit 1`);
  await stub('npm', `echo "npm $* REQUIRE=\${OMNI_AUTH_REQUIRE_BROWSER:-}" >> ${log}`);
  const r = await run('bash', [join(packageRoot(), '.ci', 'run')], { PATH: `${dir}:${process.env.PATH ?? ''}`, OMNI_AUTH_CHROMIUM: browser });
  const lines = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  return { ...r, lines };
}

describe('.ci/run', () => {
  it('root, no browser: apt-get installs chromium, then npm ci and npm test with the browser required', async () => {
    const r = await ciRun({ uid: 0, chromium: 'missing' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual([
      'apt-get update -qq',
      'apt-get install -y --no-install-recommends chromium',
      'npm ci --no-audit --no-fund REQUIRE=1',
      'npm test REQUIRE=1',
    ]);
  });

  it.each([0, 1000])('uid %i with the browser present: nothing installed', async (uid) => {
    const r = await ciRun({ uid, chromium: 'present' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual(['npm ci --no-audit --no-fund REQUIRE=1', 'npm test REQUIRE=1']);
  });

  it('not root, no browser, no passwordless sudo: a warning naming the package, and the tests still run', async () => {
    const r = await ciRun({ uid: 1000, chromium: 'missing' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('apt-get install -y chromium');
    expect(r.lines.filter((l) => l.startsWith('apt-get'))).toEqual([]);
    expect(r.lines.slice(-2)).toEqual(['npm ci --no-audit --no-fund REQUIRE=1', 'npm test REQUIRE=1']);
  });
});

describe('the browser tests without a browser', () => {
  it('are skipped locally, and fail when the browser is required (CI)', () => {
    const missing = join(dir, 'no-such-chromium');
    expect(browserAvailable(missing, {})).toBe(false);
    expect(() => browserAvailable(missing, { OMNI_AUTH_REQUIRE_BROWSER: '1' })).toThrow(/no-such-chromium is missing and OMNI_AUTH_REQUIRE_BROWSER=1: install Debian's chromium/);
    expect(browserAvailable(process.execPath, { OMNI_AUTH_REQUIRE_BROWSER: '1' })).toBe(true);
  });
});
