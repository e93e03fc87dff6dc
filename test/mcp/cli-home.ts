/**
 * The built CLI in a child process against a throw-away Linux-style home: HOME, XDG_CONFIG_HOME and
 * OMNI_AUTH_HOME (the default place, $XDG_CONFIG_HOME/omni-auth) all inside it, and a project
 * directory inside it as cwd — so no project-scoped MCP file of the repository is ever in sight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allStderr, CLI, cleanEnv, type CliResult } from '../cli/run-cli.js';

export interface CliHome {
  dir: string;
  config: string;
  omniHome: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export async function cliHome(extra: Record<string, string | undefined> = {}): Promise<CliHome> {
  const dir = await mkdtemp(join(tmpdir(), 'omni-mcp-e2e-'));
  const config = join(dir, '.config');
  const omniHome = join(config, 'omni-auth');
  const cwd = join(dir, 'project');
  await mkdir(cwd, { recursive: true });
  const env = cleanEnv({
    HOME: dir,
    XDG_CONFIG_HOME: config,
    OMNI_AUTH_HOME: omniHome,
    // Roots the MCP registry honours: none may point outside the temporary home.
    CLAUDE_CONFIG_DIR: undefined,
    CODEX_HOME: undefined,
    APPDATA: undefined,
    LOCALAPPDATA: undefined,
    USERPROFILE: undefined,
    ...extra,
  });
  return { dir, config, omniHome, cwd, env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Starts the CLI; `done` resolves when it has exited. */
export function startCli(home: CliHome, args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const child = spawn(process.execPath, [CLI, ...args], { env: home.env, cwd: home.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      allStderr.push(stderr);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function cli(home: CliHome, args: string[]): Promise<CliResult> {
  return startCli(home, args).done;
}
