/**
 * The directories MCP clients keep their configs under, from an environment and a platform passed
 * in (never read from the running process here), so any OS can be resolved in a test with a temporary
 * home. Each root honours the variable the client itself honours.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

export interface FsProbe {
  exists(path: string): boolean;
  /** Entry names of a directory; empty when it does not exist. */
  list(dir: string): string[];
}

export const realFs: FsProbe = {
  exists: (p) => existsSync(p),
  list: (d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  },
};

export interface ResolveContext {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** Project-scoped files (`.mcp.json`, `.vscode/mcp.json`, …) resolve against this directory. */
  cwd: string;
  fs?: FsProbe;
}

export interface Roots {
  platform: NodeJS.Platform;
  join: (...parts: string[]) => string;
  fs: FsProbe;
  cwd: string;
  home: string;
  /** Windows %APPDATA% (Roaming). */
  appData: string;
  /** Windows %LOCALAPPDATA%. */
  localAppData: string;
  /** $XDG_CONFIG_HOME, else ~/.config (Linux, and tools that follow XDG on macOS). */
  xdgConfig: string;
  /** macOS ~/Library/Application Support. */
  macSupport: string;
  /** $CLAUDE_CONFIG_DIR, else the home directory: where Claude Code keeps `.claude.json`. */
  claudeCodeDir: string;
  /** $CODEX_HOME, else ~/.codex. */
  codexHome: string;
  /**
   * Cline's data directory (its CLI, and the extension since it moved its settings out of VS Code):
   * $CLINE_DATA_DIR, else $CLINE_DIR/data, else ~/.cline/data — the precedence of Cline's own
   * `resolveClineDataDir`.
   */
  clineData: string;
}

const set = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v : undefined);

export function roots(ctx: ResolveContext): Roots {
  const { env, platform } = ctx;
  const isWin = platform === 'win32';
  const join = isWin ? win32.join : posix.join;
  const home = (isWin ? set(env.USERPROFILE) ?? set(env.HOME) : set(env.HOME)) ?? homedir();
  return {
    platform,
    join,
    fs: ctx.fs ?? realFs,
    cwd: ctx.cwd,
    home,
    appData: set(env.APPDATA) ?? join(home, 'AppData', 'Roaming'),
    localAppData: set(env.LOCALAPPDATA) ?? join(home, 'AppData', 'Local'),
    xdgConfig: set(env.XDG_CONFIG_HOME) ?? join(home, '.config'),
    macSupport: join(home, 'Library', 'Application Support'),
    claudeCodeDir: set(env.CLAUDE_CONFIG_DIR) ?? home,
    codexHome: set(env.CODEX_HOME) ?? join(home, '.codex'),
    clineData: set(env.CLINE_DATA_DIR) ?? join(set(env.CLINE_DIR) ?? join(home, '.cline'), 'data'),
  };
}

/** VS Code's user directory (settings.json, mcp.json, globalStorage): the native one, then Flatpak's. */
export function vscodeUserDirs(r: Roots): string[] {
  switch (r.platform) {
    case 'darwin':
      return [r.join(r.macSupport, 'Code', 'User')];
    case 'win32':
      return [r.join(r.appData, 'Code', 'User')];
    default:
      return [r.join(r.xdgConfig, 'Code', 'User'), r.join(r.home, '.var', 'app', 'com.visualstudio.code', 'config', 'Code', 'User')];
  }
}

/** The user directory of a VS Code build or fork named `product` ("Code - Insiders", "Cursor"): same layout as VS Code's. */
export function editorUserDir(r: Roots, product: string): string {
  switch (r.platform) {
    case 'darwin':
      return r.join(r.macSupport, product, 'User');
    case 'win32':
      return r.join(r.appData, product, 'User');
    default:
      return r.join(r.xdgConfig, product, 'User');
  }
}

/**
 * Claude Desktop for Windows from the Microsoft Store (MSIX, the default installer since Feb 2026)
 * reads its config inside its package folder and ignores %APPDATA%\Claude. The folder name carries a
 * publisher hash (`Claude_pzs8sxrjxfjjc`), hence the listing.
 */
export function claudeMsixConfigs(r: Roots): string[] {
  const packages = r.join(r.localAppData, 'Packages');
  return r.fs
    .list(packages)
    .filter((name) => /^Claude_/i.test(name))
    .sort()
    .map((name) => r.join(packages, name, 'LocalCache', 'Roaming', 'Claude', 'claude_desktop_config.json'));
}
