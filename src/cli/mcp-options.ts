/**
 * The options of the commands that wire MCP clients (`login`, `mcp wire|add|unwire`). Kept light —
 * commander and the error type only: main.ts imports it statically to declare the options.
 */
import type { Command } from 'commander';
import { UsageError } from '../util/errors.js';

export type McpMode = 'exec' | 'env' | 'headers';

export interface TargetFlags {
  /** Client ids, from `--client a,b` (repeatable). */
  client?: string[];
  /**
   * `--project`: also the project-scope files of the current directory (`.mcp.json`, `.cursor/mcp.json`,
   * `.vscode/mcp.json`, `.gemini/settings.json`, `.zed/settings.json`); for `mcp add`: those instead of
   * the user's files. Without it they are never touched (issue 9 §2).
   */
  project?: boolean;
}

export interface WireFlags extends TargetFlags {
  server: string;
  mode: McpMode;
  envVar: string;
  dryRun?: boolean;
}

export const DEFAULT_SERVER_NAME = 'omnispindle';
export const DEFAULT_TOKEN_VAR = 'AUTH0_TOKEN';

export function addClientOption(cmd: Command): Command {
  return cmd
    .option('--client <ids>', 'only these MCP clients, comma-separated (see `omni-auth mcp list`)', parseClientList)
    .option('--project', cmd.name() === 'add'
      ? 'add to the project-scope files in the current directory (.mcp.json, .cursor/, .vscode/, .gemini/, .zed/) instead of your own: '
        + 'stdio servers only, wired through exec; no token is ever written into them'
      : 'also the project-scope files in the current directory (.mcp.json, .cursor/, .vscode/, .gemini/, .zed/): '
        + 'never touched without it; only exec wiring is allowed there, no token is ever written into them');
}

/** `--mode`, `--env-var`, `--client`: how and where entries are wired. */
export function addWiringOptions(cmd: Command): Command {
  return addClientOption(cmd)
    .option('--mode <mode>', 'exec: no token stored (stdio servers through omni-auth exec, remote ones through omni-auth proxy) | env: the token stored in the entry | headers: remote entries get the token in a bearer header (expires)', parseMode, 'exec')
    .option('--env-var <name>', 'the environment variable the server reads its token from', parseEnvVar, DEFAULT_TOKEN_VAR);
}

/** Everything `login` and `mcp wire` take (each adds its own --dry-run). */
export function addWireOptions(cmd: Command): Command {
  return addWiringOptions(cmd.option('--server <name>', 'the server entry to route through omni-auth', DEFAULT_SERVER_NAME));
}

export function parseClientList(value: string, previous: string[] | undefined): string[] {
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new UsageError('invalid_client', '--client needs at least one client id', { hint: 'e.g. --client claude-desktop,vscode' });
  return [...(previous ?? []), ...ids];
}

export function parseMode(value: string): McpMode {
  if (value === 'exec' || value === 'env' || value === 'headers') return value;
  throw new UsageError('invalid_mode', `--mode must be exec, env or headers; got "${value}"`, {
    hint: 'exec (default) stores no token: stdio servers start through `omni-auth exec`, remote ones go through `omni-auth proxy`; env stores the token in the entry; headers stores it in a remote entry\'s Authorization header',
  });
}

export function parseEnvVar(value: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return value;
  throw new UsageError('invalid_env_var', `--env-var "${value}" is not a valid environment variable name`);
}
