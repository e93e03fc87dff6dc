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
