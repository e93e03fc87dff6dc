/**
 * TOML editing, mostly by direct text edits located through `@decimalturn/toml-patch`'s syntax tree:
 * - an existing `key = value` (string, integer, boolean, inline array) has its value text replaced;
 *   strings keep their quoting (a moved `command = 'C:\tools\srv.exe'` stays a literal string) and
 *   an array gains or loses only the items that differ, in its own layout;
 * - a new key in a `[table]` becomes a line after the table's last key, and a removed key loses its
 *   own line(s) — so a removal undoes an insertion exactly;
 * - a new server becomes its own `[mcp_servers.NAME]` section at the end.
 * Only what is left (keys under dotted or inline tables, whole tables to delete) goes to toml-patch's
 * `patch()`. It keeps comments elsewhere, but it re-writes any value it touches in its own style
 * (`['a', 'b']` becomes `["a", "b"]`), and deleting a key also deletes a comment line directly above
 * it ("comment ownership") — a user's comment lost on unwire — hence the direct edits.
 */
import * as TOML from '@decimalturn/toml-patch';
import { ConfigParseError, EditCheckError, setEach, type FormatEditor, type ParseResult } from './types.js';
import { deepEqual, diffNode, isPlainObject, RawStrings, removedBy, spliceEdits, withValueAt, type Change, type Span, type TreeAdapter } from './structural.js';
import { applyTextEdits, detectEol, indentOfLine, lineStartOf, startsLine, type TextEdit } from './text.js';

/** The parts of toml-patch's syntax tree used here (its types are not exported). */
interface CstNode {
  type: string;
  loc: { start: { line: number; column: number }; end: { line: number; column: number } };
  raw?: string;
  key?: { item?: { value: string[] }; value?: string[]; raw?: string };
  value?: CstNode;
  item?: CstNode;
  items?: CstNode[];
}

interface Located {
  node: CstNode;
  span: Span;
  /** For a `key = value` on lines of its own: those whole lines, line break included. */
  lines?: Span;
}

/** One parsed text: offsets from toml-patch's line/column positions, and values found by key path. */
interface Source {
  text: string;
  offset(p: { line: number; column: number }): number;
  locate(path: string[]): Located | undefined;
  /** Where a new `key = value` line goes in the `[table]` with this path (after its last key). */
  tableEnd(path: string[]): number | undefined;
}

/** A path in the parsed document, with the syntax node of its value when it is a plain `key = value`. */
interface TNode {
  value: unknown;
  cst: Located | undefined;
  src: Source;
  path: string[];
}

const SCALARS = new Set(['String', 'Integer', 'Boolean']);

function parse(text: string): ParseResult {
  try {
    return { value: TOML.parse(text) };
  } catch (e) {
    const err = e as Error & { line?: number; column?: number };
    return {
      error: {
        message: describe(err.message),
        line: typeof err.line === 'number' ? err.line : 1,
        column: typeof err.column === 'number' ? err.column + 1 : 1,
      },
    };
  }
}

/**
 * toml-patch's message is "Error parsing TOML (l, c):", the offending source line, a caret line, then
 * the description. Only the description is kept: the source line may hold a secret.
 */
function describe(message: string): string {
  const lines = message.split('\n');
  const caret = lines.findIndex((l) => /^\s*\^\s*$/.test(l));
  const description = caret >= 0 ? lines.slice(caret + 1).join(' ').trim() : '';
  return description || 'invalid TOML';
}

function load(text: string): unknown {
  const r = parse(text);
  if ('error' in r) throw new ConfigParseError(r.error);
  return r.value;
}

/** Maps dotted key paths to the syntax node of their value, with offsets computed from line/column. */
function source(text: string): Source {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const offset = (p: { line: number; column: number }): number => (lineStarts[p.line - 1] ?? NaN) + p.column;
  const found = new Map<string, Located>();
  const visit = (node: CstNode, prefix: string[], block: boolean): void => {
    if (node.type !== 'KeyValue' || !node.value) return;
    const path = [...prefix, ...(node.key?.value ?? [])];
    const v = node.value;
    const span = { start: offset(v.loc.start), end: offset(v.loc.end) };
    const lines = block ? ownLines(text, offset(node.loc.start), span.end, node.key?.raw) : undefined;
    found.set(JSON.stringify(path), { node: v, span: plausible(text, v, span) ? span : { start: NaN, end: NaN }, ...(lines ? { lines } : {}) });
    if (v.type === 'InlineTable') for (const item of v.items ?? []) if (item.item) visit(item.item, path, false);
  };
  const tables = new Map<string, number>();
  const afterLine = (at: number): number => {
    const nl = text.indexOf('\n', at);
    return nl < 0 ? text.length : nl + 1;
  };
  for (const block of TOML.parseDocument(text).cst as unknown as CstNode[]) {
    if (block.type === 'KeyValue') visit(block, [], true);
    else if (block.type === 'Table') {
      const path = block.key?.item?.value ?? [];
      let end = afterLine(offset(block.loc.start));
      for (const item of block.items ?? []) {
        visit(item, path, true);
        if (item.type === 'KeyValue') end = afterLine(offset(item.loc.end));
      }
      tables.set(JSON.stringify(path), end);
    }
    // [[array of tables]] have no stable path: left to patch().
  }
  return { text, offset, locate: (path) => found.get(JSON.stringify(path)), tableEnd: (path) => tables.get(JSON.stringify(path)) };
}

