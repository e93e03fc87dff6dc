/**
 * The warm `token` path must not load the HTTP client, the JWT library, the MCP code or the emulator:
 * walk the bundle's static import graph (esbuild's metafile) from the entry and the token command,
 * following only `import` statements — dynamic imports are evaluated only when their path runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';

interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string }[] }>;
}

function staticClosure(meta: Metafile, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const path = stack.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imp of meta.inputs[path]?.imports ?? []) {
      if (imp.kind === 'import-statement' || imp.kind === 'require-call') stack.push(imp.path);
    }
  }
  return seen;
}

describe('start-up of the warm token path', () => {
  const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'metafile.json'), 'utf8')) as Metafile;
  const closure = staticClosure(meta, ['src/cli/main.ts', 'src/cli/token.ts', 'src/broker/get-token.ts']);

  it('reaches the cache and settings, statically', () => {
    expect(closure).toContain('src/cache/token-cache.ts');
    expect(closure).toContain('src/config/settings.ts');
  });

  it.each([
    // Lazily compiled packages appear as `lazy-package:<name>` (scripts/build.mjs), others under node_modules.
    ['undici (the HTTP client)', /(node_modules\/|lazy-package:)undici(\/|$)/],
    ['jose (the JWT library)', /(node_modules\/|lazy-package:)jose(\/|$)/],
    ['the YAML and TOML editors', /(node_modules\/|lazy-package:)(yaml|@decimalturn\/toml-patch)(\/|$)/],
    ['the MCP SDK', /node_modules\/@modelcontextprotocol\//],
    // Our subtrees compiled on first use appear as `lazy-subtree:src/<dir>/index.ts`.
    ['the MCP code', /^(lazy-subtree:)?src\/mcp\//],
    ['the emulator', /^(lazy-subtree:)?src\/emulator\//],
    ['the tenant provisioning code', /^(lazy-subtree:)?src\/tenant\//],
    ['the exchange client', /^src\/exchange\/(exchange|http|undici-transport|verify)\.ts$/],
  ])('does not load %s', (_, pattern) => {
    expect([...closure].filter((p) => pattern.test(p))).toEqual([]);
  });

  it('the exchange path does load them, lazily (the walk can see them)', () => {
    const cold = [...staticClosure(meta, ['src/broker/acquire.ts', 'src/exchange/undici-transport.ts'])];
    expect(cold).toContain('src/exchange/exchange.ts');
    expect(cold).toContain('lazy-package:jose');
    expect(meta.inputs['src/exchange/undici-transport.ts']?.imports.map((i) => i.path)).toContain('lazy-package:undici');
  });
});

/**
 * Issue 13: the warm entry (dist/omni-auth.cjs, src/warm/main.ts) is a bundle of its own. Everything in
 * it can run, so its whole input set is checked, not a static closure.
 */
