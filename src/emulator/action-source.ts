/** The project's real Action (auth0-actions/), read for `--provisioned`: its code and pinned dependencies. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OmniAuthError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';

export const ACTION_FILE = 'custom_token_exchange.js';

export interface ActionSource {
  code: string;
  dependencies: { name: string; version: string }[];
}

export const defaultActionDir = (): string => join(packageRoot(), 'auth0-actions');

export async function loadActionSource(dir: string = defaultActionDir()): Promise<ActionSource> {
  let code: string;
  let manifest: { dependencies?: Record<string, string> };
  try {
    code = await readFile(join(dir, ACTION_FILE), 'utf8');
    manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as typeof manifest;
  } catch (e) {
    throw new OmniAuthError('emulator.actionMissing', `could not read the Action from ${dir}`, {
      hint: `${ACTION_FILE} and package.json must be in the package's auth0-actions/ directory`,
      cause: e,
    });
  }
  const dependencies = Object.entries(manifest.dependencies ?? {}).map(([name, version]) => ({ name, version }));
  return { code, dependencies };
}
