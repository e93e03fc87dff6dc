/** The unified diff `--dry-run` prints: the format of `diff -u`, and applying it gives the new text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/mcp/diff.js';

const labels = { from: 'a.json', to: 'a.json' };

/** Applies a unified diff made by unifiedDiff to `before` (a strict reader: any mismatch throws). */
function applyDiff(before: string, diff: string): string {
  if (diff === '') return before;
  const old = before.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const lines = diff.split('\n').slice(2, -1);
  const out: string[] = [];
  let at = 0;
  let last: 'old' | 'new' | undefined;
  const noEol = { old: false, new: false };
  for (const line of lines) {
    const hunk = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(line);
    if (hunk) {
      const start = Number(hunk[2]) === 0 ? Number(hunk[1]) : Number(hunk[1]) - 1;
      while (at < start) out.push(old[at++]!);
      continue;
    }
    if (line === '\\ No newline at end of file') {
      if (last === 'old') noEol.old = true;
      else if (last === 'new') noEol.new = true;
      else noEol.old = noEol.new = true;
      continue;
    }
    const kind = line[0];
    const text = line.slice(1);
    if (kind === ' ' || kind === '-') {
      const want = old[at++];
      if (want?.replace(/\n$/, '') !== text) throw new Error(`context mismatch at ${at}: ${JSON.stringify(want)} vs ${JSON.stringify(text)}`);
      if (kind === ' ') out.push(want);
      last = kind === ' ' ? undefined : 'old';
    } else if (kind === '+') {
      out.push(`${text}\n`);
      last = 'new';
    } else {
      throw new Error(`bad line ${JSON.stringify(line)}`);
    }
  }
  while (at < old.length) out.push(old[at++]!);
  let result = out.join('');
  if (noEol.new && result.endsWith('\n')) result = result.slice(0, -1);
  return result;
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', labels)).toBe('');
  });

  it('shows a change with three lines of context, numbered like diff -u', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((l) => `${l}\n`).join('');
    const after = before.replace('5\n', 'five\n');
    expect(unifiedDiff(before, after, labels)).toBe(
      ['--- a.json', '+++ a.json', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join('\n'),
    );
  });

  it('merges changes less than seven lines apart into one hunk, and splits those further apart', () => {
    const before = Array.from({ length: 30 }, (_, i) => `${i}\n`).join('');
    const near = before.replace('5\n', 'x\n').replace('11\n', 'y\n');
    expect(unifiedDiff(before, near, labels).match(/^@@/gm)).toHaveLength(1);
    const far = before.replace('5\n', 'x\n').replace('20\n', 'y\n');
    expect(unifiedDiff(before, far, labels).match(/^@@ .*/gm)).toEqual(['@@ -3,7 +3,7 @@', '@@ -18,7 +18,7 @@']);
  });

  it('shows a new file against /dev/null', () => {
    expect(unifiedDiff(undefined, '{\n}\n', labels)).toBe('--- /dev/null\n+++ a.json\n@@ -0,0 +1,2 @@\n+{\n+}\n');
  });

  it('marks a last line without a newline', () => {
    expect(unifiedDiff('{"a":1}', '{"a":2}', labels)).toBe(
      '--- a.json\n+++ a.json\n@@ -1,1 +1,1 @@\n-{"a":1}\n\\ No newline at end of file\n+{"a":2}\n\\ No newline at end of file\n',
    );
  });

  it('shows CRLF lines without their carriage return', () => {
    expect(unifiedDiff('a\r\nb\r\n', 'a\r\nc\r\n', labels)).toBe('--- a.json\n+++ a.json\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n');
  });

  it('applied to the old text gives the new one (any texts)', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', '{', '}', ''), { maxLength: 40 }).chain((lines) =>
      fc.boolean().map((eol) => (lines.length === 0 ? '' : lines.join('\n') + (eol ? '\n' : ''))));
    fc.assert(fc.property(text, text, (before, after) => {
      expect(applyDiff(before, unifiedDiff(before, after, labels))).toBe(after);
    }), { numRuns: 500 });
  });
});
