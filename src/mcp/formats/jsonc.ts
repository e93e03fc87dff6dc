/**
 * JSON and JSONC (comments, trailing commas) editing with `jsonc-parser`'s tree and our own minimal
 * edits. Not `modify()` with formatting options: it re-formats every line an insertion or removal
 * touches, so a one-line object `{ "X": "1" }` comes back spread over four lines, a minified file is
 * re-indented whole, and an unwire cannot give back the original bytes. Here an insertion copies the
 * separators, indentation and line ending the file already uses, and a removal takes out exactly what
 * an insertion would have put in.
 */
import { getNodeValue, parse as parseValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { ConfigParseError, EditCheckError, setEach, type FormatEditor, type ParseResult, type PathValue } from './types.js';
import { deepEqual, isPlainObject, removeMembers, spliceEdits, type Change, type RawStrings, type Span, type TreeAdapter } from './structural.js';
import { treeEditor, type Syntax } from './tree-editor.js';
import { detectEol, detectIndentUnit, indentOfLine, lineColumn, type TextEdit } from './text.js';

const PARSE_OPTIONS = { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true };

const end = (n: Node): number => n.offset + n.length;
const span = (n: Node): Span => ({ start: n.offset, end: end(n) });
const keyOf = (p: Node): string => String(p.children?.[0]?.value);
const valueOf = (p: Node): Node => p.children?.[1] as Node;

const adapter: TreeAdapter<Node> = {
  kind: (n) => (n.type === 'object' ? 'object' : n.type === 'array' ? 'array' : 'scalar'),
  value: (n) => getNodeValue(n),
  entries: (n) => (n.children ?? []).map((p) => [keyOf(p), valueOf(p)]),
  items: (n) => n.children ?? [],
};

/**
 * Passes over a whole text (value parses, syntax trees, scans) and the characters they covered: a
 * test checks that wiring many entries of a big file costs a few passes, not a few per entry.
 */
export const parseStats = { passes: 0, chars: 0 };
const note = (text: string): void => {
  parseStats.passes++;
  parseStats.chars += text.length;
};

/** What an edit of part of a file needs to know about the rest: setMany edits sub-documents. */
interface JsonContext {
  eol: string;
  unit: string;
  /** Whether the object holding the edited sub-document is written across lines. */
  rootMultiline: boolean;
}

/**
 * The plain value of a document: JSON.parse when the text is plain JSON (most files, and ten times
 * faster than a syntax tree on a big one), else jsonc-parser, which also says where it fails.
 */
function documentValue(text: string): unknown {
  note(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Comments, trailing commas, empty text, or an error to locate.
  }
  const errors: ParseError[] = [];
  const value: unknown = parseValue(text, errors, PARSE_OPTIONS);
  const first = errors[0];
  if (first) throw new ConfigParseError({ message: describe(printParseErrorCode(first.error)), ...lineColumn(text, first.offset) });
  return value;
}

function load(text: string): { root: Node | undefined; value: unknown } {
  note(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, PARSE_OPTIONS);
  const first = errors[0];
  if (first) {
    throw new ConfigParseError({ message: describe(printParseErrorCode(first.error)), ...lineColumn(text, first.offset) });
  }
  return { root, value: root ? getNodeValue(root) : undefined };
}

/** "CommaExpected" → "comma expected". */
function describe(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** Edits in the style of one file: its EOL, its indent unit, its separators. */
class JsonEdits {
  readonly #eol: string;
  readonly #unit: string;
  readonly #rootMultiline: boolean;
  /** How this text writes `key: value` and `a, b` on one line: minified files have no spaces. */
  readonly #inlineColon: string;
  readonly #inlineComma: string;
  constructor(readonly text: string, readonly raws: RawStrings, context?: JsonContext) {
    this.#eol = context?.eol ?? detectEol(text);
    this.#unit = context?.unit ?? detectIndentUnit(text);
    this.#rootMultiline = context?.rootMultiline ?? true;
    const minified = !/"[ \t]*:[ \t]+\S/.test(text) && /":\S/.test(text);
    this.#inlineColon = minified ? ':' : ': ';
    this.#inlineComma = minified && !/,[ \t\r\n]/.test(text) ? ',' : ', ';
  }

  for(change: Change<Node>): TextEdit[] {
    switch (change.op) {
      case 'replace': {
        const n = change.node;
        const inline = !this.#multiline(containerOf(n));
        return [{ offset: n.offset, length: n.length, content: this.#render(change.value, indentOfLine(this.text, n.offset), inline) }];
      }
      case 'splice': {
        const arr = change.node;
        const items = arr.children ?? [];
        const multiline = this.#multiline(arr);
        const indent = items[0] ? indentOfLine(this.text, items[0].offset) : indentOfLine(this.text, arr.offset) + this.#unit;
        const rendered = change.values.map((v) => this.#render(v, indent, !multiline));
        return spliceEdits(items.map(span), arr.offset + 1, change.start, change.deleteCount, rendered, this.#arraySep(arr));
      }
      case 'delete':
        return this.#deleteKeys(change.node, change.keys);
      case 'insert':
        return this.#insertKeys(change.node, change.entries);
    }
  }

  #deleteKeys(obj: Node, keys: string[]): TextEdit[] {
    const props = obj.children ?? [];
    const doomed = props.flatMap((p, i) => (keys.includes(keyOf(p)) ? [i] : []));
    return removeMembers(this.text, obj.offset + 1, end(obj) - 1, props.map(span), doomed);
  }

  #insertKeys(obj: Node, entries: Array<[string, unknown]>): TextEdit[] {
    const props = obj.children ?? [];
    const last = props[props.length - 1];
    if (last) {
      const multiline = this.#multiline(obj);
      const indent = multiline ? indentOfLine(this.text, last.offset) : '';
      const sep = multiline ? this.#eol + indent : this.#inlineSep(obj);
      const colon = this.#colon(last);
      const content = entries.map(([k, v]) => `,${sep}${JSON.stringify(k)}${colon}${this.#render(v, indent, !multiline)}`).join('');
      return [{ offset: end(last), length: 0, content }];
    }
    const open = obj.offset + 1;
    const pretty = this.text.slice(open, end(obj) - 1) === '' && this.#multiline(containerOf(obj));
    if (!pretty) {
      const content = entries.map(([k, v]) => `${JSON.stringify(k)}${this.#inlineColon}${this.#render(v, '', true)}`).join(this.#inlineComma);
      return [{ offset: open, length: 0, content }];
    }
    const base = indentOfLine(this.text, obj.offset);
    const indent = base + this.#unit;
    const body = entries.map(([k, v]) => `${indent}${JSON.stringify(k)}: ${this.#render(v, indent, false)}`).join(`,${this.#eol}`);
    return [{ offset: open, length: 0, content: `${this.#eol}${body}${this.#eol}${base}` }];
  }

  /** A value as JSON at `indent`; strings keep the spelling they had elsewhere in the entry. */
  #render(v: unknown, indent: string, inline: boolean): string {
    if (typeof v === 'string') return this.raws.get(v) ?? JSON.stringify(v);
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    const inner = indent + this.#unit;
    const nl = this.#eol;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const flat = v.every((x) => x === null || typeof x !== 'object');
      if (inline || flat) return `[${v.map((x) => this.#render(x, indent, true)).join(this.#inlineComma)}]`;
      return `[${nl}${v.map((x) => inner + this.#render(x, inner, false)).join(`,${nl}`)}${nl}${indent}]`;
    }
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    if (inline) return `{${entries.map(([k, x]) => `${JSON.stringify(k)}${this.#inlineColon}${this.#render(x, indent, true)}`).join(this.#inlineComma)}}`;
    return `{${nl}${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${this.#render(x, inner, false)}`).join(`,${nl}`)}${nl}${indent}}`;
  }

  /** Written across lines: a line break before its first child (or inside it, when empty). */
  #multiline(container: Node | undefined): boolean {
    if (!container) return this.#rootMultiline;
    const first = container.children?.[0];
    return this.text.slice(container.offset + 1, first ? first.offset : end(container)).includes('\n');
  }

  #arraySep(arr: Node): string {
    const items = arr.children ?? [];
    for (let i = 0; i + 1 < items.length; i++) {
      const between = this.text.slice(end(items[i] as Node), (items[i + 1] as Node).offset);
      if (/^\s*,\s*$/.test(between)) return between;
    }
    const first = items[0];
    if (first && this.text.slice(arr.offset + 1, first.offset).includes('\n')) {
      return `,${this.#eol}${indentOfLine(this.text, first.offset)}`;
    }
    return ', ';
  }

  /** The space after commas in a one-line object: copied from its last two properties. */
  #inlineSep(obj: Node): string {
    const props = obj.children ?? [];
    const lastTwo = props.slice(-2);
    const between = lastTwo.length === 2
      ? this.text.slice(end(lastTwo[0] as Node), (lastTwo[1] as Node).offset).replace(/^\s*,/, '')
      : this.text.slice(obj.offset + 1, (props[0] as Node).offset);
    return /^[ \t]*$/.test(between) ? between : ' ';
  }

  #colon(prop: Node): string {
    const key = prop.children?.[0];
    const value = prop.children?.[1];
    if (!key || !value) return ': ';
    const between = this.text.slice(end(key), value.offset);
    return /^[ \t]*:[ \t]*$/.test(between) ? between : ': ';
  }
}

