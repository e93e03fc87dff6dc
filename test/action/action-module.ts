import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInThisContext } from 'node:vm';
import type { CteHandler } from './fake-api.js';

export const ACTIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../auth0-actions');
export const ACTION_PATH = resolve(ACTIONS_DIR, 'custom_token_exchange.js');

interface ActionModule {
  onExecuteCustomTokenExchange: CteHandler;
}

/** The Action as Node loads it: CommonJS (auth0-actions/package.json), real `require('jose')`. */
export function loadAction(): CteHandler {
  return (createRequire(import.meta.url)(ACTION_PATH) as ActionModule).onExecuteCustomTokenExchange;
}

/**
 * The Action's source run with a `require` of our choosing, the way a runtime that bundles
 * dependencies would: to see what it requires and how it copes when a dependency fails to load.
 */
export function loadActionWithRequire(require: (id: string) => unknown): CteHandler {
  const source = readFileSync(ACTION_PATH, 'utf8');
  const wrapper = runInThisContext(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: ACTION_PATH,
  }) as (...args: unknown[]) => void;
  const module = { exports: {} as ActionModule };
  wrapper(module.exports, require, module, ACTION_PATH, ACTIONS_DIR);
  return module.exports.onExecuteCustomTokenExchange;
}
