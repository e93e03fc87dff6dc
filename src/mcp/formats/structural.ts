/**
 * The format-independent half of "change only what differs": compares a syntax tree with the value it
 * should hold and lists the smallest changes (replace a value, splice an array, delete or insert keys).
 * Each editor turns those changes into text edits in its own syntax. Arrays are compared by common
 * prefix and suffix, so wiring (prepend to `args`) and unwiring (drop that prefix) are single splices
 * whose text edits are exact inverses of each other.
 */
import type { TextEdit } from './text.js';

export type NodeKind = 'object' | 'array' | 'scalar' | 'opaque';

/** How a syntax tree is seen by the diff. `value` is the plain JS value the node stands for. */
export interface TreeAdapter<N> {
  kind(node: N): NodeKind;
  value(node: N): unknown;
  entries(node: N): Array<[string, N]>;
  items(node: N): N[];
}

export type Change<N> =
  | { op: 'replace'; node: N; value: unknown }
  | { op: 'splice'; node: N; start: number; deleteCount: number; values: unknown[] }
  | { op: 'delete'; node: N; keys: string[] }
  | { op: 'insert'; node: N; entries: Array<[string, unknown]> };

export function diffNode<N>(adapter: TreeAdapter<N>, node: N, next: unknown, out: Change<N>[] = []): Change<N>[] {
  const kind = adapter.kind(node);
  if (kind === 'object' && isPlainObject(next)) {
    const entries = adapter.entries(node);
    const present = new Set(entries.map(([k]) => k));
    const keys = entries.filter(([k]) => next[k] === undefined).map(([k]) => k);
    for (const [k, child] of entries) if (next[k] !== undefined) diffNode(adapter, child, next[k], out);
    const inserted = Object.entries(next).filter(([k, v]) => v !== undefined && !present.has(k));
    if (keys.length > 0) out.push({ op: 'delete', node, keys: [...new Set(keys)] });
    if (inserted.length > 0) out.push({ op: 'insert', node, entries: inserted });
    return out;
  }
  if (kind === 'array' && Array.isArray(next)) {
    const items = adapter.items(node);
    let head = 0;
    while (head < items.length && head < next.length && deepEqual(adapter.value(items[head] as N), next[head])) head++;
    let tail = 0;
    while (
      tail < items.length - head &&
      tail < next.length - head &&
      deepEqual(adapter.value(items[items.length - 1 - tail] as N), next[next.length - 1 - tail])
    ) tail++;
    const deleteCount = items.length - head - tail;
    const values = next.slice(head, next.length - tail);
    if (deleteCount > 0 || values.length > 0) out.push({ op: 'splice', node, start: head, deleteCount, values });
    return out;
  }
  if (!deepEqual(adapter.value(node), next)) out.push({ op: 'replace', node, value: next });
  return out;
}

/**
 * Insertions go last: an object that loses and gains keys would otherwise get edits at the same
 * offset. Callers apply the other changes first, re-parse, then diff again.
 */
export function firstPass<N>(changes: Change<N>[]): Change<N>[] {
  const others = changes.filter((c) => c.op !== 'insert');
  return others.length > 0 ? others : changes;
}

/** A node's extent in the text: [start, end). */
export interface Span {
  start: number;
  end: number;
}

/**
 * Edits for splicing a sequence whose items are separated by `sep` (", " or ",\n  " or "\n  - ").
 * `openEnd` is where the first item goes when the sequence is empty. Inserting before item i puts
 * each new item followed by `sep` at the start of item i; deleting items i..j removes from the start
 * of i to the start of j+1 (or, at the end, from the end of i-1): the two are exact inverses.
 */
