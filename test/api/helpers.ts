/**
 * A consumer of the package, as an npm user has it: a temporary directory whose node_modules/omni-auth
 * is (a symlink to) this package, so `import … from 'omni-auth'` goes through package.json `exports`
 * to the built dist/index.js and dist/index.d.ts — never through src/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';

export const LIBRARY = join(packageRoot(), 'dist', 'index.js');
export const DECLARATIONS = join(packageRoot(), 'dist', 'index.d.ts');

export interface Consumer {
  dir: string;
  /** Writes a file of the consumer project. */
  write: (name: string, text: string) => Promise<string>;
  cleanup: () => Promise<void>;
}

export async function consumerProject(): Promise<Consumer> {
  expect(existsSync(LIBRARY), `${LIBRARY} is missing: run "npm run build" first`).toBe(true);
  expect(existsSync(DECLARATIONS), `${DECLARATIONS} is missing: run "npm run build" first`).toBe(true);
  const dir = await mkdtemp(join(tmpdir(), 'omni-auth-consumer-'));
  await mkdir(join(dir, 'node_modules'));
  await symlink(packageRoot(), join(dir, 'node_modules', 'omni-auth'), 'dir');
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' })}\n`);
  return {
    dir,
    write: async (name, text) => {
      const file = join(dir, name);
      await writeFile(file, text);
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
