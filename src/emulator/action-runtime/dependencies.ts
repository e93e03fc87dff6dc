/**
 * The npm dependencies an emulated Action can `require`, and the `require` it gets.
 *
 * Auth0 installs whatever version an Action declares. The emulator cannot: the CLI is one bundled
 * file that may run without node_modules, so it can only offer modules it ships inside itself.
 * One documented choice where that differs from Auth0:
 * - a declared dependency the emulator ships is provided whatever the declared version, as long as
 *   its major version is the shipped one (`latest` always matches);
 * - a dependency the emulator does not ship, or of another major, fails the build with a message
 *   that names the version the emulator provides;
 * - only a package's root is provided (`require('jose')`, not `require('jose/jwt/verify')`);
 * - `require` of a package the Action did not declare throws "Cannot find module", as on Auth0;
 *   Node built-ins are always available, with or without the `node:` prefix.
 */
import { isBuiltin } from 'node:module';
import * as jose from 'jose';
import josePkg from 'jose/package.json' with { type: 'json' };
import type { ActionDependency } from './types.js';

export interface ShippedModule {
  version: string;
  exports: unknown;
}

/** What the emulator ships. The version comes from the installed package, so it cannot drift. */
export const SHIPPED_MODULES: ReadonlyMap<string, ShippedModule> = new Map([
  ['jose', { version: josePkg.version, exports: jose }],
]);

/** Auth0: "Each Action may have a maximum of 10 npm modules." */
export const MAX_DEPENDENCIES = 10;

/** The major version a declared version or range pins (`6.2.18`, `^6.1`, `~6`, `6.x`), `any` for `latest`. */
export function declaredMajor(version: string): number | 'any' | undefined {
  const v = version.trim();
  if (v === 'latest' || v === '*' || v === 'x') return 'any';
  const m = /^(?:\^|~|=|>=)?\s*v?(\d+)(?:\.(?:\d+|x|\*)){0,2}(?:[-+][0-9A-Za-z.-]+)?$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

export function majorOf(version: string): number {
  return Number(version.split('.')[0]);
}

/** Why these dependencies cannot be provided, or undefined when they all can. */
export function dependencyError(dependencies: readonly ActionDependency[]): string | undefined {
  if (dependencies.length > MAX_DEPENDENCIES) {
    return `an Action may declare at most ${MAX_DEPENDENCIES} dependencies (it declares ${dependencies.length})`;
  }
  const seen = new Set<string>();
  for (const dep of dependencies) {
    if (typeof dep?.name !== 'string' || dep.name === '' || typeof dep.version !== 'string') {
      return 'every dependency needs a name and a version';
    }
    if (seen.has(dep.name)) return `dependency "${dep.name}" is declared twice`;
    seen.add(dep.name);
    const shipped = SHIPPED_MODULES.get(dep.name);
    if (!shipped) {
      const offered = [...SHIPPED_MODULES].map(([name, m]) => `${name}@${m.version}`).join(', ');
      return `dependency "${dep.name}@${dep.version}" is not available in the emulator (it provides ${offered})`;
    }
    const major = declaredMajor(dep.version);
    if (major === undefined) return `dependency "${dep.name}" has an unsupported version "${dep.version}"`;
    if (major !== 'any' && major !== majorOf(shipped.version)) {
      return (
        `dependency "${dep.name}@${dep.version}" is not available in the emulator: it provides ` +
        `${dep.name}@${shipped.version}; declare version ^${majorOf(shipped.version)}`
      );
    }
  }
  return undefined;
}

export type RealmErrorFactory = (message: string, code?: string) => Error;

/**
 * The Action's `require`: its declared dependencies and Node's built-ins. `overrides` replaces
 * built-ins the Action must not reach as is (e.g. `process`, whose stdout is the emulator's API).
 */
export function createActionRequire(
  declared: readonly ActionDependency[],
  overrides: Readonly<Record<string, unknown>>,
  notFound: RealmErrorFactory,
): (id: string) => unknown {
  const names = new Set(declared.map((d) => d.name));
  return function require(id: string): unknown {
    if (typeof id !== 'string') throw notFound('The "id" argument must be of type string', 'ERR_INVALID_ARG_TYPE');
    const bare = id.startsWith('node:') ? id.slice(5) : id;
    if (Object.hasOwn(overrides, bare) && isBuiltin(id)) return overrides[bare];
    if (isBuiltin(id)) {
      const builtin = process.getBuiltinModule(id);
      if (builtin) return builtin;
    }
    if (names.has(id)) {
      const shipped = SHIPPED_MODULES.get(id);
      if (shipped) return shipped.exports;
    }
    throw notFound(`Cannot find module '${id}'`, 'MODULE_NOT_FOUND');
  };
}
