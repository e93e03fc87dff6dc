import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { isMap, parseDocument, type Pair } from 'yaml';
import { resolveFiles, findClient, type Scope } from '../../src/mcp/registry.js';
import type { ConfigFormat } from '../../src/mcp/formats/index.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'mcp');
export const NODE = '/usr/bin/node';
export const LAUNCHER = '/home/dev/.config/omni-auth/omni-auth.cjs';
/** JWT-shaped; not a real token. */
export const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZXYiLCJleHAiOjE4MDAwMDAwMDB9.c2lnbmF0dXJl';

export async function fixture(name: string): Promise<string> {
  return readFile(join(FIXTURES, name), 'utf8');
}

export interface TempHome {
  dir: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  cleanup(): Promise<void>;
}

/** A Linux-style home in a temporary directory, with a project directory as cwd. */
export async function tempHome(): Promise<TempHome> {
  const dir = await mkdtemp(join(tmpdir(), 'omni-mcp-'));
  const cwd = join(dir, 'src', 'webapp');
  await mkdir(cwd, { recursive: true });
  // Backups go to omni-auth's home (src/mcp/apply.ts): this one, never the real user's.
  const savedOmniHome = process.env.OMNI_AUTH_HOME;
  process.env.OMNI_AUTH_HOME = join(dir, '.config', 'omni-auth');
  return {
    dir,
    cwd,
    env: { HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') },
    cleanup: async () => {
      if (savedOmniHome === undefined) delete process.env.OMNI_AUTH_HOME;
      else process.env.OMNI_AUTH_HOME = savedOmniHome;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Puts a fixture where `client` looks for its `scope` file in `home`; returns that path. */
export async function install(home: TempHome, client: string, scope: Scope, fixtureName: string, mode = 0o644): Promise<string> {
  const spec = findClient(client);
  if (!spec) throw new Error(`no client ${client}`);
  const file = resolveFiles({ env: home.env, platform: 'linux', cwd: home.cwd }, [spec]).find((f) => f.scope === scope);
  if (!file) throw new Error(`no ${scope} file for ${client}`);
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(file.path, await fixture(fixtureName));
  await chmod(file.path, mode);
  return file.path;
}

/** Where a and b differ: [start, endInA) of a was replaced by [start, endInB) of b. */
export function changedRange(a: string, b: string): { start: number; endA: number; endB: number } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let tail = 0;
  while (tail < a.length - start && tail < b.length - start && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { start, endA: a.length - tail, endB: b.length - tail };
}

/**
 * The region of `text` that belongs to the entry at `path` (key included). For TOML: from the entry's
 * table header to the next header that is not one of its sub-tables.
 */
export function entrySpan(format: ConfigFormat, text: string, path: string[]): { start: number; end: number } {
  if (format === 'json' || format === 'jsonc') {
    const node = findNodeAtLocation(parseTree(text, [], { allowTrailingComma: true }) as never, path);
    const prop = node?.parent;
    if (!prop) throw new Error(`no ${path.join('.')}`);
    return { start: prop.offset, end: prop.offset + prop.length };
  }
  if (format === 'yaml') {
    const doc = parseDocument(text);
    const parent = doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) throw new Error('no parent map');
    const pair = (parent.items as Array<Pair<{ value: unknown; range: number[] }, { range: number[] }>>).find((p) => p.key.value === path[path.length - 1]);
    if (!pair?.value) throw new Error(`no ${path.join('.')}`);
    return { start: pair.key.range[0] as number, end: pair.value.range[2] as number };
  }
  const header = `[${path.join('.')}]`;
  const start = text.indexOf(header);
  if (start < 0) throw new Error(`no ${header}`);
  const next = /^\[(?!\[)([^\]]+)\]/gm;
  next.lastIndex = start + header.length;
  for (let m = next.exec(text); m; m = next.exec(text)) {
    if (!(m[1] ?? '').startsWith(`${path.join('.')}.`)) return { start, end: m.index };
  }
  return { start, end: text.length };
}

/** Asserts (by throwing) that b differs from a only inside `span` of a. */
export function onlyInside(a: string, b: string, span: { start: number; end: number }): void {
  const r = changedRange(a, b);
  if (r.start === a.length && r.endA === a.length && a === b) return;
  if (r.start < span.start || r.endA > span.end) {
    throw new Error(`changed ${r.start}..${r.endA}, outside the entry ${span.start}..${span.end}: ${JSON.stringify(a.slice(r.start, r.endA))} → ${JSON.stringify(b.slice(r.start, r.endB))}`);
  }
}