export function spliceEdits(items: Span[], openEnd: number, start: number, deleteCount: number, rendered: string[], sep: string): TextEdit[] {
  const end = start + deleteCount;
  const last = items.length - 1;
  if (deleteCount === 0) {
    if (rendered.length === 0) return [];
    if (items.length === 0) return [{ offset: openEnd, length: 0, content: rendered.join(sep) }];
    const at = items[start];
    if (at) return [{ offset: at.start, length: 0, content: rendered.map((r) => r + sep).join('') }];
    const tail = items[last] as Span;
    return [{ offset: tail.end, length: 0, content: rendered.map((r) => sep + r).join('') }];
  }
  const first = items[start] as Span;
  if (rendered.length > 0) {
    const lastDeleted = items[end - 1] as Span;
    return [{ offset: first.start, length: lastDeleted.end - first.start, content: rendered.join(sep) }];
  }
  const next = items[end];
  if (next) return [{ offset: first.start, length: next.start - first.start, content: '' }];
  const before = items[start - 1];
  const lastSpan = items[last] as Span;
  if (before) return [{ offset: before.end, length: lastSpan.end - before.end, content: '' }];
  return [{ offset: first.start, length: lastSpan.end - first.start, content: '' }];
}

/**
 * Edits that remove members (properties or items) from a bracketed collection whose first member
 * starts after `open` and whose closing bracket is at `close`. A run of members is removed with the
 * separator after it, or — at the end — with the separator before it; removing every member also takes
 * a trailing comma, and a collection written across lines around its members becomes empty brackets
 * again (the inverse of inserting into empty brackets on a multi-line object).
 */
export function removeMembers(text: string, open: number, close: number, members: Span[], doomed: number[]): TextEdit[] {
  return runsOf(doomed).map(([i, j]): TextEdit => {
    const first = members[i] as Span;
    const last = members[j] as Span;
    const after = members[j + 1];
    if (after) return { offset: first.start, length: after.start - first.start, content: '' };
    const before = members[i - 1];
    if (before) return { offset: before.end, length: last.end - before.end, content: '' };
    let stop = last.end;
    const comma = /^\s*,/.exec(text.slice(stop, close));
    if (comma) stop += comma[0].length;
    const lead = text.slice(open, first.start);
    if (/^\s*$/.test(lead) && lead.includes('\n') && /^\s*$/.test(text.slice(stop, close))) {
      return { offset: open, length: close - open, content: '' };
    }
    return { offset: first.start, length: stop - first.start, content: '' };
  });
}

/** Groups sorted indices into runs of consecutive ones: [1,2,4] → [[1,2],[4,4]]. */
export function runsOf(indices: number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const i of [...indices].sort((a, b) => a - b)) {
    const run = runs[runs.length - 1];
    if (run && run[1] === i - 1) run[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}

/**
 * The raw source text of string scalars, so a value moved elsewhere keeps its spelling. A value can
 * be spelled two ways in one entry (`''` and `""`); the spelling of a node the edit replaces or
 * removes is preferred — that is the one being moved (the command into `args` on wire, back out on
 * unwire). Otherwise the first spelling seen wins.
 */
export class RawStrings {
  readonly #byValue = new Map<string, { raw: string; preferred: boolean }>();
  add(value: string, raw: string, preferred = false): void {
    const had = this.#byValue.get(value);
    if (!had || (preferred && !had.preferred)) this.#byValue.set(value, { raw, preferred });
  }
  get(value: string): string | undefined {
    return this.#byValue.get(value)?.raw;
  }
}

/** The nodes a change replaces or removes: their spellings are the ones to keep (see RawStrings). */
export function removedBy<N>(adapter: TreeAdapter<N>, change: Change<N>): N[] {
  switch (change.op) {
    case 'replace':
      return [change.node];
    case 'splice':
      return adapter.items(change.node).slice(change.start, change.start + change.deleteCount);
    case 'delete':
      return adapter.entries(change.node).filter(([k]) => change.keys.includes(k)).map(([, n]) => n);
    case 'insert':
      return [];
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.toISOString() === b.toISOString() && String(a) === String(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A copy of `doc` with `value` at `path` (undefined deletes), creating objects on the way. */
export function withValueAt(doc: unknown, path: readonly string[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (value === undefined && !(isPlainObject(doc) && Object.hasOwn(doc, head))) return doc;
  const base: Record<string, unknown> = isPlainObject(doc) ? { ...doc } : {};
  const next = withValueAt(base[head], rest, value);
  if (next === undefined) delete base[head];
  else base[head] = next;
  return base;
}

/** `{a: {b: value}}` for path [a, b]. */
export function nest(path: readonly string[], value: unknown): unknown {
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value);
}
