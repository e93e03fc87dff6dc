/**
 * `npm run smoke:tenant` (scripts/smoke-tenant.mjs): skipped with a clear message and exit 0 without
 * its variables; pointed at the emulator through AUTH0_DOMAIN (loopback http), it runs the built CLI's
 * setup --dry-run, login, token, doctor and an invalid_request probe, one line each, in a temporary
 * home it removes, printing no token or secret.
 */
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CLI, SCRIPTS, TOKEN_SHAPED, eachTestFreshTenant, inputsFor, run, runSetupUseCase, type TempHome } from './helpers.js';
import { existsSync } from 'node:fs';
import { packageRoot } from '../../src/util/package-root.js';

let emu: Emulator;
let home: TempHome;
eachTestFreshTenant((e, h) => {
  emu = e;
  home = h;
});

const SMOKE = join(SCRIPTS, 'smoke-tenant.mjs');
const smoke = (env: Record<string, string>) => run(process.execPath, [SMOKE], { PATH: process.env.PATH ?? '', HOME: home.files.home, ...env });
const tenantEnv = () => ({
  AUTH0_DOMAIN: emu.domain,
  AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id,
  AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret,
  AUTH0_AUDIENCE: emu.info().audience,
  OMNI_AUTH_SMOKE_NO_BUILD: '1',
});
const smokeHomes = async (): Promise<string[]> => (await readdir(tmpdir())).filter((n) => n.startsWith('omni-auth-smoke-'));

describe('npm run smoke:tenant', () => {
  it('without its variables: skipped, saying which to set, exit 0, nothing run', async () => {
    const r = await smoke({ AUTH0_DOMAIN: emu.domain });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^smoke:tenant skipped: set AUTH0_MGMT_CLIENT_ID and AUTH0_MGMT_CLIENT_SECRET \(or AUTH0_MGMT_TOKEN\)/);
    const none = await smoke({});
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('set AUTH0_DOMAIN, AUTH0_MGMT_CLIENT_ID');
  });

  it('is an npm script of its own, never part of npm test', async () => {
    const { scripts } = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['smoke:tenant']).toBe('node scripts/smoke-tenant.mjs');
    expect(scripts.test).not.toMatch(/smoke/);
  });

  it('on a provisioned tenant (the emulator over loopback http): five ✓ lines, exit 0, no token or secret printed, the home removed', async () => {
    expect(existsSync(CLI), 'build first').toBe(true);
    await runSetupUseCase(emu, home.files, await inputsFor(emu, { clientId: emu.info().client_id }));
    const before = await smokeHomes();
    const r = await smoke({ ...tenantEnv(), AUTH0_CLIENT_ID: emu.info().client_id });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['✓ setup', '✓ login', '✓ token', '✓ doctor', '✓ invalid_request']);
    expect(lines[0]).toContain('nothing to change');
    expect(lines[4]).toMatch(/HTTP 400 invalid_request/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(TOKEN_SHAPED);
    expect(`${r.stdout}${r.stderr}`).not.toContain(emu.info().management.client_secret);
    expect(await smokeHomes()).toEqual(before);
  });

  it('on a tenant setup never ran on: says what setup would change, and fails at login (exit 1)', async () => {
    const r = await smoke(tenantEnv());
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^! setup --dry-run\s+the tenant is not fully set up; setup would change: api update/);
    expect(lines[1]).toMatch(/^✗ login\s+no CLI application: run `omni-auth setup` first, or set AUTH0_CLIENT_ID/);
  });
});
