/**
 * The warm `token` path loads no sign-in code: the bundle's static import graph (esbuild's metafile,
 * `npm run build`) from the entry, the token command and the broker's cache path reaches neither
 * src/signin nor oauth4webapi; the CLI reaches the sign-in only through its lazily compiled index.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';

interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string }[] }>;
}

function closure(meta: Metafile, roots: string[], kinds: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const path = stack.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imp of meta.inputs[path]?.imports ?? []) if (kinds.includes(imp.kind)) stack.push(imp.path);
  }
  return seen;
}

describe('start-up of the warm token path, with the sign-in', () => {
  const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'metafile.json'), 'utf8')) as Metafile;

  it('loads neither src/signin nor oauth4webapi statically', () => {
    const warm = closure(meta, ['src/cli/main.ts', 'src/cli/token.ts', 'src/broker/get-token.ts'], ['import-statement', 'require-call']);
    const signin = (p: string) => p.startsWith('src/signin/') || p === 'lazy-subtree:src/signin/index.ts' || p.includes('oauth4webapi') || p === 'src/broker/browser-login.ts';
    expect([...warm].filter(signin)).toEqual([]);
  });

  it('reaches the sign-in only as a lazily compiled subtree, through a dynamic import', () => {
    expect(Object.keys(meta.inputs).filter((p) => /^src\/signin\//.test(p) || /node_modules\/oauth4webapi/.test(p))).toEqual([]);
    const cliSignin = meta.inputs['src/cli/signin.ts']!.imports;
    expect(cliSignin).toContainEqual(expect.objectContaining({ path: 'lazy-subtree:src/signin/index.ts', kind: 'dynamic-import' }));
    const all = closure(meta, ['src/cli/main.ts'], ['import-statement', 'require-call', 'dynamic-import']);
    expect(all).toContain('lazy-subtree:src/signin/index.ts');
  });
});
