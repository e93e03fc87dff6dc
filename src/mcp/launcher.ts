/**
 * The stable launcher that wired MCP entries run. MCP clients start servers with a minimal PATH, and
 * `npx omni-auth login` runs from an npm cache that npm may clean at any time, so an entry runs
 * `<absolute node> <OMNI_AUTH_HOME>/bin/omni-auth.cjs exec …`: a copy of the single-file bundle,
 * refreshed by every `login` (and `mcp wire` / `mcp add`), so entries run the version last used.
 * `.cjs`: the copy is CommonJS code whatever package.json may sit above the home directory.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { OmniAuthError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { LAUNCHER_FILE } from '../config/home.js';
import { FULL_CLI_FILE } from '../warm/files.js';

export const launcherPath = (home: string): string => join(home, 'bin', LAUNCHER_FILE);

/**
 * The running single-file CLI. In the bundle every module's import.meta.url is the bundle's own URL
 * (symbolic links such as node_modules/.bin already resolved by Node); from the TypeScript sources
 * (tests) it is the build output.
 */
export function bundlePath(moduleUrl: string = import.meta.url): string {
  const self = fileURLToPath(moduleUrl);
  // The full CLI run by itself: its entry beside it is what MCP entries should run.
  if (basename(self) === FULL_CLI_FILE && existsSync(join(dirname(self), LAUNCHER_FILE))) return join(dirname(self), LAUNCHER_FILE);
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
 * The bundle is two files (src/warm/files.ts): the entry and, beside it, the full CLI it hands most
 * commands to; the full CLI is copied first, so a launcher never runs without its current companion.
 */
export async function installLauncher(home: string, bundle: string = bundlePath()): Promise<{ path: string; updated: boolean }> {
  const path = launcherPath(home);
  const code = await readFile(bundle);
  const full = basename(bundle) === FULL_CLI_FILE ? undefined : await readFile(join(dirname(bundle), FULL_CLI_FILE)).catch(() => undefined);
  const fullPath = join(dirname(path), FULL_CLI_FILE);
  const current = await readFile(path).catch(() => undefined);
  const currentFull = full ? await readFile(fullPath).catch(() => undefined) : undefined;
  if (current?.equals(code) && (!full || currentFull?.equals(full))) return { path, updated: false };
  await ensurePrivateDir(home);
  await ensurePrivateDir(dirname(path));
  if (full && !currentFull?.equals(full)) await writeFileAtomic(fullPath, full, { mode: 0o700 });
  await writeFileAtomic(path, code, { mode: 0o700 });
  return { path, updated: true };
}
