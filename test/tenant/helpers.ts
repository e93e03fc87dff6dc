/** Shared plumbing for the setup / doctor / scripts tests: a fresh emulator, the use case, the built CLI. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { homeFiles, type HomeFiles } from '../../src/config/home.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { SUBJECT_TOKEN_TYPE } from '../../src/identity/contract.js';
import { readActionSource } from '../../src/tenant/action-bundle.js';
import { MACHINES_CONNECTION } from '../../src/tenant/connection.js';
import type { ManagementCredentials } from '../../src/tenant/management-client.js';
import type { SetupInputs } from '../../src/tenant/plan.js';
import { setup, type SetupResult } from '../../src/tenant/setup.js';
import { packageRoot } from '../../src/util/package-root.js';
import { Secret } from '../../src/util/secret.js';
import { call } from '../emulator/helpers.js';

export const CLI = join(packageRoot(), 'dist', 'omni-auth.cjs');
export const ACTION_DIR = join(packageRoot(), 'auth0-actions');
export const SCRIPTS = join(packageRoot(), 'scripts');

/** The emulator's Management API client credentials, as setup and doctor read them from the environment. */
export const mgmtEnv = (emu: Emulator) => ({ AUTH0_MGMT_CLIENT_ID: emu.info().management.client_id, AUTH0_MGMT_CLIENT_SECRET: emu.info().management.client_secret });

/** A tenant as an admin hands it over (not provisioned); builds and deploys take tens of ms. */
export const freshTenant = (): Promise<Emulator> =>
  startEmulator({ settings: { buildMs: 60, deployMs: 40, exchangeRatePerSecond: 1000 } });

export const clientCredentials = (emu: Emulator): ManagementCredentials => {
  const { management } = emu.info();
  return { kind: 'client', clientId: management.client_id, clientSecret: new Secret(management.client_secret) };
};

export async function tempHome(): Promise<{ files: HomeFiles; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'omni-auth-tenant-'));
  return { files: homeFiles(home), cleanup: () => rm(home, { recursive: true, force: true }) };
}

export type TempHome = Awaited<ReturnType<typeof tempHome>>;

/**
 * Every test of the calling file gets a fresh, unprovisioned tenant and an empty home, both gone
 * afterwards. `use` receives them before each test.
 */
export function eachTestFreshTenant(use: (emu: Emulator, home: TempHome) => void): void {
  let emu: Emulator | undefined;
  let home: TempHome | undefined;
  beforeEach(async () => {
    emu = await freshTenant();
    home = await tempHome();
    use(emu, home);
  });
  afterEach(async () => {
    await emu?.close();
    await home?.cleanup();
  });
}

/** A copy of auth0-actions/ to modify. */
export async function actionCopy(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'omni-auth-action-'));
  await cp(ACTION_DIR, dir, { recursive: true });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Setup's inputs for the emulated tenant; without `allowedKeys`, the tenant's allow-list is kept (as the
 * CLI does). The identity policy is `both` unless the overrides say otherwise (`identity: undefined`:
 * no --identity, the tenant's is kept): these tests exchange machine keys nobody bound to a person.
 */
export async function inputsFor(emu: Emulator, overrides: Partial<SetupInputs> & { actionDir?: string } = {}): Promise<SetupInputs> {
  const { actionDir, ...rest } = overrides;
  const connection = rest.connection ?? MACHINES_CONNECTION;
  if (!('identity' in rest)) rest.identity = 'both';
  else if (rest.identity === undefined) delete rest.identity;
  return {
    domain: emu.domain,
    issuer: emu.issuer,
    audience: emu.info().audience,
    appName: 'omni-auth',
    connection,
    subjectTokenType: SUBJECT_TOKEN_TYPE,
    profileName: 'omnispindle-local-auth',
    actionName: 'omni-auth-custom-token-exchange',
    action: await readActionSource(actionDir),
    ...rest,
  };
}

/** The use case with quick polling; progress lines are collected. */
export async function runSetupUseCase(
  emu: Emulator,
  files: HomeFiles,
  inputs: SetupInputs,
  options: { dryRun?: boolean; credentials?: ManagementCredentials } = {},
): Promise<SetupResult & { progress: string[] }> {
  const progress: string[] = [];
  const result = await setup({
    inputs,
    credentials: options.credentials ?? clientCredentials(emu),
    dryRun: options.dryRun ?? false,
    files,
    env: {},
    saved: undefined,
    onPlan: () => {},
    progress: (line) => progress.push(line),
    poll: { firstDelayMs: 20, maxDelayMs: 50 },
  });
  return { ...result, progress };
}

export const stats = async (emu: Emulator): Promise<Record<string, number>> =>
  (await call(emu, 'GET', '/__emulator/stats')).body.requests as Record<string, number>;

export const exchangeCount = async (emu: Emulator): Promise<number> => {
  const { exchanges } = (await call(emu, 'GET', '/__emulator/stats')).body as { exchanges: { ok: number; failed: number } };
  return exchanges.ok + exchanges.failed;
};

/** The write requests (anything but GET) between two stats snapshots, token requests left out. */
export function writesBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(after)) {
    const delta = n - (before[key] ?? 0);
    if (delta > 0 && !key.startsWith('GET ') && key !== 'POST /oauth/token') out[key] = delta;
  }
  return out;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program (the built CLI by default) and collects its output. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The built CLI with a clean environment: only PATH and what the test gives. HOME and the working
 * directory default to OMNI_AUTH_HOME, so no MCP client config of this machine is read.
 */
export function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  expect(existsSync(CLI), `${CLI} is missing: run "npm run build" (or "npx tsup") first`).toBe(true);
  const home = env.OMNI_AUTH_HOME;
  return run(process.execPath, [CLI, ...args], { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...(home ? { HOME: home } : {}), ...env }, home);
}

/** Compact JWS-looking strings (a token) — none may appear in a command's output. */
export const TOKEN_SHAPED = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
