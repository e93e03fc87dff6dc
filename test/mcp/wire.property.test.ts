/**
 * Property: for random JSON/JSONC documents — any layout (minified, tabs, CRLF, one-line objects),
 * comments anywhere a comment can go, trailing commas, strings spelled with escapes — wiring the
 * server entry changes nothing outside it, re-wiring changes nothing, and unwiring gives back the
 * original text byte for byte. The same in mode env (token into `env`, removed again).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsoncEditor as json } from '../../src/mcp/formats/jsonc.js';
import { withValueAt } from '../../src/mcp/formats/structural.js';
import { findClient } from '../../src/mcp/registry.js';
import { unwireEntry, wireEntry, type WireRecord, type WireSettings } from '../../src/mcp/wire.js';
import { Secret } from '../../src/util/secret.js';
import { entrySpan, JWT, LAUNCHER, NODE, onlyInside } from './helpers.js';

const shape = findClient('cursor')!.entry;
const PATH = ['mcpServers', 'omnispindle'];

const char = fc.constantFrom('a', 'b', 'z', '0', '-', '_', '.', ' ', '/', '\\', '"', 'é', '\n', '\t', '\u2028', '😀', '{', ',', ':');
const str = fc.string({ unit: char, maxLength: 8 });
const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', '_', '-', 'é', ' '), minLength: 1, maxLength: 5 });

const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    str, fc.integer(), fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 3 }),
  ),
}));

const entry = fc.record(
  {
    command: str,
    args: fc.array(str, { maxLength: 4 }),
    env: fc.dictionary(key, str, { minKeys: 1, maxKeys: 3 }),
    cwd: str,
    disabled: fc.boolean(),
  },
  { requiredKeys: ['command'] },
);

const documentArb = fc.record({
  before: fc.dictionary(key, value, { maxKeys: 3 }),
  servers: fc.dictionary(key.map((k) => `s${k}`), fc.oneof(entry, value), { maxKeys: 3 }),
  at: fc.nat(),
  entry,
  after: fc.dictionary(key.map((k) => `t${k}`), value, { maxKeys: 2 }),
});

interface Style {
  indent: string;
  eol: string;
  colon: string;
  trailingCommas: boolean;
  comments: boolean;
  seed: number;
}
const styleArb: fc.Arbitrary<Style> = fc.record({
  indent: fc.constantFrom('', '  ', '    ', '\t'),
  eol: fc.constantFrom('\n', '\r\n'),
  colon: fc.constantFrom(':', ': ', ' : '),
  trailingCommas: fc.boolean(),
  comments: fc.boolean(),
  seed: fc.integer(),
});

/** Prints JSONC in a random but valid layout; the PRNG decides per container and per string. */
function print(v: unknown, s: Style): string {
  let state = s.seed >>> 0 || 1;
  const rnd = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const comment = (multiline: boolean): string => {
    if (!s.comments || rnd() < 0.6) return '';
    return multiline && rnd() < 0.5 ? `// note ${Math.floor(rnd() * 100)}${s.eol}` : '/* c */ ';
  };
  const quote = (t: string): string =>
    `"${[...t].map((ch) => {
      if (ch.length === 1 && rnd() < 0.15) return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
      if (ch === '/' && rnd() < 0.5) return '\\/';
      return JSON.stringify(ch).slice(1, -1);
    }).join('')}"`;
  const go = (x: unknown, ind: string): string => {
    if (typeof x === 'string') return quote(x);
    if (x === null || typeof x !== 'object') return JSON.stringify(x);
    const items: Array<[string | undefined, unknown]> = Array.isArray(x) ? x.map((i) => [undefined, i]) : Object.entries(x);
    const [open, close] = Array.isArray(x) ? ['[', ']'] : ['{', '}'];
    const multiline = s.indent !== '' && items.length > 0 && rnd() < 0.7;
    const inner = ind + s.indent;
    const one = ([k, i]: [string | undefined, unknown], nl: boolean): string =>
      `${comment(nl)}${k === undefined ? '' : `${quote(k)}${s.colon}`}${go(i, inner)}`;
    const trailing = s.trailingCommas && items.length > 0 && rnd() < 0.5 ? ',' : '';
    if (!multiline) {
      const pad = rnd() < 0.5 ? ' ' : '';
      return `${open}${pad}${items.map((it) => one(it, false)).join(`,${pad || ''}`)}${trailing}${items.length ? pad : ''}${close}`;
    }
    const body = items.map((it) => `${inner}${one(it, true)}`).join(`,${s.eol}`);
    return `${open}${s.eol}${body}${trailing}${s.eol}${ind}${close}`;
  };
  return `${comment(true)}${go(v, '')}${s.eol}`;
}

type Generated = typeof documentArb extends fc.Arbitrary<infer T> ? T : never;

function documentOf(d: Generated): Record<string, unknown> {
  const servers = Object.entries(d.servers);
  servers.splice(d.at % (servers.length + 1), 0, ['omnispindle', d.entry]);
  return { ...d.before, mcpServers: Object.fromEntries(servers), ...d.after };
}