/**
 * The whole lines of a `key = value` that starts its line and is followed only by a comment. At the
 * end of a file without a final line break, the line break before it instead (so that removing it
 * undoes appending it).
 */
function ownLines(text: string, keyStart: number, valueEnd: number, keyRaw: string | undefined): Span | undefined {
  if (keyRaw === undefined || !text.startsWith(keyRaw, keyStart) || !startsLine(text, keyStart)) return undefined;
  const rest = /^[ \t]*(?:#[^\n]*)?(?:\r?\n|$)/.exec(text.slice(valueEnd));
  if (!rest) return undefined;
  const end = valueEnd + rest[0].length;
  let start = lineStartOf(text, keyStart);
  if (end === text.length && !text.endsWith('\n') && start > 0) start -= text.slice(0, start).endsWith('\r\n') ? 2 : 1;
  return { start, end };
}

/** Only trust a located span when the text there is what the node says it is. */
function plausible(text: string, node: CstNode, span: Span): boolean {
  const slice = text.slice(span.start, span.end);
  if (node.raw !== undefined) return slice === node.raw;
  if (node.type === 'InlineArray') return slice.startsWith('[') && slice.endsWith(']');
  return false;
}

const adapter: TreeAdapter<TNode> = {
  kind: (n) => (Array.isArray(n.value) ? 'array' : isPlainObject(n.value) ? 'object' : 'scalar'),
  value: (n) => n.value,
  entries: (n) =>
    Object.entries(n.value as Record<string, unknown>).map(([k, v]): [string, TNode] => {
      const path = [...n.path, k];
      return [k, { value: v, cst: n.src.locate(path), src: n.src, path }];
    }),
  items: (n) => {
    const spans = n.cst && !Number.isNaN(n.cst.span.start) ? itemSpans(n.src, n.cst) : undefined;
    return (n.value as unknown[]).map((v, i): TNode => ({ value: v, cst: spans?.[i], src: n.src, path: [...n.path, String(i)] }));
  },
};

/** The items of an inline array, or undefined when any of them cannot be located exactly. */
function itemSpans(src: Source, arr: Located): Located[] | undefined {
  if (arr.node.type !== 'InlineArray') return undefined;
  const out: Located[] = [];
  for (const wrapper of arr.node.items ?? []) {
    const item = wrapper.item;
    if (!item) return undefined;
    const span = { start: src.offset(item.loc.start), end: src.offset(item.loc.end) };
    if (!plausible(src.text, item, span)) return undefined;
    out.push({ node: item, span });
  }
  return out;
}

function isSimple(v: unknown): v is string | boolean | number {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v));
}

/** Values written here rather than by patch(): simple scalars, in arrays and inline tables. */
function isPlain(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(isPlain);
  if (isPlainObject(v)) return Object.values(v).every((x) => x === undefined || isPlain(x));
  return isSimple(v);
}

/**
 * Step one: text edits for the changes that touch existing `key = value` lines, and for new keys in a
 * `[table]` (a line after its last key; a removal takes exactly that line out again).
 */
