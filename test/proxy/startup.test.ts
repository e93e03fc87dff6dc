/**
 * The proxy is compiled on first use (scripts/build.mjs, LAZY_SUBTREES): the warm `token` path and
 * the entry point reach neither src/proxy nor the MCP SDK statically; `proxy` reaches them only
 * through the dynamic import in src/cli/proxy.ts.
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
    for (const imp of meta.inputs[path]?.imports ?? []) if (imp.kind === 'import-statement' || imp.kind === 'require-call') stack.push(imp.path);
  }
  return seen;
}

describe('the proxy is lazily loaded', () => {
  const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'metafile.json'), 'utf8')) as Metafile;

  it('is not on the static path of the entry point or the token command', () => {
    const closure = [...staticClosure(meta, ['src/cli/main.ts', 'src/cli/token.ts', 'src/broker/get-token.ts'])];
    expect(closure.filter((p) => /^(lazy-subtree:)?src\/proxy\/|src\/cli\/proxy\.ts$|@modelcontextprotocol/.test(p))).toEqual([]);
  });

  it('is one lazily compiled subtree, reached by a dynamic import from src/cli/proxy.ts', () => {
    expect(Object.keys(meta.inputs).filter((p) => p.startsWith('src/proxy/'))).toEqual([]);
    const imports = meta.inputs['src/cli/proxy.ts']?.imports ?? [];
    expect(imports).toContainEqual({ path: 'lazy-subtree:src/proxy/index.ts', kind: 'dynamic-import', original: '../proxy/index.js' });
    expect(meta.inputs['src/cli/main.ts']?.imports.filter((i) => i.path === 'src/cli/proxy.ts').map((i) => i.kind)).toEqual(['dynamic-import']);
  });
});