/** The object or array that holds `n` (skipping the property node between an object and a value). */
function containerOf(n: Node): Node | undefined {
  const p = n.parent;
  return p?.type === 'property' ? p.parent : p;
}

const syntax: Syntax<Node, JsonContext> = {
  adapter,
  load,
  emptyDocument(text) {
    // Keep a comment-only file's comments above the new object.
    const eol = detectEol(text);
    if (text.trim() === '') return `{}${eol}`;
    return `${text}${text.endsWith('\n') ? '' : eol}{}${eol}`;
  },
  collectRaw(text, node, raws, preferred) {
    if (node.type === 'string') raws.add(String(node.value), text.slice(node.offset, end(node)), preferred);
    for (const c of node.children ?? []) this.collectRaw(text, c, raws, preferred);
  },
  edits(text, changes, raws, context) {
    const e = new JsonEdits(text, raws, context);
    return changes.flatMap((c) => e.for(c));
  },
};

const tree = treeEditor(syntax);

export const jsoncEditor: FormatEditor = {
  parse(text): ParseResult {
    try {
      return { value: documentValue(text) };
    } catch (e) {
      if (e instanceof ConfigParseError) return { error: e.failure };
      throw e;
    }
  },
  getIn(text, path) {
    let v = documentValue(text);
    for (const key of path) {
      if (!isPlainObject(v)) return undefined;
      v = v[key];
    }
    return v;
  },
  setIn: (text, path, value) => tree.setIn(text, path, value),
  setMany,
};