describe('start-up of the warm entry', () => {
  const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'metafile-warm.json'), 'utf8')) as Metafile;
  const inputs = Object.keys(meta.inputs);

  it('is the CLI\'s own token code, with the hand-off and the key records as seams', () => {
    for (const path of ['src/warm/main.ts', 'src/warm/exec.ts', 'src/warm/spawn.ts', 'src/exec/child.ts', 'src/exec/token-file.ts', 'src/cli/token.ts', 'src/broker/get-token.ts', 'src/cache/token-cache.ts', 'src/config/settings.ts', 'src/cli/context.ts', 'src/warm/hand-off.ts', 'src/warm/key-check.ts']) {
      expect(inputs).toContain(path);
    }
    expect(meta.inputs['src/broker/get-token.ts']?.imports.map((i) => i.path)).toEqual(expect.arrayContaining(['src/warm/hand-off.ts', 'src/warm/key-check.ts']));
  });

  it.each([
    ['undici (the HTTP client)', /(node_modules\/|lazy-package:)undici(\/|$)/],
    ['jose (the JWT library)', /(node_modules\/|lazy-package:)jose(\/|$)/],
    ['commander', /node_modules\/commander\//],
    ['the YAML and TOML editors', /(node_modules\/|lazy-package:)(yaml|@decimalturn\/toml-patch|jsonc-parser)(\/|$)/],
    ['the MCP SDK', /node_modules\/@modelcontextprotocol\//],
    ['the MCP code', /^(lazy-subtree:)?src\/mcp\//],
    ['the emulator', /^(lazy-subtree:)?src\/emulator\//],
    ['the tenant provisioning code', /^(lazy-subtree:)?src\/tenant\//],
    ['the exchange client', /^src\/exchange\//],
    ['acquisition, minting and locking', /^src\/(broker\/acquire|identity\/(local-token|keys|machine)|util\/lock)\.ts$/],
    ['the full CLI entry', /^src\/cli\/main\.ts$/],
    // A warm exec runs its child from the entry (src/warm/exec.ts, src/exec/child.ts, src/exec/token-file.ts);
    // its browser sign-in (src/cli/exec.ts) and the token file's renewal (src/exec/renew.ts) are the full CLI's.
    ['the full exec and the renewal', /^src\/(cli\/exec|exec\/renew)\.ts$/],
    ['the browser sign-in', /^(lazy-subtree:)?src\/(signin\/|cli\/signin\.ts|broker\/browser-login\.ts)|oauth4webapi/],
    ['the binding code', /^src\/identity\/binding\.ts$/],
  ])('does not contain %s', (_, pattern) => {
    expect(inputs.filter((p) => pattern.test(p))).toEqual([]);
  });

  it('loads node:crypto, node:child_process and node:fs/promises only when called (through the on-first-call wrappers)', () => {
    const deferred = ['node:crypto', 'node:child_process', 'node:fs/promises'];
    for (const [path, input] of Object.entries(meta.inputs)) {
      if (path.startsWith('warm-builtin:')) continue;
      expect(input.imports.filter((i) => deferred.includes(i.path)).map((i) => `${path} → ${i.path}`)).toEqual([]);
    }
    const text = readFileSync(join(packageRoot(), 'dist', 'omni-auth.cjs'), 'utf8');
    // Every fs/promises call the warm paths make is node:fs's sync one (scripts/build.mjs FS_PROMISES_SYNC): none left to load.
    expect(text).not.toContain('require("node:fs/promises")');
    for (const name of ['node:crypto', 'node:child_process']) {
      // Only inside the wrappers' loader: `__load = () => __m ??= require("node:x")`.
      const requires = text.split(`require("${name}")`).length - 1;
      expect(requires, name).toBe(1);
      // (The warm code is built without whitespace: scripts/build.mjs withCodeCacheLoader.)
      expect(text).toMatch(new RegExp(`__load\\d* ?= ?\\(\\) ?=> ?\\(?__m\\d* ?\\?\\?= ?require\\("${name.replace('/', '\\/')}"\\)`));
    }
  });

  it('starts with the loader (src/warm/loader.ts), which needs node:fs and node:vm only, and holds the code in the comment after it', () => {
    const text = readFileSync(join(packageRoot(), 'dist', 'omni-auth.cjs'), 'utf8');
    const at = text.indexOf('\n/*\n(function (exports, require, module, __filename, __dirname) {');
    expect(at).toBeGreaterThan(0);
    const loader = text.slice(0, at);
    expect(loader.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect([...loader.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort()).toEqual(['node:fs', 'node:vm']);
    expect(text.endsWith('\n})\n*/\n')).toBe(true);
    // The comment is closed only at the end.
    expect(text.indexOf('*/', at)).toBe(text.length - 3);
  });

  it('reads its own URL (a URL object there, computed on demand) only through fileURLToPath', () => {
    const text = readFileSync(join(packageRoot(), 'dist', 'omni-auth.cjs'), 'utf8');
    const uses = text.match(/.{0,40}__omniEntry\.url.{0,2}/g) ?? [];
    expect(uses.length).toBeGreaterThan(0);
    for (const use of uses) expect(use).toMatch(/fileURLToPath\)?\(__omniEntry\.url\)/);
  });
});
