/**
 * Property: a remote entry wired through `omni-auth proxy` and unwired again gives back the original
 * text byte for byte, wherever its URL key sits among its other keys (`type`, the entry's own
 * `headers`, keys of the client's own), in random layouts — the two-step write of wire-clients.ts
 * (`via` first) included. Re-wiring changes nothing; nothing outside the entry changes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsoncEditor as json } from '../../src/mcp/formats/jsonc.js';
import { findClient } from '../../src/mcp/registry.js';
import { unwireEntry, wireEntry, type Entry, type WireSettings } from '../../src/mcp/wire.js';
import { entrySpan, LAUNCHER, NODE, onlyInside } from './helpers.js';

const settings: WireSettings = { mode: 'exec', envVar: 'AUTH0_TOKEN', nodePath: NODE, launcherPath: LAUNCHER, platform: 'linux' };
const word = fc.string({ unit: fc.constantFrom('a', 'b', 'x', '-', '_', 'é', ' ', '"', '\\'), minLength: 1, maxLength: 6 });

const remoteArb = fc.record({
  url: fc.constantFrom('https://mcp.example.com/mcp', 'http://127.0.0.1:3000/mcp', 'https://h.example/a?b=c'),
  type: fc.option(fc.constantFrom('http', 'sse', 'streamableHttp'), { nil: undefined }),
  headers: fc.option(fc.dictionary(fc.constantFrom('X-Team', 'Accept', 'X-Api-Key'), word, { maxKeys: 2 }), { nil: undefined }),
  env: fc.option(fc.dictionary(fc.constantFrom('REGION', 'MODE'), word, { maxKeys: 2 }), { nil: undefined }),
  extra: fc.dictionary(fc.constantFrom('timeout', 'disabled', 'autoApprove', 'description'), fc.oneof(word, fc.integer(), fc.boolean()), { maxKeys: 3 }),
  order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  // Pretty-printed as clients write their files, or minified (0: no whitespace at all).
  indent: fc.constantFrom(2, 4, '\t', 0),
  crlf: fc.boolean(),
});

function entryOf(r: fc.Arbitrary<unknown> extends never ? never : Parameters<Parameters<typeof remoteArb.map>[0]>[0]): Entry {
  const pairs: Array<[string, unknown]> = [['url', r.url]];
  if (r.type !== undefined) pairs.push(['type', r.type]);
  if (r.headers !== undefined) pairs.push(['headers', r.headers]);
  if (r.env !== undefined) pairs.push(['env', r.env]);
  for (const [k, v] of Object.entries(r.extra)) pairs.push([k, v]);
  const ranked = pairs.map((p, i) => ({ p, rank: r.order[i % r.order.length]! * 10 + i }));
  ranked.sort((a, b) => a.rank - b.rank);
  return Object.fromEntries(ranked.map((x) => x.p));
}

const PATH = ['servers', 'tasks'];

describe('remote entries through the proxy, on random documents', () => {
  it.each(['cursor', 'vscode', 'cline', 'gemini'])('%s: wire, re-wire, unwire is the identity, and touches only the entry', (client) => {
    const shape = findClient(client)!.entry;
    const path = client === 'vscode' ? PATH : ['mcpServers', 'tasks'];
    fc.assert(
      fc.property(remoteArb, (r) => {
        const e = entryOf(r);
        const doc = { before: 1, [path[0]!]: { other: { command: 'x' }, tasks: e, after: { url: 'https://o.example' } } };
        let text = `${JSON.stringify(doc, null, r.indent)}\n`;
        if (r.crlf) text = text.replace(/\n/g, '\r\n');
        const wired = wireEntry(json.getIn(text, path), shape, settings);
        if (wired.action !== 'changed') throw new Error(`not wired: ${wired.action}`);
        expect(wired.wiring).toBe('proxy');
        const after = json.setIn(wired.via ? json.setIn(text, path, wired.via) : text, path, wired.entry);
        expect(json.getIn(after, path)).toEqual(wired.entry);
        onlyInside(text, after, entrySpan('jsonc', text, path));
        expect(wireEntry(json.getIn(after, path), shape, { ...settings, ...(wired.record ? { record: wired.record } : {}) }).action).toBe('unchanged');
        const un = unwireEntry(json.getIn(after, path) as Entry, shape, { envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER, ...(wired.record ? { record: wired.record } : {}) });
        expect(json.setIn(un.via ? json.setIn(after, path, un.via) : after, path, un.entry)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});
