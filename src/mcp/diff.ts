/**
 * A unified diff (`diff -u`) of two texts, for `--dry-run`. omni-auth's edits are small and local,
 * so the common head and tail are cut first and only the middle goes through an LCS table; past
 * MAX_CELLS the middle is shown as removed then added — still a correct diff, only not minimal.
 */

interface Op {
  kind: ' ' | '-' | '+';
  /** The line with its terminator ("\n", "\r\n", or none for a last line without one). */
  line: string;
}

const MAX_CELLS = 4_000_000;

export interface DiffLabels {
  /** Shown after `---`; `/dev/null` for a file that does not exist yet. */
  from: string;
  to: string;
}

/** The diff, or '' when the texts are equal. `undefined` stands for a file that does not exist. */
export function unifiedDiff(before: string | undefined, after: string | undefined, labels: DiffLabels, context = 3): string {
  if (before === after) return '';
  const ops = diffLines(lines(before ?? ''), lines(after ?? ''));
  const hunks = hunkRanges(ops, context);
  if (hunks.length === 0) return '';
  const out = [`--- ${before === undefined ? '/dev/null' : labels.from}`, `+++ ${after === undefined ? '/dev/null' : labels.to}`];
  // Line numbers before each op, in the old and the new text.
  const posA: number[] = [];
  const posB: number[] = [];
  let a = 0;
  let b = 0;
  for (const op of ops) {
    posA.push(a);
    posB.push(b);
    if (op.kind !== '+') a++;
    if (op.kind !== '-') b++;
  }
  for (const [start, end] of hunks) {
    const slice = ops.slice(start, end);
    const lenA = slice.filter((o) => o.kind !== '+').length;
    const lenB = slice.filter((o) => o.kind !== '-').length;
    // diff -u numbers an empty side by the line before it.
    const startA = (posA[start] ?? 0) + (lenA > 0 ? 1 : 0);
    const startB = (posB[start] ?? 0) + (lenB > 0 ? 1 : 0);
    out.push(`@@ -${startA},${lenA} +${startB},${lenB} @@`);
    for (const op of slice) {
      out.push(`${op.kind}${op.line.replace(/\r?\n$/, '')}`);
      if (!op.line.endsWith('\n')) out.push('\\ No newline at end of file');
    }
  }
  return `${out.join('\n')}\n`;
}

function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function diffLines(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const same = (line: string): Op => ({ kind: ' ', line });
  return [
    ...a.slice(0, head).map(same),
    ...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail)),
    ...a.slice(a.length - tail).map(same),
  ];
}

function middle(a: string[], b: string[]): Op[] {
  const removed = a.map((line): Op => ({ kind: '-', line }));
  const added = b.map((line): Op => ({ kind: '+', line }));
  if (a.length === 0 || b.length === 0 || a.length * b.length > MAX_CELLS) return [...removed, ...added];
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    const row = lcs[i]!;
    const below = lcs[i + 1]!;
    for (let j = b.length - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? below[j + 1]! + 1 : Math.max(below[j]!, row[j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++]! });
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      ops.push({ kind: '-', line: a[i++]! });
    } else {
      ops.push({ kind: '+', line: b[j++]! });
    }
  }
  while (i < a.length) ops.push({ kind: '-', line: a[i++]! });
  while (j < b.length) ops.push({ kind: '+', line: b[j++]! });
  return ops;
}

/** [start, end) op ranges of the hunks: each change with `context` lines around, close ones merged. */
function hunkRanges(ops: Op[], context: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  ops.forEach((op, k) => {
    if (op.kind === ' ') return;
    const start = Math.max(0, k - context);
    const end = Math.min(ops.length, k + context + 1);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1]) last[1] = end;
    else ranges.push([start, end]);
  });
  return ranges;
}
