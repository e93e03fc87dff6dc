/**
 * Text-level helpers shared by the format editors: offsets ↔ line/column, the file's own EOL and
 * indentation, and applying a set of non-overlapping edits. The editors never re-serialise a file;
 * they compute small edits and apply them here, so every byte outside an edit stays as it was.
 */

/** Replace `length` characters at `offset` with `content`. */
export interface TextEdit {
  offset: number;
  length: number;
  content: string;
}

/** Applies edits computed against `text`. Overlapping edits are a bug in the caller: refuse them. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.offset - b.offset || a.length - b.length);
  let out = '';
  let cursor = 0;
  for (const e of sorted) {
    if (e.offset < cursor) throw new Error(`internal: overlapping edits at offset ${e.offset}`);
    out += text.slice(cursor, e.offset) + e.content;
    cursor = e.offset + e.length;
  }
  return out + text.slice(cursor);
}

/** 1-based line and column of a UTF-16 offset, as editors show them. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The file's line ending: CRLF when most of its line breaks are CRLF. New files get LF. */
export function detectEol(text: string): '\n' | '\r\n' {
  let lf = 0;
  let crlf = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    lf++;
    if (i > 0 && text.charCodeAt(i - 1) === 13) crlf++;
  }
  return crlf > 0 && crlf >= lf - crlf ? '\r\n' : '\n';
}

/** The indentation unit: a tab if lines are tab-indented, else the smallest space indent (default 2). */
export function detectIndentUnit(text: string): string {
  let min = Infinity;
  for (let start = 0; start <= text.length; ) {
    let i = start;
    while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
    const c = text.charCodeAt(i);
    // An indented line with something on it (not only whitespace up to its end).
    if (i > start && i < text.length && c !== 10 && c !== 13) {
      if (text.charCodeAt(start) === 9) return '\t';
      min = Math.min(min, i - start);
    }
    const nl = text.indexOf('\n', i);
    if (nl < 0) break;
    start = nl + 1;
  }
  return Number.isFinite(min) && min <= 8 ? ' '.repeat(min) : '  ';
}

export function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The leading whitespace of the line holding `offset`. */
export function indentOfLine(text: string, offset: number): string {
  const start = lineStartOf(text, offset);
  return /^[ \t]*/.exec(text.slice(start))?.[0] ?? '';
}

/** True when only spaces/tabs stand between the line start and `offset`. */
export function startsLine(text: string, offset: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStartOf(text, offset), offset));
}

/** Joins text with the file's EOL, for renderers that build multi-line values with "\n". */
export function withEol(s: string, eol: string): string {
  return eol === '\n' ? s : s.replace(/\r?\n/g, eol);
}

export const BOM = '\uFEFF';
