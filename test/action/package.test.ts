import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTION_PATH, ACTIONS_DIR, actionImport } from './action-module.js';

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('auth0-actions/package.json, the one declaration of the Action’s dependencies', () => {
  const manifest = readJson(resolve(ACTIONS_DIR, 'package.json'));

  it('is private CommonJS and depends on jose only', () => {
    expect(manifest).toMatchObject({ name: 'omni-auth-actions', private: true, type: 'commonjs' });
    expect(Object.keys(manifest.dependencies as object)).toEqual(['jose']);
  });

  it('pins jose to exactly the version our tests run (the one the Action resolves here)', () => {
    const pinned = (manifest.dependencies as Record<string, string>).jose;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const installed = readJson(createRequire(ACTION_PATH).resolve('jose/package.json')).version;
    expect(pinned).toBe(installed);
  });

  it('jose resolves from the Action’s directory through import(), and the Action never require()s it (jose 6 is ESM-only)', async () => {
    const jose = (await actionImport('jose')) as Record<string, unknown>;
    for (const name of ['compactVerify', 'importJWK', 'calculateJwkThumbprint']) expect(typeof jose[name]).toBe('function');
    const code = readFileSync(ACTION_PATH, 'utf8');
    expect(code).not.toMatch(/require\(\s*['"]jose['"]\s*\)/);
    expect(code).toMatch(/await import\('jose'\)/);
  });

  it('makes the Action file CommonJS although the root package is ESM', () => {
    expect(readJson(resolve(ACTIONS_DIR, '../package.json')).type).toBe('module');
    const action = createRequire(import.meta.url)(ACTION_PATH) as Record<string, unknown>;
    expect(typeof action.onExecuteCustomTokenExchange).toBe('function');
  });
});
