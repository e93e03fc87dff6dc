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
 * - install directories are shared by the user's processes (see installDirectory).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
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

/**
 * Install directories live in one directory per user under the system's temporary directory, named
 * by a digest of the packages they link, so every process reuses the same few (a test runner's
 * workers are killed without an exit event; per-process directories would pile up). That directory
 * is used only when it is a real directory (not a link) owned by this user and writable by no one
 * else; otherwise each process makes its own and removes it at exit.
 */
const installDirs = new Map<string, string>();
let exitCleanup: string[] | undefined;

function privateBase(): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const base = join(tmpdir(), `omni-auth-actions-${uid ?? 'user'}`);
  try {
    mkdirSync(base, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') return undefined;
  }
  try {
    const st = lstatSync(base);
    if (!st.isDirectory() || st.isSymbolicLink()) return undefined;
    if (uid !== undefined && (st.uid !== uid || (st.mode & 0o022) !== 0)) return undefined;
    return base;
  } catch {
    return undefined;
  }
}

function linksMatch(dir: string, packages: readonly InstalledPackage[]): boolean {
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.isSymbolicLink()) return false;
    return packages.every((p) => readlinkSync(join(dir, 'node_modules', p.name)) === p.dir);
  } catch {
    return false;
  }
}

function populate(dir: string, packages: readonly InstalledPackage[]): void {
  const nodeModules = join(dir, 'node_modules');
  mkdirSync(nodeModules);
  for (const p of packages) {
    const link = join(nodeModules, p.name);
    if (p.name.startsWith('@')) mkdirSync(dirname(link), { recursive: true });
    symlinkSync(p.dir, link, process.platform === 'win32' ? 'junction' : 'dir');
  }
}

/** A directory of this process only, removed at exit. */
function processDirectory(packages: readonly InstalledPackage[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'omni-auth-action-'));
  populate(dir, packages);
  if (!exitCleanup) {
    const dirs: string[] = [];
    exitCleanup = dirs;
    process.once('exit', () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  }
  exitCleanup.push(dir);
  return dir;
}

/**
 * The directory an Action with these packages runs in: `node_modules/<name>` links to each
 * installed package, and nothing else.
 */
export function installDirectory(packages: readonly InstalledPackage[]): string {
  const key = packages.map((p) => `${p.name}@${p.version}=${p.dir}`).sort().join('\n');
  const known = installDirs.get(key);
  if (known && linksMatch(known, packages)) return known;
  let dir: string | undefined;
  const base = privateBase();
  if (base) {
    const target = join(base, createHash('sha256').update(key).digest('hex').slice(0, 24));
    if (!linksMatch(target, packages)) {
      // Built aside, then renamed into place: another process may be doing the same.
      const staging = mkdtempSync(join(base, 'staging-'));
      try {
        populate(staging, packages);
        renameSync(staging, target);
      } catch {
        rmSync(staging, { recursive: true, force: true });
      }
    }
    if (linksMatch(target, packages)) dir = target;
  }
  dir ??= processDirectory(packages);
  installDirs.set(key, dir);
  return dir;
}

export type RealmErrorFactory = (message: string, code?: string) => Error;

/** The package a bare specifier names (`jose`, `@scope/pkg`), or undefined for paths and URLs. */
function packageOf(id: string): string | undefined {
  if (id.startsWith('.') || id.startsWith('/') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(id) || /^[A-Za-z]:[\\/]/.test(id)) return undefined;
  const parts = id.split('/');
  return id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The Action's `require`: Node's own `require` of a module at `<install dir>/index.js` — the
 * declared packages and Node's built-ins, with Node's errors — except that `overrides` replaces
 * built-ins the Action must not reach as they are (`process`, whose stdout is the emulator's API),
 * and that a package the Action did not declare is "not found" even if Node would find one further
 * up the directory tree (the install directory sits under the system's temporary directory).
 */
export function createActionRequire(
  filename: string,
  declared: readonly string[],
  overrides: Readonly<Record<string, unknown>>,
  invalid: RealmErrorFactory,
): (id: string) => unknown {
  const nodeRequire = createRequire(filename);
  const names = new Set(declared);
  return function require(id: string): unknown {
    if (typeof id !== 'string') throw invalid('The "id" argument must be of type string', 'ERR_INVALID_ARG_TYPE');
    const bare = id.startsWith('node:') ? id.slice(5) : id;
    if (Object.hasOwn(overrides, bare) && isBuiltin(id)) return overrides[bare];
    const pkg = isBuiltin(id) ? undefined : packageOf(id);
    if (pkg !== undefined && !names.has(pkg)) {
      throw invalid(`Cannot find module '${id}'\nRequire stack:\n- ${filename}`, 'MODULE_NOT_FOUND');
    }
    try {
      return nodeRequire(id);
    } catch (error) {
      // Node's error, as an Error of the Action's realm (so `instanceof Error` holds there).
      const { message, code } = error as { message?: unknown; code?: unknown };
      throw invalid(typeof message === 'string' ? message : String(error), typeof code === 'string' ? code : undefined);
    }
  };
}
