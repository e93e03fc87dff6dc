/**
 * The npm dependencies of an emulated Action, loaded the way Auth0 loads them: the version the
 * Action declares, installed as a real package and loaded through Node's own module loader — the
 * emulator never hands the Action a copy of a module it already holds.
 *
 * Auth0 installs each declared dependency from the npm registry at build time ("Manage
 * Dependencies"). The emulator works offline, so its "registry" is what the project itself has
 * installed: the package is looked up with Node's resolution from omni-auth's package root (the
 * repository, or the installed npm package: the same from src/ and from dist/omni-auth.cjs), and
 * its package.json must carry exactly the declared version. A dependency that is not installed, or
 * installed at another version, fails the build with a message that says so — as Auth0's build
 * fails on a package it cannot install.
 *
 * Each set of dependencies gets an "install directory" of its own: a fresh temporary directory
 * whose `node_modules/` holds one link per declared package, and nothing else. The Action's module
 * is compiled as `<install dir>/index.js`, so both `require()` (Node's `createRequire`) and dynamic
 * `import()` (vm's USE_MAIN_CONTEXT_DEFAULT_LOADER, which resolves from the compiled file's name)
 * find exactly the declared packages and Node's built-ins — with Node's own semantics: on a Node
 * without require(esm) (`--no-experimental-require-module`), `require()` of an ES-module-only
 * package throws ERR_REQUIRE_ESM, as it would on Auth0's runtime.
 *
 * Choices where Auth0 is silent (docs/fidelity.md, last table):
 * - `latest` (or an empty version, the Dashboard's "leave blank for latest") takes the installed
 *   version; any other non-exact version (a range, a tag, a URL) fails the build: offline, the
 *   emulator cannot tell which version Auth0 would pick.
 * - the install directories are removed when the process exits.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../util/package-root.js';
import type { ActionDependency } from './types.js';

/** Auth0 (Actions Limitations): "Each Action may have a maximum of 10 npm modules." */
export const MAX_DEPENDENCIES = 10;

/** npm's package-name rule (scoped or not), enough to keep a name from escaping node_modules/. */
const PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
/** An exact semver version: what Auth0's examples declare (`"version": "4.17.21"`). */
const EXACT_VERSION = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+[0-9A-Za-z.-]+)?$/;

export interface InstalledPackage {
  name: string;
  version: string;
  /** The package's directory, symlinks resolved. */
  dir: string;
}

let rootOverride: string | undefined;
/** Where installed packages are looked up: omni-auth's package root. Tests may point it elsewhere. */
export function dependencyRoot(): string {
  return rootOverride ?? packageRoot();
}
/** For tests: look packages up from `dir` instead (undefined restores the default). */
export function setDependencyRootForTests(dir: string | undefined): void {
  rootOverride = dir;
}

