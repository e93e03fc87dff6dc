import envPaths from 'env-paths';
import { join } from 'node:path';

/**
 * Where omni-auth keeps everything: `OMNI_AUTH_HOME`, else the OS config directory for `omni-auth`
 * (Linux `$XDG_CONFIG_HOME/omni-auth`, macOS `~/Library/Preferences/omni-auth`, Windows
 * `%APPDATA%\omni-auth\Config`). The directory is 0700; files holding secrets are 0600.
 */
export function omniAuthHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.OMNI_AUTH_HOME;
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return envPaths('omni-auth', { suffix: '' }).config;
}

/** The files under the home directory, named in one place. */
export function homeFiles(home: string) {
  return {
    home,
    key: join(home, 'machine-key.json'),
    settings: join(home, 'settings.json'),
    tokens: join(home, 'tokens.json'),
    tokensLock: join(home, 'tokens.lock'),
  };
}
export type HomeFiles = ReturnType<typeof homeFiles>;
