/**
 * YAML editing: the `yaml` package's Document API parses and locates nodes (with their source ranges);
 * the edits are ours. Not `doc.toString()`: even with matching settings it rewrites comment spacing
 * (`key: v   # note` becomes `key: v # note`) and normalises indentation across the whole file.
 * New pairs are written as whole lines in the file's indentation and sequence style (scalars quoted
 * by `yaml`'s rules, or spelled as they were elsewhere in the entry); a removal takes out exactly
 * those lines; sequences and flow collections are spliced in place.
 */
import YAML, { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YNode, type Pair } from 'yaml';
import { ConfigParseError, EditCheckError, setEach, type FormatEditor } from './types.js';
import { RawStrings, removeMembers, spliceEdits, type Change, type Span, type TreeAdapter } from './structural.js';
import { treeEditor, type Syntax } from './tree-editor.js';
import { detectEol, detectIndentUnit, lineStartOf, startsLine, type TextEdit } from './text.js';

type Ranged = YNode & { range: [number, number, number] };
interface Place {
  parent: YNode;
  pair?: Pair<YNode, YNode>;
}

/** Where each parsed node sits, and which document it belongs to (aliases resolve against it). */
const places = new WeakMap<YNode, Place>();
const documents = new WeakMap<YNode, Document.Parsed>();

function load(text: string): { root: YNode | undefined; value: unknown } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    throw new ConfigParseError({ message: err.message.split(' at line ')[0] ?? err.message, line: pos.line, column: pos.col });
  }
  index(doc, doc.contents as YNode | null);
  const root = (doc.contents as YNode | null) ?? undefined;
  return { root, value: doc.toJS({ maxAliasCount: 100 }) ?? undefined };
}

function index(doc: Document.Parsed, node: YNode | null): void {
  if (!node) return;
  documents.set(node, doc);
  if (isMap(node)) {
    for (const pair of node.items as Array<Pair<YNode, YNode>>) {
      if (pair.value) {
        places.set(pair.value, { parent: node, pair });
        index(doc, pair.value);
      }
    }
  } else if (isSeq(node)) {
    for (const item of node.items as YNode[]) {
      places.set(item, { parent: node });
      index(doc, item);
    }
  }
}

function keyText(pair: Pair<unknown, unknown>): string {
  if (!isScalar(pair.key)) throw new EditCheckError('a YAML mapping with a non-scalar key cannot be edited');
  return String(pair.key.value);
}

const adapter: TreeAdapter<YNode> = {
  kind: (n) => (isMap(n) ? 'object' : isSeq(n) ? 'array' : isScalar(n) ? 'scalar' : 'opaque'),
  value: (n) => (n as YNode & { toJS(doc: Document): unknown }).toJS(documents.get(n) as Document),
  entries: (n) =>
    isMap(n)
      ? (n.items as Array<Pair<unknown, YNode>>).map((p): [string, YNode] => [keyText(p), (p.value ?? new YAML.Scalar(null)) as YNode])
      : [],
  items: (n) => (isSeq(n) ? (n.items as YNode[]) : []),
};

const range = (n: YNode): [number, number, number] => {
  const r = (n as Ranged).range;
  if (!r) throw new EditCheckError('internal: a YAML node without a source range');
  return r;
};
const span = (n: YNode): Span => ({ start: range(n)[0], end: range(n)[1] });
const isFlow = (n: YNode): boolean => (isMap(n) || isSeq(n)) && n.flow === true;
const FLOW_UNSAFE = /[,[\]{}]/;

class YamlEdits {
  readonly #eol: string;
  readonly #unit: string;
  readonly #indentSeq: boolean;
  constructor(readonly text: string, readonly raws: RawStrings) {
    this.#eol = detectEol(text);
    const unit = detectIndentUnit(text);
    this.#unit = unit === '\t' ? '  ' : unit;
    this.#indentSeq = indentsSequences(text);
  }

  for(change: Change<YNode>): TextEdit[] {
    switch (change.op) {
      case 'replace':
        return this.#replace(change.node, change.value);
      case 'splice':
        return this.#splice(change.node, change.start, change.deleteCount, change.values);
      case 'delete':
        return this.#deleteKeys(change.node, change.keys);
      case 'insert':
        return this.#insertKeys(change.node, change.entries);
    }
  }

