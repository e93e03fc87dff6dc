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

// --- secrets in a diff ----------------------------------------------------------------------

/**
 * A diff of a user's config shows the user's own secrets (`"GITHUB_TOKEN": "ghp_…"`, `"--api-key",
 * "sk_live_…"`, `--token=…`, `Authorization: Bearer …`, `https://u:pw@host`), on removed, added and
 * context lines alike: each line is split into keys and values (JSON/JSONC, TOML and YAML, flow and
 * block style) and a value is masked when
 * - its key names a secret (`API_KEY`, `password`, `Authorization`, …), or
 * - it follows a flag naming one (`"--api-key", "sk_…"` — also across lines of a multi-line array), or
 * - it embeds one: `--token=…`, `GITHUB_TOKEN=…`, `Bearer …`, a URL's password or `?api_key=…`, or
 * - it looks like a known kind of secret (JWT, `sk_live_…`, `ghp_…`, `xoxb-…`, `AKIA…`, …).
 * References that are not secrets themselves (`${input:pat}`, `${GITHUB_TOKEN}`, `$TOKEN`) stay visible.
 * Over-masking is preferred to a leak: a masked value is `[redacted]`, the line otherwise unchanged.
 */
export function maskDiffSecrets(diffText: string): string {
  const state = { old: false, new: false };
  return diffText
    .split('\n')
    .map((line) => {
      if (line.startsWith('@@')) state.old = state.new = false;
      if (/^(---|\+\+\+|@@|\\ )/.test(line) || line === '') return line;
      const kind = line[0];
      if (kind !== ' ' && kind !== '-' && kind !== '+') return maskKnown(line);
      const pending = kind === '-' ? state.old : kind === '+' ? state.new : state.old || state.new;
      const { text, pending: after } = maskLine(line.slice(1), pending);
      if (kind !== '+') state.old = after;
      if (kind !== '-') state.new = after;
      return kind + maskKnown(text);
    })
    .join('\n');
}

const REDACTED = '[redacted]';
/** A key naming a secret. */
const SECRET_KEY = /(token|secret|passw(or)?d|pwd|api[-_]?key|apikey|key$|_key\b|auth|bearer|credential|cookie|session|private)/i;
/** A command-line flag naming a secret (tighter: `--author`, `--auth0-domain` are not). */
const SECRET_FLAG = /^--?([a-z0-9]+[-_])*(token|secret|passw(or)?d|pwd|api[-_]?key|apikey|key|credentials?|cookie|session|bearer|authorization|auth[-_]?token|access[-_]?key|private[-_]?key)([-_][a-z0-9]+)*$/i;
/** Secrets recognisable by their shape, wherever they are. */
const KNOWN = new RegExp([
  String.raw`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`,
  String.raw`\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]{8,}`,
  String.raw`\bsk-(ant-|proj-)?[A-Za-z0-9_-]{16,}`,
  String.raw`\bgh[pousr]_[A-Za-z0-9]{20,}`,
  String.raw`\bgithub_pat_[A-Za-z0-9_]{20,}`,
  String.raw`\bglpat-[A-Za-z0-9_-]{16,}`,
  String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}`,
  String.raw`\b(AKIA|ASIA)[0-9A-Z]{16}\b`,
  String.raw`\bAIza[0-9A-Za-z_-]{30,}`,
  String.raw`\bnpm_[A-Za-z0-9]{30,}`,
  String.raw`\bhf_[A-Za-z0-9]{30,}`,
  String.raw`\bshp(at|ss|ca)_[A-Fa-f0-9]{20,}`,
  String.raw`\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`,
].join('|'), 'g');
/** `${input:x}`, `${VAR}`, `$VAR`, `{env:VAR}`: names of secrets, not secrets. */
const REFERENCE = /^(\$\{[^}]+\}|\$[A-Za-z_][A-Za-z0-9_]*|\{env:[^}]+\})$/;

function maskKnown(text: string): string {
  return text.replace(KNOWN, REDACTED);
}

interface Tok {
  kind: 'str' | 'bare' | 'punct' | 'comment';
  start: number;
  end: number;
  /** For str/bare: the value (str: between the quotes). */
  value: string;
  /** For str: the quote character. */
  quote?: string;
}

/** Splits one line of JSON/JSONC/TOML/YAML into strings, bare words, punctuation and a comment. */
function tokens(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let depth = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < s.length && s[j] !== c) j += c === '"' && s[j] === '\\' ? 2 : 1;
      out.push({ kind: 'str', start: i, end: Math.min(j + 1, s.length), value: s.slice(i + 1, Math.min(j, s.length)), quote: c });
      i = j + 1;
    } else if ((c === '#' || (c === '/' && (s[i + 1] === '/' || s[i + 1] === '*'))) && (i === 0 || /\s/.test(s[i - 1] as string))) {
      out.push({ kind: 'comment', start: i, end: s.length, value: s.slice(i) });
      break;
    } else if ('[]{},:='.includes(c) || (c === '-' && s[i + 1] === ' ' && out.every((t) => t.kind === 'punct'))) {
      if (c === '[' || c === '{') depth++;
      if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
      out.push({ kind: 'punct', start: i, end: i + 1, value: c });
      i++;
    } else {
      // A bare word: up to a separator. In a flow collection, `,]}` end it; `: ` (or `:` at the end)
      // ends a key; ` = `, `=` before a quote or bracket ends a TOML key; a space before `#` a comment.
      let j = i;
      while (j < s.length) {
        const d = s[j] as string;
        if (depth > 0 && ',]}'.includes(d)) break;
        if (d === ':' && (j + 1 === s.length || /\s/.test(s[j + 1] as string))) break;
        if (d === '=' && (/\s/.test(s[j - 1] as string) || /[\s"'[{]/.test(s[j + 1] ?? ' '))) break;
        if (d === '#' && /\s/.test(s[j - 1] as string)) break;
        j++;
      }
      const raw = s.slice(i, j);
      // A JSON line's value ends with the comma before the next line: not part of the value.
      const trimmed = raw.replace(/\s+$/, '').replace(/(?<=.),$/, (m) => (j === s.length ? '' : m));
      out.push({ kind: 'bare', start: i, end: i + trimmed.length, value: trimmed });
      i = j === i ? i + 1 : j;
    }
  }
  return out;
}