/**
 * Each change is made on the smallest object that holds it (the entry's container, usually): that
 * object's text, found by one scan of the file, is edited as a document of its own — parsed, diffed,
 * edited and checked there — and put back. The rest of the file is copied, never parsed into a tree.
 * Changes whose container is the document itself, or that overlap, go the ordinary way.
 */
function setMany(text: string, changes: ReadonlyArray<PathValue>, doc?: unknown): string {
  if (changes.length === 0) return text;
  const value = doc === undefined ? documentValue(text) : doc;
  const anchored = changes.map((c) => ({ change: c, anchor: anchorOf(value, c.path) }));
  if (!isPlainObject(value) || anchored.some((a) => a.anchor.length === 0)) return setEach(tree, text, changes);

  const groups = new Map<string, { anchor: string[]; changes: PathValue[] }>();
  for (const { change, anchor } of anchored) {
    const k = JSON.stringify(anchor);
    const g = groups.get(k) ?? groups.set(k, { anchor, changes: [] }).get(k)!;
    g.changes.push(change);
  }
  const found = locate(text, [...groups.values()].map((g) => g.anchor));
  const spans = [...groups.entries()].map(([k, g]) => ({ ...g, at: found.get(k) }));
  if (spans.some((s) => !s.at)) return setEach(tree, text, changes);
  spans.sort((a, b) => a.at!.start - b.at!.start);
  if (spans.some((s, i) => i > 0 && s.at!.start < spans[i - 1]!.at!.end)) return setEach(tree, text, changes);

  const eol = detectEol(text);
  const unit = detectIndentUnit(text);
  let out = '';
  let cursor = 0;
  for (const { anchor, changes: own, at } of spans) {
    const { start, end, parentMultiline } = at!;
    // The sub-document starts with its line's indentation, so that new lines are indented alike.
    const indent = indentOfLine(text, start);
    let sub = indent + text.slice(start, end);
    if (!deepEqual(tree.getIn(sub, []), valueAt(value, anchor))) return setEach(tree, text, changes);
    const context = { eol, unit, rootMultiline: parentMultiline };
    for (const c of own) sub = tree.setInWith(sub, c.path.slice(anchor.length), c.value, context);
    if (!sub.startsWith(indent)) throw new EditCheckError('internal: an edit left its object');
    out += text.slice(cursor, start) + sub.slice(indent.length);
    cursor = end;
  }
  return out + text.slice(cursor);
}

