/**
 * The edit loop shared by the JSON(C) and YAML editors: find the node at a path, diff it against the
 * wanted value, turn the changes into text edits, re-parse, repeat until nothing differs — then check
 * that the new text parses to exactly the intended document before handing it back.
 */
import { ConfigParseError, ConfigShapeError, EditCheckError, type FormatEditor, type ParseResult } from './types.js';
import { deepEqual, diffNode, firstPass, nest, RawStrings, removedBy, withValueAt, type Change, type TreeAdapter } from './structural.js';
import { applyTextEdits, type TextEdit } from './text.js';

export interface Syntax<N, C = undefined> {
  adapter: TreeAdapter<N>;
  /** Parses; `root` is undefined for an empty document. Throws ConfigParseError. */
  load(text: string): { root: N | undefined; value: unknown };
  /**
   * The text to go on from when the document is empty and `key: value` must go in: JSON starts an
   * object (the next pass inserts into it); YAML can write the pair itself.
   */
  emptyDocument(text: string, key: string, value: unknown): string;
  /** Adds the raw spelling of every string scalar under `node`. */
  collectRaw(text: string, node: N, raws: RawStrings, preferred?: boolean): void;
  /** `context`: what the caller knows about the text around it (setInWith). */
  edits(text: string, changes: Change<N>[], raws: RawStrings, context?: C): TextEdit[];
}

export interface TreeEditor<C> extends Omit<FormatEditor, 'setMany'> {
  /** setIn with what the syntax needs to know about the text around `text` (a part of a bigger one). */
  setInWith(text: string, path: readonly string[], value: unknown, context: C | undefined): string;
}

const MAX_PASSES = 4;

export function treeEditor<N, C = undefined>(syntax: Syntax<N, C>): TreeEditor<C> {
  const parse = (text: string): ParseResult => {
    try {
      return { value: syntax.load(text).value };
    } catch (e) {
      if (e instanceof ConfigParseError) return { error: e.failure };
      throw e;
    }
  };
  const setInWith = (text: string, path: readonly string[], value: unknown, context: C | undefined): string => {
    if (path.length === 0) throw new Error('internal: setIn needs a path');
    // Each pass parses once: the parse that plans a pass also checks the one before it.
    let loaded = syntax.load(text);
    const expected = withValueAt(loaded.value, path, value);
    // Collected from every pass, first spelling kept: a string moved by an insertion in a later pass
    // keeps the spelling it had before an earlier pass replaced it.
    const raws = new RawStrings();
    let current = text;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const changes = plan(syntax, current, loaded.root, path, value, raws);
      if (!changes) {
        if (value === undefined) return current;
        current = syntax.emptyDocument(current, path[0] as string, nest(path.slice(1), value));
      } else {
        if (changes.changes.length === 0) break;
        current = applyTextEdits(current, syntax.edits(current, firstPass(changes.changes), changes.raws, context));
      }
      try {
        loaded = syntax.load(current);
      } catch (e) {
        throw new EditCheckError('internal: the edited text does not parse', { cause: e });
      }
    }
    if (!deepEqual(loaded.value, expected)) throw new EditCheckError('internal: the edited text does not hold the intended value');
    return current;
  };
  return {
    parse,
    getIn(text, path) {
      let v = syntax.load(text).value;
      for (const key of path) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
        v = (v as Record<string, unknown>)[key];
      }
      return v;
    },
    setIn: (text, path, value) => setInWith(text, path, value, undefined),
    setInWith,
  };
}

/** The changes that bring `path` to `value`; undefined when the document is empty. */
function plan<N, C>(syntax: Syntax<N, C>, text: string, root: N | undefined, path: readonly string[], value: unknown, raws: RawStrings):
  { changes: Change<N>[]; raws: RawStrings } | undefined {
  const { adapter } = syntax;
  if (root === undefined) return undefined;
  let node = root;
  let parent: N | undefined;
  for (let i = 0; i < path.length; i++) {
    const kind = adapter.kind(node);
    if (kind === 'scalar' && adapter.value(node) === null && value !== undefined) {
      // `"mcpServers": null` (or a bare `extensions:` in YAML) counts as an empty object.
      return { changes: [{ op: 'replace', node, value: nest(path.slice(i), value) }], raws };
    }
    if (kind !== 'object') throw new ConfigShapeError(path.slice(0, i), 'an object');
    const key = path[i] as string;
    const child = adapter.entries(node).findLast(([k]) => k === key)?.[1];
    if (child === undefined) {
      if (value === undefined) return { changes: [], raws };
      return { changes: [{ op: 'insert', node, entries: [[key, nest(path.slice(i + 1), value)]] }], raws };
    }
    parent = node;
    node = child;
  }
  if (value === undefined) {
    return { changes: [{ op: 'delete', node: parent as N, keys: [path[path.length - 1] as string] }], raws };
  }
  const changes = diffNode(adapter, node, value);
  for (const c of changes) for (const n of removedBy(adapter, c)) syntax.collectRaw(text, n, raws, true);
  syntax.collectRaw(text, node, raws);
  return { changes, raws };
}
