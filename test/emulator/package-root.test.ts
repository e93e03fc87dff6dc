/** packageRoot(): how the emulator finds auth0-actions/ from the sources and from the bundle. */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isOmniAuthError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/package-root.js';

describe('packageRoot', () => {
  const root = packageRoot();

  it('finds the directory whose package.json is named omni-auth', () => {
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string }).name).toBe('omni-auth');
  });

  it('gives the same answer from the bundle in dist/ and from deep inside src/', () => {
    expect(packageRoot(pathToFileURL(join(root, 'dist', 'omni-auth.cjs')).href)).toBe(root);
    expect(packageRoot(pathToFileURL(join(root, 'src', 'emulator', 'server.ts')).href)).toBe(root);
  });

  it('does not stop at auth0-actions/package.json, which has another name', () => {
    expect(packageRoot(pathToFileURL(join(root, 'auth0-actions', 'custom_token_exchange.js')).href)).toBe(root);
  });

  it('fails with a typed error outside the package', () => {
    let error: unknown;
    try {
      packageRoot(pathToFileURL(join(tmpdir(), 'elsewhere', 'x.js')).href);
    } catch (e) {
      error = e;
    }
    expect(isOmniAuthError(error) && error.code).toBe('omni-auth.packageRootNotFound');
  });
});
