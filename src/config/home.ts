import envPaths from 'env-paths';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where omni-auth keeps everything: `OMNI_AUTH_HOME`; else, when this is the launcher that `login`
 * copied to `<home>/bin/omni-auth.cjs`, that `<home>` — MCP clients start servers without the user's
 * shell variables, so a home chosen with OMNI_AUTH_HOME or XDG_CONFIG_HOME at login must not depend on
 * them; else the OS config directory for `omni-auth` (Linux `$XDG_CONFIG_HOME/omni-auth`, macOS
 * `~/Library/Preferences/omni-auth`, Windows `%APPDATA%\omni-auth\Config`). The directory is 0700;
 * files holding secrets are 0600.
 */
export function omniAuthHome(env: NodeJS.ProcessEnv = process.env, self?: string): string {
  const fromEnv = env.OMNI_AUTH_HOME;
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  // The running file only when OMNI_AUTH_HOME is not set: a file URL round trip is a tenth of a warm run's settings step.
  const launcherHome = homeOfLauncher(self ?? runningFile());
  if (launcherHome) return launcherHome;
  return envPaths('omni-auth', { suffix: '' }).config;
}

/** The launcher's file name inside `<home>/bin/` (src/mcp/launcher.ts writes it there). */
export const LAUNCHER_FILE = 'omni-auth.cjs';

/** `<home>` when `file` is `<home>/bin/omni-auth.cjs`, else undefined. */
export function homeOfLauncher(file: string): string | undefined {
  const bin = dirname(file);
  return basename(file) === LAUNCHER_FILE && basename(bin) === 'bin' ? dirname(bin) : undefined;
}

function runningFile(): string {
  try {
    return fileURLToPath(import.meta.url);
  } catch {
    return '';
  }
}

/** The files under the home directory, named in one place. */
export function homeFiles(home: string) {
  return {
    home,
    key: join(home, 'machine-key.json'),
    settings: join(home, 'settings.json'),
    /** Held by every writer of settings.json (config/settings.ts withSettingsLock). */
    settingsLock: join(home, 'settings.lock'),
    tokens: join(home, 'tokens.json'),
    tokensLock: join(home, 'tokens.lock'),
    /** The RSA key of Private Key JWT client authentication (client-credentials tokens; `setup --m2m`). */
    clientKey: join(home, 'client-key.json'),
    /** The machine-to-machine application `setup --m2m` registered that key with (no secret). */
    m2m: join(home, 'm2m.json'),
  };
}
export type HomeFiles = ReturnType<typeof homeFiles>;
