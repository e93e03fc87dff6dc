/**
 * `omni-auth demo`: the whole flow, offline — a fresh in-process emulator on loopback (a tenant as an
 * admin hands it over: nothing provisioned), a throw-away OMNI_AUTH_HOME, and the same CLI commands a
 * user runs against a real tenant, each printed on stderr before it runs: `setup` provisions the
 * tenant through the Management API and saves the settings, `login` exchanges the machine key, and
 * `token` prints the access token on stdout, as it always does.
 *
 * Then the person flow (issue 10): where a browser can open (BROWSER, a desktop session, macOS or
 * Windows) and a person is at the terminal (stdin is a TTY), the demo offers `login --browser` against
 * a second emulator whose Action gives tokens only to people, with a demo user; anywhere else (CI, SSH,
 * containers) it only prints the commands to try it. It never waits for input without a TTY.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
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
  await personFlow();
}

export const DEMO_USER = 'demo@example.com';
export const DEMO_PASSWORD = 'demo-password';

/** A browser can be opened here: BROWSER names one, or a desktop session (Linux/BSD), or macOS/Windows. */
export function browserPossible(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  if (env.BROWSER?.trim()) return true;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY?.trim() || env.WAYLAND_DISPLAY?.trim());
}

/** The exact commands to try the person flow by hand (two terminals). */
export function personFlowInstructions(): string[] {
  return [
    '# The person flow (a browser sign-in binds this machine key to you). To try it, in one terminal:',
    `#   omni-auth emulator --provisioned --identity person --port 4600 --user ${DEMO_USER}:${DEMO_PASSWORD}`,
    '# and in another (client_id and audience from the emulator\'s JSON line; a throw-away home):',
    '#   export OMNI_AUTH_HOME=$(mktemp -d) OMNI_AUTH_DOMAIN=http://127.0.0.1:4600 OMNI_AUTH_CLIENT_ID=<client_id> OMNI_AUTH_AUDIENCE=<audience>',
    `#   omni-auth login --browser --no-write     # sign in as ${DEMO_USER} / ${DEMO_PASSWORD}`,
    '#   omni-auth token && omni-auth status      # your token; the key is bound to you',
    '# Without a browser on this machine: login --no-browser (paste the address back), or login --device.',
  ];
}

async function personFlow(): Promise<void> {
  const env = demoEnv();
  if (!browserPossible(env) || process.stdin.isTTY !== true) {
    for (const line of personFlowInstructions()) info(dim(line));
    return;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question('Try the person flow now (browser sign-in against a person-only emulator)? [y/N] ').finally(() => rl.close());
  if (!/^y(es)?$/i.test(answer.trim())) {
    for (const line of personFlowInstructions()) info(dim(line));
    return;
  }
  // A fixed, published password: the user lives in a throw-away emulator on loopback for this minute only.
  const password = DEMO_PASSWORD;
  const home = await mkdtemp(join(tmpdir(), 'omni-auth-demo-'));
  const emulator = await startEmulator({ provisioned: true, identity: 'person', users: [{ email: DEMO_USER, password }] });
  try {
    const e = emulator.info();
    info(dim(`# a person-only emulator on ${e.domain} (IDENTITY=person); sign in as ${DEMO_USER} with password ${password}`));
    const settings = { OMNI_AUTH_DOMAIN: e.domain, OMNI_AUTH_CLIENT_ID: e.client_id, OMNI_AUTH_AUDIENCE: e.audience };
    await cli(home, ['login', '--browser', '--no-write'], settings, true);
    await cli(home, ['status'], settings);
    info(dim('# the cache emptied, the bound key alone gets your token: an exchange, no browser'));
    await cli(home, ['logout'], settings);
    await cli(home, ['token'], settings);
  } finally {
    await emulator.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** Runs this same CLI (the bundle that is running now) as a child, like a user would. */
async function cli(home: string, args: string[], env: Record<string, string> = {}, terminal = false): Promise<void> {
  info(`$ omni-auth ${args.join(' ')}`);
  const child = spawn(process.execPath, [process.argv[1]!, ...args], {
    // setup prints the teammates' login line on stdout; in the demo only `token` speaks there.
    // The browser sign-in gets the terminal (an address can be pasted back when no browser opens).
    stdio: [terminal ? 'inherit' : 'ignore', args[0] === 'token' ? 'inherit' : process.stderr, 'inherit'],
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
