/** Spawning the built CLI like a user does: a child process, a temporary OMNI_AUTH_HOME, real loopback HTTP. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';

export const CLI = join(packageRoot(), 'dist', 'omni-auth.cjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Every stderr any CLI run printed, so a suite can assert no secret ever reached it. */
export const allStderr: string[] = [];
/** Every stdout, to collect the tokens the runs printed (the secrets to look for on stderr). */
export const allStdout: string[] = [];

/**
 * A sandbox home for this test process: commands that look for MCP client configs (login, logout)
 * must never see — let alone edit — the developer's real ones.
 */
const sandbox = mkdtempSync(join(tmpdir(), 'omni-sandbox-'));
const SANDBOX_ENV: Record<string, string> = {
  HOME: sandbox,
  USERPROFILE: sandbox,
  XDG_CONFIG_HOME: join(sandbox, '.config'),
  APPDATA: join(sandbox, 'AppData', 'Roaming'),
  LOCALAPPDATA: join(sandbox, 'AppData', 'Local'),
  CLAUDE_CONFIG_DIR: join(sandbox, '.claude'),
  CODEX_HOME: join(sandbox, '.codex'),
};

/** An environment without the developer's own omni-auth/Auth0 settings or MCP configs leaking into tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OMNI_AUTH_|AUTH0_)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, SANDBOX_ENV);
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  return new Promise((resolve, reject) => {
    // cwd in the sandbox too: project-scoped MCP configs (.mcp.json, .vscode/mcp.json) resolve against it.
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: sandbox, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      allStderr.push(stderr);
      allStdout.push(stdout);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Every temporary home handed out, so a suite can collect the secrets written there. */
export const allHomes: string[] = [];

export async function tempHome(prefix = 'omni-home-'): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  allHomes.push(home);
  return home;
}

/** A point in this file's runs and homes: what a test did after it is that test's own. */
export interface RunMark {
  stdout: number;
  stderr: number;
  homes: number;
}

export function runMark(): RunMark {
  return { stdout: allStdout.length, stderr: allStderr.length, homes: allHomes.length };
}

/**
 * The secrets these runs produced (all of this file's, or those after `since`): every token printed on
 * stdout (its signature, the part no other token shares), and every access/refresh/ID token and private
 * key written under the homes. Read the homes before anything (logout) removes what they hold.
 */
export async function collectSecrets(since: RunMark = { stdout: 0, stderr: 0, homes: 0 }): Promise<Set<string>> {
  const { readFile, readdir } = await import('node:fs/promises');
  const secrets = new Set<string>();
  const addJwt = (jwt: string) => {
    const parts = jwt.split('.');
    if (parts.length === 3 && parts[2]!.length >= 16) secrets.add(parts[2]!);
    else if (jwt.length >= 16) secrets.add(jwt);
  };
  for (const out of allStdout.slice(since.stdout)) for (const m of out.matchAll(/[\w-]{10,}\.[\w-]{10,}\.[\w-]{16,}/g)) addJwt(m[0]);
  const homes = allHomes.slice(since.homes);
  for (const home of homes) {
    for (const sub of await readdir(home, { withFileTypes: true }).catch(() => [])) if (sub.isDirectory()) homes.push(join(home, sub.name));
  }
  for (const home of homes) {
    const tokens = await readFile(join(home, 'tokens.json'), 'utf8').then((t) => JSON.parse(t) as { entries?: Record<string, Record<string, unknown>> }).catch(() => undefined);
    for (const t of Object.values(tokens?.entries ?? {})) {
      for (const name of ['access_token', 'id_token', 'refresh_token']) if (typeof t[name] === 'string') addJwt(t[name] as string);
    }
    const key = await readFile(join(home, 'machine-key.json'), 'utf8').then((t) => JSON.parse(t) as { d?: string }).catch(() => undefined);
    if (key?.d) secrets.add(key.d);
    // The client key of Private Key JWT (setup --m2m): its private exponent and primes.
    const clientKey = await readFile(join(home, 'client-key.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>).catch(() => undefined);
    for (const m of ['d', 'p', 'q']) if (typeof clientKey?.[m] === 'string') secrets.add(clientKey[m] as string);
  }
  return secrets;
}

/** The stderr of the runs after `since`. */
export function stderrSince(since: RunMark): string[] {
  return allStderr.slice(since.stderr);
}

/**
 * Asserts that no secret the runs after `since` printed or stored (plus `known` ones the test recorded
 * by hand) appears on their stderr. Returns how many secrets were checked.
 */
export async function expectNoSecretOnStderr(since: RunMark, known: Iterable<string> = []): Promise<number> {
  const { expect } = await import('vitest');
  const secrets = new Set([...known, ...(await collectSecrets(since))]);
  const stderr = stderrSince(since).join('\n');
  for (const s of secrets) expect(stderr.includes(s), `a secret (${s.length} chars) reached stderr`).toBe(false);
  return secrets.size;
}
