/**
 * What every config-file editor offers. Editors work on text and return text; they never see a file
 * name (the caller adds it to errors) and never re-serialise a document: every byte outside the
 * changed value is kept, comments and line endings included.
 */

export interface ParseFailure {
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export type ParseResult = { value: unknown } | { error: ParseFailure };

export interface FormatEditor {
  /** The whole document as plain JS values; empty text is an empty document (undefined). */
  parse(text: string): ParseResult;
  /** The value at `path`, or undefined. Throws ConfigParseError when the text does not parse. */
  getIn(text: string, path: readonly string[]): unknown;
  /**
   * The text with `value` at `path` (undefined deletes it), changed as little as possible. Missing
   * objects on the way are created. Throws ConfigParseError, ConfigShapeError, or EditCheckError.
   */
  setIn(text: string, path: readonly string[], value: unknown): string;
  /**
   * Several setIn at once, in order; `doc` is the text's parsed value when the caller has it. The
   * JSON editor makes it cost one scan of the text, however many entries change (a 5 MB
   * ~/.claude.json with hundreds of projects); the others apply the changes one after another.
   */
  setMany(text: string, changes: ReadonlyArray<PathValue>, doc?: unknown): string;
}

export interface PathValue {
  path: readonly string[];
  /** undefined deletes. */
  value: unknown;
}

/** setMany for editors without a faster way: one setIn after another. */
export function setEach(editor: Pick<FormatEditor, 'setIn'>, text: string, changes: ReadonlyArray<PathValue>): string {
  return changes.reduce((t, c) => editor.setIn(t, c.path, c.value), text);
}

/** The text does not parse: nothing may be written. */
export class ConfigParseError extends Error {
  override readonly name = 'ConfigParseError';
  constructor(readonly failure: ParseFailure) {
    super(`${failure.message} at line ${failure.line}, column ${failure.column}`);
  }
}

/** A value on the way to the edited path has a type the client would not accept either. */
export class ConfigShapeError extends Error {
  override readonly name = 'ConfigShapeError';
  constructor(readonly path: readonly string[], expected: string) {
    super(`"${path.join('.') || '(document root)'}" is not ${expected}`);
  }
}

/**
 * The edited text did not parse back to the intended value: a bug or a layout the editor does not
 * handle. Raised instead of writing, so a file is never damaged. Carries no file content.
 */
export class EditCheckError extends Error {
  override readonly name = 'EditCheckError';
}

export function parseOrThrow(editor: Pick<FormatEditor, 'parse'>, text: string): unknown {
  const r = editor.parse(text);
  if ('error' in r) throw new ConfigParseError(r.error);
  return r.value;
}