  #replace(node: YNode, value: unknown): TextEdit[] {
    if (isAlias(node)) throw new EditCheckError('the entry uses a YAML alias; edit it by hand');
    const place = places.get(node);
    const inFlow = place ? isFlow(place.parent) : false;
    const [start, valueEnd] = range(node);
    const isEmptyValue = isScalar(node) && node.value === null && start === valueEnd;
    if (typeof value === 'object' && value !== null && !inFlow && place?.pair && (isEmptyValue || !isFlow(node))) {
      // A block value (or `key:` with nothing): rewrite the whole pair as lines.
      const key = place.pair.key as YNode;
      const from = lineStartOf(this.text, range(key)[0]);
      if (!startsLine(this.text, range(key)[0])) throw new EditCheckError('a YAML mapping inside a sequence item cannot be edited');
      const indent = this.text.slice(from, range(key)[0]);
      return [{ offset: from, length: this.#pairEnd(place.pair) - from, content: this.pairLines(keyText(place.pair), value, indent) + this.#eol }];
    }
    return [{ offset: start, length: valueEnd - start, content: (isEmptyValue ? ' ' : '') + this.#inline(value, inFlow) }];
  }

  #splice(seq: YNode, start: number, deleteCount: number, values: unknown[]): TextEdit[] {
    if (!isSeq(seq)) throw new EditCheckError('internal: splice on a non-sequence');
    const items = seq.items as YNode[];
    const flow = isFlow(seq);
    const rendered = values.map((v) => this.#inline(v, flow));
    if (flow) return spliceEdits(items.map(span), range(seq)[0] + 1, start, deleteCount, rendered, this.#flowSep(items));
    const first = items[0];
    if (!first || items.length === deleteCount) throw new EditCheckError('a block sequence cannot be emptied in place');
    const dash = this.text.slice(lineStartOf(this.text, range(first)[0]), range(first)[0]);
    if (!/^[ \t]*-[ \t]+$/.test(dash)) throw new EditCheckError('a nested block sequence cannot be edited');
    return spliceEdits(items.map(span), range(first)[0], start, deleteCount, rendered, this.#eol + dash);
  }

  #deleteKeys(map: YNode, keys: string[]): TextEdit[] {
    if (!isMap(map)) throw new EditCheckError('internal: delete on a non-mapping');
    const pairs = map.items as Array<Pair<YNode, YNode>>;
    const doomed = pairs.flatMap((p, i) => (keys.includes(keyText(p)) ? [i] : []));
    if (isFlow(map)) {
      const open = range(map)[0];
      const close = this.text.lastIndexOf('}', range(map)[1]);
      return removeMembers(this.text, open + 1, close, pairs.map((p) => this.#pairSpan(p)), doomed);
    }
    if (doomed.length === pairs.length) return this.#emptyBlock(map);
    return doomed.map((i) => {
      const pair = pairs[i] as Pair<YNode, YNode>;
      const keyStart = range(pair.key)[0];
      if (!startsLine(this.text, keyStart)) throw new EditCheckError('a YAML mapping inside a sequence item cannot be edited');
      let from = lineStartOf(this.text, keyStart);
      const to = this.#pairEnd(pair);
      // The inverse of appending to a file without a final newline: the line break went in first.
      if (to === this.text.length && !this.text.endsWith('\n') && from > 0) from -= this.text.slice(0, from).endsWith('\r\n') ? 2 : 1;
      return { offset: from, length: to - from, content: '' };
    });
  }

  /**
   * A block mapping that loses every key (`envs:` whose only variable was omni-auth's token) becomes
   * `key: {}`: its lines after the key go, the empty value is written flow style.
   */
  #emptyBlock(map: YNode): TextEdit[] {
    const pair = places.get(map)?.pair;
    if (!pair) throw new EditCheckError('a block mapping cannot be emptied in place');
    const keyEnd = range(pair.key as YNode)[1];
    const colon = this.text.indexOf(':', keyEnd);
    if (colon < 0 || !/^[ \t]*$/.test(this.text.slice(keyEnd, colon))) throw new EditCheckError('a block mapping cannot be emptied in place');
    const end = this.#pairEnd(pair);
    const eol = this.text.slice(0, end).endsWith('\n') ? this.#eol : '';
    return [{ offset: colon + 1, length: end - colon - 1, content: ` {}${eol}` }];
  }

  #insertKeys(map: YNode, entries: Array<[string, unknown]>): TextEdit[] {
    if (!isMap(map)) throw new EditCheckError('internal: insert on a non-mapping');
    const pairs = map.items as Array<Pair<YNode, YNode>>;
    const last = pairs[pairs.length - 1];
    if (isFlow(map)) {
      const body = entries.map(([k, v]) => `${this.#inline(k, true)}: ${this.#inline(v, true)}`);
      if (!last) return [{ offset: range(map)[0] + 1, length: 0, content: body.join(', ') }];
      return [{ offset: this.#pairSpan(last).end, length: 0, content: body.map((b) => `, ${b}`).join('') }];
    }
    if (!last) throw new EditCheckError('internal: an empty block mapping');
    const keyStart = range(last.key)[0];
    if (!startsLine(this.text, keyStart)) throw new EditCheckError('a YAML mapping inside a sequence item cannot be edited');
    const indent = this.text.slice(lineStartOf(this.text, keyStart), keyStart);
    const at = this.#pairEnd(last);
    const lines = entries.map(([k, v]) => this.pairLines(k, v, indent));
    const content = at === this.text.length && !this.text.endsWith('\n')
      ? lines.map((l) => this.#eol + l).join('')
      : lines.map((l) => l + this.#eol).join('');
    return [{ offset: at, length: 0, content }];
  }

  /**
   * `key: value` as block YAML lines at `indent`, in the file's indentation and sequence style; no
   * final EOL. Scalars go through #inline, so a moved string keeps its spelling (`''` stays `''`).
   */
  pairLines(key: string, value: unknown, indent = ''): string {
    const k = this.#key(key);
    const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';
    if (isScalar(value)) return `${indent}${k}: ${this.#inline(value, false)}`;
    if (Array.isArray(value)) {
      if (value.length === 0) return `${indent}${k}: []`;
      if (value.every(isScalar)) {
        const dash = `${indent}${this.#indentSeq ? this.#unit : ''}- `;
        return [`${indent}${k}:`, ...value.map((v) => dash + this.#inline(v, false))].join(this.#eol);
      }
    } else {
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return `${indent}${k}: {}`;
      return [`${indent}${k}:`, ...entries.map(([ck, cv]) => this.pairLines(ck, cv, indent + this.#unit))].join(this.#eol);
    }
    const out = YAML.stringify({ [key]: value }, { indent: this.#unit.length, indentSeq: this.#indentSeq, lineWidth: 0 });
    return out.replace(/\n$/, '').split('\n').map((l) => indent + l).join(this.#eol);
  }

  #key(key: string): string {
    const plain = YAML.stringify(key, { lineWidth: 0 }).replace(/\n$/, '');
    return plain.includes('\n') ? JSON.stringify(key) : plain;
  }

  /** A value on one line: scalars keep their spelling from elsewhere in the entry when it fits. */
  #inline(v: unknown, flow: boolean): string {
    if (typeof v === 'string') {
      const raw = this.raws.get(v);
      if (raw !== undefined && !raw.includes('\n') && !/^[|>]/.test(raw) && !(flow && !/^["']/.test(raw) && FLOW_UNSAFE.test(raw))) return raw;
      const plain = YAML.stringify(v, { lineWidth: 0 }).replace(/\n$/, '');
      return plain.includes('\n') || (flow && FLOW_UNSAFE.test(plain)) ? JSON.stringify(v) : plain;
    }
    if (v === null || typeof v !== 'object') return YAML.stringify(v).replace(/\n$/, '');
    // Collections in a one-line position: JSON is valid flow YAML.
    return JSON.stringify(v);
  }

  #flowSep(items: YNode[]): string {
    for (let i = 0; i + 1 < items.length; i++) {
      const between = this.text.slice(range(items[i] as YNode)[1], range(items[i + 1] as YNode)[0]);
      if (/^\s*,\s*$/.test(between)) return between;
    }
    return ', ';
  }

  #pairSpan(pair: Pair<YNode, YNode>): Span {
    return { start: range(pair.key)[0], end: pair.value ? range(pair.value)[1] : range(pair.key)[1] };
  }

  /** Just past the last line of a pair (its line break included). */
  #pairEnd(pair: Pair<YNode, YNode>): number {
    const e = this.#pairSpan(pair).end;
    if (e > 0 && this.text[e - 1] === '\n') return e;
    const nl = this.text.indexOf('\n', e);
    return nl < 0 ? this.text.length : nl + 1;
  }
}

/** Whether block sequences sit deeper than their key (`key:\n  - a`) or level with it (`key:\n- a`). */
function indentsSequences(text: string): boolean {
  const m = /^([ \t]*)[^\s#-][^\n]*:[ \t]*\r?\n([ \t]*)- /m.exec(text);
  return m ? (m[2] ?? '').length > (m[1] ?? '').length : false;
}

const syntax: Syntax<YNode> = {
  adapter,
  load,
  emptyDocument(text, key, value) {
    const eol = detectEol(text);
    const sep = text === '' || text.endsWith('\n') ? '' : eol;
    return `${text}${sep}${new YamlEdits(text, new RawStrings()).pairLines(key, value)}${eol}`;
  },
  collectRaw(text, node, raws, preferred) {
    if (isScalar(node) && typeof node.value === 'string') {
      const [s, e] = range(node);
      raws.add(node.value, text.slice(s, e), preferred);
    }
    if (isMap(node)) for (const p of node.items as Array<Pair<YNode, YNode>>) if (p.value) this.collectRaw(text, p.value, raws, preferred);
    if (isSeq(node)) for (const i of node.items as YNode[]) this.collectRaw(text, i, raws, preferred);
  },
  edits(text, changes, raws) {
    const e = new YamlEdits(text, raws);
    return changes.flatMap((c) => e.for(c));
  },
};

const tree = treeEditor(syntax);
export const yamlEditor: FormatEditor = { ...tree, setMany: (text, changes) => setEach(tree, text, changes) };
