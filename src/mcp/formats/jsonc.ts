/**
 * JSON and JSONC (comments, trailing commas) editing with `jsonc-parser`'s tree and our own minimal
 * edits. Not `modify()` with formatting options: it re-formats every line an insertion or removal
 * touches, so a one-line object `{ "X": "1" }` comes back spread over four lines, a minified file is
 * re-indented whole, and an unwire cannot give back the original bytes. Here an insertion copies the
 * separators, indentation and line ending the file already uses, and a removal takes out exactly what
 * an insertion would have put in.
 */
import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { ConfigParseError } from './types.js';
import { removeMembers, spliceEdits, type Change, type RawStrings, type Span, type TreeAdapter } from './structural.js';
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

function load(text: string): { root: Node | undefined; value: unknown } {
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
  constructor(readonly text: string, readonly raws: RawStrings) {
    this.#eol = detectEol(text);
    this.#unit = detectIndentUnit(text);
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
      const content = entries.map(([k, v]) => `${JSON.stringify(k)}: ${this.#render(v, '', true)}`).join(', ');
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
      if (inline || flat) return `[${v.map((x) => this.#render(x, indent, true)).join(', ')}]`;
      return `[${nl}${v.map((x) => inner + this.#render(x, inner, false)).join(`,${nl}`)}${nl}${indent}]`;
    }
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    if (inline) return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${this.#render(x, indent, true)}`).join(', ')}}`;
    return `{${nl}${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${this.#render(x, inner, false)}`).join(`,${nl}`)}${nl}${indent}}`;
  }

  /** Written across lines: a line break before its first child (or inside it, when empty). */
  #multiline(container: Node | undefined): boolean {
    if (!container) return true;
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

const syntax: Syntax<Node> = {
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
  edits(text, changes, raws) {
    const e = new JsonEdits(text, raws);
    return changes.flatMap((c) => e.for(c));
  },
};

export const jsoncEditor = treeEditor(syntax);