/** Masks one line's content; `pending`: the previous value was a flag naming a secret. */
function maskLine(s: string, pending: boolean): { text: string; pending: boolean } {
  const toks = tokens(s);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  let keyIsSecret = false;
  toks.forEach((t, k) => {
    if (t.kind === 'punct') {
      if (t.value === ']' || t.value === '}') pending = false;
      if (t.value === ',' || t.value === '[' || t.value === '{') keyIsSecret = false;
      return;
    }
    if (t.kind === 'comment') {
      edits.push({ start: t.start, end: t.end, text: embedded(t.value) });
      return;
    }
    const next = toks[k + 1];
    if (next?.kind === 'punct' && (next.value === ':' || next.value === '=')) {
      keyIsSecret = SECRET_KEY.test(t.value);
      pending = false;
      return;
    }
    const replace = (value: string) =>
      edits.push({ start: t.start, end: t.end, text: t.kind === 'str' ? `${t.quote}${value}${t.quote}` : value });
    const v = t.value;
    const whole = (keyIsSecret || pending) && !REFERENCE.test(v) && !(t.kind === 'bare' && /^(true|false|null|~|-?\d+(\.\d+)?)$/.test(v));
    if (pending && v.startsWith('-')) {
      // Another flag, not a value.
      pending = SECRET_FLAG.test(v);
      return;
    }
    if (whole && !embeddedOnly(v)) replace(REDACTED);
    else replace(embedded(v));
    pending = !v.includes('=') && SECRET_FLAG.test(v);
    keyIsSecret = false;
  });
  let text = s;
  for (const e of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  return { text, pending };
}

/** `Bearer ${input:x}`: a value whose only secret part is a reference; mask what embeds, keep the rest. */
function embeddedOnly(v: string): boolean {
  const m = /^(Bearer|Basic|Token)\s+(.*)$/i.exec(v);
  return m !== null && REFERENCE.test((m[2] as string).trim());
}

/** The secrets inside one value: `--flag=…`, `NAME=…`, `Bearer …`, a URL's password and secret query parameters. */
function embedded(v: string): string {
  return v
    .replace(/(^|\s)(--?[A-Za-z0-9_-]+)=(\S+)/g, (m, pre: string, flag: string, val: string) =>
      SECRET_FLAG.test(flag) && !REFERENCE.test(val) ? `${pre}${flag}=${REDACTED}` : m)
    .replace(/(^|[\s,;])([A-Za-z_][A-Za-z0-9_]*)=([^\s&,;]+)/g, (m, pre: string, name: string, val: string) =>
      SECRET_KEY.test(name) && !REFERENCE.test(val) ? `${pre}${name}=${REDACTED}` : m)
    .replace(/\b(Bearer|Basic|Token)(\s+)([^\s"',]+)/gi, (m, word: string, sp: string, val: string) =>
      REFERENCE.test(val) ? m : `${word}${sp}${REDACTED}`)
    .replace(/(\/\/[^/\s:@]*:)([^@\s/]+)@/g, (_m, pre: string) => `${pre}${REDACTED}@`)
    .replace(/([?&])([^=&\s#]+)=([^&\s#"']+)/g, (m, sep: string, name: string) =>
      SECRET_KEY.test(name) ? `${sep}${name}=${REDACTED}` : m);
}
