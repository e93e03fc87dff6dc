/**
 * `omni-auth demo`: the whole flow, offline — a fresh in-process emulator on loopback (a tenant as an
 * admin hands it over: nothing provisioned), a throw-away OMNI_AUTH_HOME, and the same CLI commands a
 * user runs against a real tenant, each printed on stderr before it runs: `setup` provisions the
 * tenant through the Management API and saves the settings, `login` exchanges the machine key, and
 * `token` prints the access token on stdout, as it always does.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { OmniAuthError } from '../util/errors.js';
import { dim, info } from './output.js';

export async function runDemo(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'omni-auth-demo-'));
  const emulator = await startEmulator();
  try {
    const e = emulator.info();
    info(dim(`# emulator on ${e.domain}, throw-away home ${home}`));
    info(dim('# the Management API credentials go in the environment (AUTH0_MGMT_CLIENT_ID/SECRET), not on the command line'));
    const mgmt = { AUTH0_MGMT_CLIENT_ID: e.management.client_id, AUTH0_MGMT_CLIENT_SECRET: e.management.client_secret };
    await cli(home, ['setup', '--domain', e.domain, '--client-id', e.client_id, '--audience', e.audience, '--identity', 'both'], mgmt);
    await cli(home, ['login', '--no-write']);
    await cli(home, ['token']);
    await cli(home, ['status']);
  } finally {
    await emulator.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** Runs this same CLI (the bundle that is running now) as a child, like a user would. */
async function cli(home: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  info(`$ omni-auth ${args.join(' ')}`);
  const child = spawn(process.execPath, [process.argv[1]!, ...args], {
    // setup prints the teammates' login line on stdout; in the demo only `token` speaks there.
    stdio: ['ignore', args[0] === 'token' ? 'inherit' : process.stderr, 'inherit'],
    env: { ...demoEnv(), ...env, OMNI_AUTH_HOME: home },
  });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new OmniAuthError('demo_step_failed', `omni-auth ${args[0]} exited with ${code}`, { exitCode: 1 });
}

/**
 * The caller's environment without omni-auth's and Auth0's own variables: settings exported for a
 * real tenant (AUTH0_DOMAIN, OMNI_AUTH_KEY, …) must not steer the demo away from its emulator.
 */
function demoEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OMNI_AUTH_|AUTH0_)/.test(k)));
}
