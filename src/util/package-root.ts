/**
 * The omni-auth package's root directory, found by walking up from a module's URL to the
 * package.json named `omni-auth`. Works from the TypeScript sources (src/…) and from the bundle
 * (dist/omni-auth.cjs) alike, so shipped files such as auth0-actions/ can be located from either.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OmniAuthError } from './errors.js';

const PACKAGE_NAME = 'omni-auth';

function isOurPackage(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    if (isOurPackage(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new OmniAuthError('omni-auth.packageRootNotFound', `could not find the ${PACKAGE_NAME} package directory above ${fileURLToPath(from)}`, {
        hint: 'reinstall omni-auth; its package.json must sit above the installed files',
      });
    }
    dir = parent;
  }
}