/** The longest prefix of the path to the entry's container that is an object in `doc`. */
function anchorOf(doc: unknown, path: readonly string[]): string[] {
  let v = doc;
  let n = 0;
  for (let i = 0; i < path.length - 1; i++) {
    const next = isPlainObject(v) ? v[path[i] as string] : undefined;
    if (!isPlainObject(next)) break;
    v = next;
    n = i + 1;
  }
  return path.slice(0, n);
}

function valueAt(doc: unknown, path: readonly string[]): unknown {
  let v = doc;
  for (const k of path) v = isPlainObject(v) ? v[k] : undefined;
  return v;
}

interface Found {
  start: number;
  end: number;
  parentMultiline: boolean;
}

interface Trie {
  id?: string;
  children: Map<string, Trie>;
}

/**
 * Where the values at `paths` are in a JSON(C) text that parses: one pass that descends only into the
 * keys on those paths and skips every other value by matching brackets (strings and comments
 * skipped whole). Keyed by JSON.stringify(path). A key given twice: the last one counts, as in parsing.
 */
function locate(text: string, paths: string[][]): Map<string, Found> {
  note(text);
  const root: Trie = { children: new Map() };
  for (const p of paths) {
    let t = root;
    for (const k of p) t = t.children.get(k) ?? t.children.set(k, { children: new Map() }).get(k)!;
    t.id = JSON.stringify(p);
  }
  const out = new Map<string, Found>();
  const start = skipSpace(text, 0);
  if (text.charCodeAt(start) === OPEN_BRACE) walkObject(text, start, root, out);
  return out;
}

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const QUOTE = 34;
const SLASH = 47;
const STAR = 42;
const INTERESTING = /["{}[\]\/]/g;

function skipSpace(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else if (c === SLASH && t.charCodeAt(i + 1) === SLASH) {
      const nl = t.indexOf('\n', i);
      i = nl < 0 ? t.length : nl;
    } else if (c === SLASH && t.charCodeAt(i + 1) === STAR) {
      const close = t.indexOf('*/', i + 2);
      if (close < 0) throw scanError();
      i = close + 2;
    } else return i;
  }
}

/** Just past the string that opens at `i`. */
function endOfString(t: string, i: number): number {
  for (let j = t.indexOf('"', i + 1); j >= 0; j = t.indexOf('"', j + 1)) {
    let backslashes = 0;
    while (t.charCodeAt(j - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return j + 1;
  }
  throw scanError();
}

/** Just past the value that starts at `i`. */
function endOfValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) return endOfString(t, i);
  if (c !== OPEN_BRACE && c !== 91) {
    const m = /[^\s,\]}\/]*/y;
    m.lastIndex = i;
    m.exec(t);
    return m.lastIndex;
  }
  let depth = 0;
  INTERESTING.lastIndex = i;
  for (let m = INTERESTING.exec(t); m; m = INTERESTING.exec(t)) {
    const at = m.index;
    switch (t.charCodeAt(at)) {
      case QUOTE:
        INTERESTING.lastIndex = endOfString(t, at);
        break;
      case SLASH:
        INTERESTING.lastIndex = skipSpace(t, at);
        if (INTERESTING.lastIndex === at) throw scanError();
        break;
      case OPEN_BRACE:
      case 91:
        depth++;
        break;
      default:
        if (--depth === 0) return at + 1;
    }
  }
  throw scanError();
}

/** Walks the object opening at `i`; returns just past it. */
function walkObject(t: string, i: number, trie: Trie, out: Map<string, Found>): number {
  let j = skipSpace(t, i + 1);
  const multiline = t.slice(i + 1, j).includes('\n');
  while (t.charCodeAt(j) !== CLOSE_BRACE) {
    if (t.charCodeAt(j) === 44) {
      j = skipSpace(t, j + 1);
      continue;
    }
    if (t.charCodeAt(j) !== QUOTE) throw scanError();
    const keyEnd = endOfString(t, j);
    const key = JSON.parse(t.slice(j, keyEnd)) as string;
    j = skipSpace(t, keyEnd);
    if (t.charCodeAt(j) !== 58) throw scanError();
    const valueStart = skipSpace(t, j + 1);
    const child = trie.children.get(key);
    const valueEnd = child && child.children.size > 0 && t.charCodeAt(valueStart) === OPEN_BRACE
      ? walkObject(t, valueStart, child, out)
      : endOfValue(t, valueStart);
    if (child?.id !== undefined) out.set(child.id, { start: valueStart, end: valueEnd, parentMultiline: multiline });
    j = skipSpace(t, valueEnd);
  }
  return j + 1;
}

function scanError(): Error {
  return new EditCheckError('internal: the JSON text could not be scanned');
}
