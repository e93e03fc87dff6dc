import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInThisContext } from 'node:vm';
import type { CteHandler } from './fake-api.js';

export const ACTIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../auth0-actions');
export const ACTION_PATH = resolve(ACTIONS_DIR, 'custom_token_exchange.js');

interface ActionModule {
  onExecuteCustomTokenExchange: CteHandler;
}

/**
 * The Action as Node loads it: CommonJS (auth0-actions/package.json), and its real `import('jose')`
 * resolved by Node from auth0-actions/.
 */
export function loadAction(): CteHandler {
  return (createRequire(import.meta.url)(ACTION_PATH) as ActionModule).onExecuteCustomTokenExchange;
}

/** Node's own `require` and `import()` as seen from the Action's file. */
export const actionRequire = createRequire(ACTION_PATH);
export const actionImport = (specifier: string): Promise<unknown> =>
  import(pathToFileURL(actionRequire.resolve(specifier)).href);

export interface ActionLoaders {
  require?: (id: string) => unknown;
  /** Stands in for the Action's dynamic `import()`. */
  importModule?: (specifier: string) => Promise<unknown>;
}

/**
 * The Action's source run with a `require` and an `import()` of our choosing, the way a runtime that
 * bundles dependencies would: to see what it loads, when, and how it copes when a dependency fails to
 * load. Node's vm cannot hand a script a custom `import()` without --experimental-vm-modules, so the
 * source's `import(` calls are routed to `importModule` by renaming them; the count of renamed calls
 * is returned so a test notices if the Action stops importing dynamically.
 */
export function loadActionWith(loaders: ActionLoaders = {}): { handler: CteHandler; importSites: number } {
  const source = readFileSync(ACTION_PATH, 'utf8');
  let importSites = 0;
  const routed = source.replace(/(?<![\w$.])import\(/g, () => {
    importSites += 1;
    return '__actionImport(';
  });
  const wrapper = runInThisContext(
    `(function (exports, require, module, __filename, __dirname, __actionImport) {${routed}\n})`,
    { filename: ACTION_PATH },
  ) as (...args: unknown[]) => void;
  const module = { exports: {} as ActionModule };
  wrapper(module.exports, loaders.require ?? actionRequire, module, ACTION_PATH, ACTIONS_DIR, loaders.importModule ?? actionImport);
  return { handler: module.exports.onExecuteCustomTokenExchange, importSites };
}