function directEdits(src: Source, changes: Change<TNode>[], raws: RawStrings): TextEdit[] {
  const { text } = src;
  const render = (v: string | boolean | number): string => (typeof v === 'string' ? raws.get(v) ?? JSON.stringify(v) : String(v));
  const edits: TextEdit[] = [];
  for (const c of changes) {
    if (c.op === 'insert') {
      const at = src.tableEnd(c.node.path);
      if (at === undefined || !c.entries.every(([, v]) => isPlain(v))) continue;
      const eol = detectEol(text);
      const lines = c.entries.map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v, render)}`);
      const open = at === text.length && text !== '' && !text.endsWith('\n');
      edits.push({ offset: at, length: 0, content: open ? lines.map((l) => eol + l).join('') : lines.map((l) => l + eol).join('') });
      continue;
    }
    if (c.op === 'delete') {
      // Not patch(): it also deletes a comment line directly above the key ("comment ownership").
      for (const key of c.keys) {
        const lines = src.locate([...c.node.path, key])?.lines;
        if (lines) edits.push({ offset: lines.start, length: lines.end - lines.start, content: '' });
      }
      continue;
    }
    const at = c.node.cst;
    if (!at || Number.isNaN(at.span.start)) continue;
    if (!at) continue;
    if (c.op === 'replace' && SCALARS.has(at.node.type) && isSimple(c.value)) {
      edits.push({ offset: at.span.start, length: at.span.end - at.span.start, content: render(c.value) });
    } else if (c.op === 'splice' && at.node.type === 'InlineArray' && c.values.every(isSimple)) {
      const spans = itemSpans(src, at);
      if (!spans) continue;
      const sep = arraySep(text, at, spans);
      edits.push(...spliceEdits(spans.map((s) => s.span), at.span.start + 1, c.start, c.deleteCount, c.values.map(render), sep));
    }
  }
  return edits;
}

function arraySep(text: string, arr: Located, items: Located[]): string {
  for (let i = 0; i + 1 < items.length; i++) {
    const between = text.slice((items[i] as Located).span.end, (items[i + 1] as Located).span.start);
    if (/^\s*,\s*$/.test(between)) return between;
  }
  const first = items[0];
  if (first && text.slice(arr.span.start + 1, first.span.start).includes('\n')) {
    return `,${detectEol(text)}${indentOfLine(text, first.span.start)}`;
  }
  return ', ';
}

function collectRaw(n: TNode, raws: RawStrings, preferred = false): void {
  if (typeof n.value === 'string' && n.cst?.node.type === 'String' && !Number.isNaN(n.cst.span.start)) {
    raws.add(n.value, n.src.text.slice(n.cst.span.start, n.cst.span.end), preferred);
  }
  if (adapter.kind(n) === 'object') for (const [, c] of adapter.entries(n)) collectRaw(c, raws, preferred);
  if (adapter.kind(n) === 'array') for (const c of adapter.items(n)) collectRaw(c, raws, preferred);
}

export const tomlEditor: FormatEditor = {
  parse,
  getIn(text, path) {
    let v = load(text);
    for (const key of path) {
      if (!isPlainObject(v)) return undefined;
      v = v[key];
    }
    return v;
  },
  setIn(text, path, value) {
    const before = load(text);
    const expected = withValueAt(before, path, value);
    if (deepEqual(before, expected)) return text;
    let current = text;
    let here: unknown = before;
    for (const key of path) here = isPlainObject(here) ? here[key] : undefined;
    if (here === undefined && isPlainObject(value) && holdsTables(before, path.slice(0, -1))) {
      const appended = appendTable(current, path, value);
      if (holds(appended, expected)) return appended;
    } else if (here !== undefined) {
      const src = source(current);
      const at = (p: string[]): TNode => ({ value: undefined, cst: src.locate(p), src, path: p });
      const node: TNode = { ...at([...path]), value: here };
      const changes: Change<TNode>[] = value === undefined
        ? [{ op: 'delete', node: at(path.slice(0, -1)), keys: [path[path.length - 1] as string] }]
        : diffNode(adapter, node, value);
      const raws = new RawStrings();
      for (const c of changes) if (c.node.value !== undefined) for (const n of removedBy(adapter, c)) collectRaw(n, raws, true);
      collectRaw(node, raws);
      const edits = directEdits(src, changes, raws);
      if (edits.length > 0) current = applyTextEdits(current, edits);
      if ('error' in parse(current)) throw new EditCheckError('internal: the edited TOML does not parse');
    }
    if (!holds(current, expected)) current = TOML.patch(current, expected);
    if (!holds(current, expected)) throw new EditCheckError('internal: the edited TOML does not hold the intended value');
    return current;
  },
  setMany(text, changes) {
    return setEach(tomlEditor, text, changes);
  },
};

/** True when `path` is absent or a table of tables (like `mcp_servers`): a new member gets a section. */
function holdsTables(doc: unknown, path: readonly string[]): boolean {
  let v = doc;
  for (const key of path) v = isPlainObject(v) ? v[key] : undefined;
  return v === undefined || (isPlainObject(v) && Object.values(v).every(isPlainObject));
}

function holds(text: string, expected: unknown): boolean {
  const r = parse(text);
  return !('error' in r) && deepEqual(r.value, expected);
}

/**
 * A new server as its own `[a.b]` section at the end of the file, nested objects as inline tables —
 * the layout Codex's documentation uses. (patch() would also write an empty `[a]` header.) When the
 * parent is an inline table this is not valid TOML; the caller checks and falls back to patch().
 */
function appendTable(text: string, path: readonly string[], value: Record<string, unknown>): string {
  const eol = detectEol(text);
  const lines = [`[${path.map(tomlKey).join('.')}]`];
  for (const [k, v] of Object.entries(value)) if (v !== undefined) lines.push(`${tomlKey(k)} = ${tomlValue(v, JSON.stringify)}`);
  const lead = text === '' ? '' : text.endsWith('\n') ? eol : eol + eol;
  return `${text}${lead}${lines.join(eol)}${eol}`;
}

function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

/** A value on one line: arrays and inline tables; strings through `str` (raw reuse or JSON quoting). */
function tomlValue(v: unknown, str: (s: string) => string): string {
  if (typeof v === 'string') return str(v);
  if (Array.isArray(v)) return `[${v.map((x) => tomlValue(x, str)).join(', ')}]`;
  if (isPlainObject(v)) {
    const body = Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${tomlKey(k)} = ${tomlValue(x, str)}`);
    return body.length === 0 ? '{}' : `{ ${body.join(', ')} }`;
  }
  return String(v);
}