/** The package `name` as Node would resolve it from the package root, or undefined. */
export function findInstalled(name: string): InstalledPackage | undefined {
  if (!PACKAGE_NAME.test(name)) return undefined;
  const root = dependencyRoot();
  const lookup = createRequire(join(root, 'package.json')).resolve.paths(name) ?? [];
  for (const nodeModules of lookup) {
    const manifest = join(nodeModules, name, 'package.json');
    if (!existsSync(manifest)) continue;
    try {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name !== name || typeof pkg.version !== 'string') continue;
      return { name, version: pkg.version, dir: realpathSync(dirname(manifest)) };
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The installed package that satisfies `dep`, or why there is none (a build error). */
function resolveOne(dep: ActionDependency): InstalledPackage | string {
  const declared = dep.version.trim();
  const exact = EXACT_VERSION.exec(declared)?.[1];
  if (declared !== '' && declared !== 'latest' && exact === undefined) {
    return `dependency "${dep.name}@${dep.version}": the emulator installs exact versions only (e.g. "1.2.3") or "latest"`;
  }
  const installed = findInstalled(dep.name);
  if (!installed) {
    return `dependency "${dep.name}@${dep.version}" could not be installed: it is not installed with omni-auth (looked up from ${dependencyRoot()}), and the emulator installs nothing from the npm registry`;
  }
  if (exact !== undefined && installed.version !== exact) {
    return `dependency "${dep.name}@${dep.version}" could not be installed: omni-auth has ${dep.name}@${installed.version}; declare version "${installed.version}"`;
  }
  return installed;
}

export type Resolved = { ok: true; packages: InstalledPackage[] } | { ok: false; error: string };

/** Resolves every declared dependency, or says why the build fails. */
export function resolveDependencies(dependencies: readonly ActionDependency[]): Resolved {
  if (dependencies.length > MAX_DEPENDENCIES) {
    return { ok: false, error: `an Action may declare at most ${MAX_DEPENDENCIES} dependencies (it declares ${dependencies.length})` };
  }
  const seen = new Set<string>();
  const packages: InstalledPackage[] = [];
  for (const dep of dependencies) {
    if (typeof dep?.name !== 'string' || dep.name === '' || typeof dep.version !== 'string') {
      return { ok: false, error: 'every dependency needs a name and a version' };
    }
    if (!PACKAGE_NAME.test(dep.name)) return { ok: false, error: `dependency "${dep.name}" is not a valid npm package name` };
    if (isBuiltin(dep.name)) return { ok: false, error: `dependency "${dep.name}" is a Node built-in; require it without declaring it` };
    if (seen.has(dep.name)) return { ok: false, error: `dependency "${dep.name}" is declared twice` };
    seen.add(dep.name);
    const one = resolveOne(dep);
    if (typeof one === 'string') return { ok: false, error: one };
    packages.push(one);
  }
  return { ok: true, packages };
}

/** Why these dependencies cannot be installed, or undefined when they all can. */
export function dependencyError(dependencies: readonly ActionDependency[]): string | undefined {
  const resolved = resolveDependencies(dependencies);
  return resolved.ok ? undefined : resolved.error;
}

// ---- Install directories ----

const installDirs = new Map<string, string>();
let cleanupInstalled = false;

function removeInstallDirs(): void {
  for (const dir of installDirs.values()) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  installDirs.clear();
}

/**
 * The directory an Action with these packages runs in: `node_modules/<name>` links to each
 * installed package. Made once per set of packages and process; removed at exit.
 */
export function installDirectory(packages: readonly InstalledPackage[]): string {
  const key = packages.map((p) => `${p.name}@${p.version}=${p.dir}`).sort().join('\n');
  const known = installDirs.get(key);
  if (known && existsSync(known)) return known;
  const dir = mkdtempSync(join(tmpdir(), 'omni-auth-action-'));
  const nodeModules = join(dir, 'node_modules');
  mkdirSync(nodeModules);
  for (const p of packages) {
    const link = join(nodeModules, p.name);
    if (p.name.startsWith('@')) mkdirSync(dirname(link), { recursive: true });
    symlinkSync(p.dir, link, 'dir');
  }
  installDirs.set(key, dir);
  if (!cleanupInstalled) {
    process.once('exit', removeInstallDirs);
    cleanupInstalled = true;
  }
  return dir;
}

export type RealmErrorFactory = (message: string, code?: string) => Error;

/**
 * The Action's `require`: Node's own `require` of a module at `<install dir>/index.js` — the
 * declared packages and Node's built-ins, with Node's errors — except that `overrides` replaces
 * built-ins the Action must not reach as they are (`process`, whose stdout is the emulator's API).
 */
export function createActionRequire(
  filename: string,
  overrides: Readonly<Record<string, unknown>>,
  invalid: RealmErrorFactory,
): (id: string) => unknown {
  const nodeRequire = createRequire(filename);
  return function require(id: string): unknown {
    if (typeof id !== 'string') throw invalid('The "id" argument must be of type string', 'ERR_INVALID_ARG_TYPE');
    const bare = id.startsWith('node:') ? id.slice(5) : id;
    if (Object.hasOwn(overrides, bare) && isBuiltin(id)) return overrides[bare];
    try {
      return nodeRequire(id);
    } catch (error) {
      // Node's error, as an Error of the Action's realm (so `instanceof Error` holds there).
      const { message, code } = error as { message?: unknown; code?: unknown };
      throw invalid(typeof message === 'string' ? message : String(error), typeof code === 'string' ? code : undefined);
    }
  };
}
