/**
 * Two tenants (two fresh emulators) and one temporary home, for the profile tests: the hooks that
 * start and stop them, `run` (the built CLI in that home, every result kept for the files' secret
 * scans) and the per-tenant helpers each of those tests needs.
 */
import { createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { cliHome, type CliHome } from '../mcp/cli-home.js';
import { freshTenant } from '../tenant/helpers.js';
import { runCli, type CliResult } from './run-cli.js';

export interface TwoTenants {
  a: Emulator;
  b: Emulator;
  home: CliHome;
}

/**
 * Registers beforeAll/afterAll: `ready` receives the tenants and home once they exist (before any
 * test), so a file keeps its own `let a, b, home`. `prepare` runs after that, still in beforeAll.
 */
export function twoTenantsHome(ready: (t: TwoTenants) => void, prepare?: (t: TwoTenants) => Promise<void>) {
  let t: TwoTenants | undefined;
  const outputs: CliResult[] = [];
  beforeAll(async () => {
    const [a, b] = await Promise.all([freshTenant(), freshTenant()]);
    t = { a, b, home: await cliHome() };
    ready(t);
    await prepare?.(t);
  });
  afterAll(async () => {
    await Promise.all([t?.a.close(), t?.b.close()]);
    await t?.home.cleanup();
  });
  async function run(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
    const r = await runCli(args, { ...t!.home.env, ...extra });
    outputs.push(r);
    return r;
  }
  return { run, outputs };
}

export { mgmtEnv } from '../tenant/helpers.js';
export const jwksOf = (emu: Emulator) => createRemoteJWKSet(new URL('/.well-known/jwks.json', emu.domain));
