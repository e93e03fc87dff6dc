/**
 * The stable launcher that wired MCP entries run. MCP clients start servers with a minimal PATH, and
 * `npx omni-auth login` runs from an npm cache that npm may clean at any time, so an entry runs
 * `<absolute node> <OMNI_AUTH_HOME>/bin/omni-auth.cjs exec …`: a copy of the single-file bundle,
 * refreshed by every `login` (and `mcp wire` / `mcp add`), so entries run the version last used.
 * `.cjs`: the copy is CommonJS code whatever package.json may sit above the home directory.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { OmniAuthError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { LAUNCHER_FILE } from '../config/home.js';

export const launcherPath = (home: string): string => join(home, 'bin', LAUNCHER_FILE);

/**
 * The running single-file CLI. In the bundle every module's import.meta.url is the bundle's own URL
 * (symbolic links such as node_modules/.bin already resolved by Node); from the TypeScript sources
 * (tests) it is the build output.
 */
export function bundlePath(moduleUrl: string = import.meta.url): string {
  const self = fileURLToPath(moduleUrl);
  if (/\.[cm]?js$/.test(self)) return self;
  const built = join(packageRoot(moduleUrl), 'dist', 'omni-auth.cjs');
  if (existsSync(built)) return built;
  throw new OmniAuthError('launcher_unavailable', `cannot install the omni-auth launcher: ${built} does not exist`, {
    hint: 'build the CLI first (npm run build)',
  });
}

/**
 * Copies the bundle to the launcher path when it differs (atomically; 0700 like the home it sits in —
 * code, not a secret, but for this user only). Running from the launcher itself finds it equal.
 */
export async function installLauncher(home: string, bundle: string = bundlePath()): Promise<{ path: string; updated: boolean }> {
  const path = launcherPath(home);
  const code = await readFile(bundle);
  const current = await readFile(path).catch(() => undefined);
  if (current?.equals(code)) return { path, updated: false };
  await ensurePrivateDir(home);
  await ensurePrivateDir(dirname(path));
  await writeFileAtomic(path, code, { mode: 0o700 });
  return { path, updated: true };
}
