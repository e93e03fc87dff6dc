/**
 * `omni-auth/server` is a separate entry point: a server that imports it loads no CLI. Walks the
 * import graph esbuild recorded for dist/server.js (npm run build) — every input file, every import.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';

interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
  outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[]; exports: string[] }>;
}

const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'server-metafile.json'), 'utf8')) as Metafile;

describe('dist/server.js (omni-auth/server)', () => {
  it('is built from src/server only: nothing of cli, broker, mcp, emulator, tenant, exchange, config, identity, cache, util', () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('src/server/index.ts');
    expect(inputs.filter((p) => !p.startsWith('src/server/'))).toEqual([]);
  });

  it('imports only jose and, lazily, the MCP SDK\'s error classes', () => {
    const externals = new Set(Object.values(meta.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => `${x.kind} ${x.path}`)));
    expect([...externals].sort()).toEqual([
      'dynamic-import @modelcontextprotocol/sdk/server/auth/errors.js',
      'import-statement jose',
    ]);
  });

  it('exports the documented API', () => {
    const [output] = Object.values(meta.outputs);
    expect(output?.exports).toEqual(expect.arrayContaining([
      'createTokenVerifier', 'inspectAccessToken', 'protectTools', 'requireToolPermission', 'protectedResourceMetadata', 'TokenError', 'ToolForbiddenError',
    ]));
  });

  it('package.json exports it as omni-auth/server, with its declarations', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }> };
    expect(pkg.exports['./server']).toEqual({ types: './dist/types/server/index.d.ts', import: './dist/server.js' });
    expect(readFileSync(join(packageRoot(), 'dist', 'types', 'server', 'index.d.ts'), 'utf8')).toContain('createTokenVerifier');
  });
});