const settings: WireSettings = { mode: 'exec', envVar: 'AUTH0_TOKEN', nodePath: NODE, launcherPath: LAUNCHER, platform: 'linux' };

describe('wire + unwire on random JSONC documents', () => {
  it.each(['exec', 'env'] as const)('is the identity, and touches only the entry (mode %s)', (mode) => {
    fc.assert(
      fc.property(documentArb, styleArb, (d, style) => {
        const doc = documentOf(d);
        const text = print(doc, style);
        expect(json.getIn(text, [])).toEqual(doc);

        const wired = wireEntry(json.getIn(text, PATH), shape, { ...settings, mode, token: new Secret(JWT) });
        if (wired.action !== 'changed') throw new Error(`not wired: ${wired.action}`);
        const after = json.setIn(text, PATH, wired.entry);
        expect(json.getIn(after, [])).toEqual(withValueAt(doc, PATH, wired.entry));
        onlyInside(text, after, entrySpan('jsonc', text, PATH));

        expect(wireEntry(json.getIn(after, PATH), shape, { ...settings, mode, token: new Secret(JWT) }).action).toBe('unchanged');

        const un = unwireEntry(json.getIn(after, PATH) as Record<string, unknown>, shape, { envVar: 'AUTH0_TOKEN', isOurToken: (t) => t === JWT });
        expect(json.setIn(after, PATH, un.entry)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Property: many entries at once (setMany, as on a big ~/.claude.json), in the shapes people write —
 * `env` absent, empty, with the user's own variables, or with a value of the user's own under the
 * variable omni-auth would set; Zed's older `"command": {"path","args","env"}` — in random layouts:
 * an entry with the user's own value is skipped, every other one is wired; wiring again changes
 * nothing; unwiring with what wire recorded (no tenant check) gives back the original text.
 */
describe('wire + unwire of many real-world-shaped entries at once', () => {
  const zed = findClient('zed')!.entry;
  const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const envArb = fc.oneof(
    fc.constant(undefined),
    fc.constant({}),
    fc.dictionary(key, str, { minKeys: 1, maxKeys: 2 }),
    fc.record({ AUTH0_TOKEN: fc.constantFrom('${MY_STATIC_TOKEN}', 'sk-live-1'), REGION: str }),
  );
  const compact = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const flat = fc.record({ command: str, args: optional(fc.array(str, { maxLength: 3 })), env: envArb }).map(compact);
  const nested = fc.record({
    command: fc.record({ path: str, args: optional(fc.array(str, { maxLength: 3 })), env: envArb }).map(compact),
    settings: fc.dictionary(key, str, { maxKeys: 2 }),
  });
  const entryArb = fc.oneof(flat, nested);
  const docArb = fc.record({
    top: entryArb,
    projects: fc.array(fc.record({ history: fc.array(str, { maxLength: 3 }), entry: optional(entryArb) }), { maxLength: 4 }),
  });
  const hasOwnValue = (e: Record<string, unknown>): boolean => {
    const inner = (typeof e.command === 'object' ? e.command : e) as { env?: Record<string, unknown> };
    return inner.env?.AUTH0_TOKEN !== undefined;
  };

  it.each(['exec', 'env'] as const)('round-trips, and skips only what holds a value of the user\'s own (mode %s)', (mode) => {
    fc.assert(
      fc.property(docArb, styleArb, (d, style) => {
        const projects = Object.fromEntries(d.projects.map((p, i) => [`/p${i}`, { history: p.history, mcpServers: p.entry ? { omnispindle: p.entry } : {} }]));
        const doc = { theme: 'dark', mcpServers: { omnispindle: d.top }, projects };
        const paths = [['mcpServers', 'omnispindle'], ...d.projects.flatMap((p, i) => (p.entry ? [['projects', `/p${i}`, 'mcpServers', 'omnispindle']] : []))];
        const text = print(doc, style);
        const s = { ...settings, mode, token: new Secret(JWT) };

        const records = new Map<string, WireRecord | undefined>();
        const changes = paths.flatMap((path) => {
          const entry = json.getIn(text, path) as Record<string, unknown>;
          const r = wireEntry(entry, zed, s);
          if (r.action === 'skipped') {
            expect(r.code).toBe('foreign_env_value');
            expect(hasOwnValue(entry)).toBe(true);
            return [];
          }
          expect(hasOwnValue(entry)).toBe(false);
          records.set(path.join('\0'), r.record);
          return [{ path, value: r.entry }];
        });
        const after = json.setMany(text, changes);
        expect(json.getIn(after, [])).toEqual(changes.reduce<unknown>((acc, c) => withValueAt(acc, c.path, c.value), doc));

        for (const { path } of changes) {
          const record = records.get(path.join('\0'));
          expect(wireEntry(json.getIn(after, path), zed, { ...s, ...(record ? { record } : {}) }).action).toBe('unchanged');
        }
        const undo = changes.map(({ path }) => {
          const record = records.get(path.join('\0'));
          return { path, value: unwireEntry(json.getIn(after, path) as Record<string, unknown>, zed, { envVar: 'AUTH0_TOKEN', ...(record ? { record } : {}) }).entry };
        });
        expect(json.setMany(after, undo)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});
