/** Issue 14 §3: a wired entry carries its settings profile in its args (never a token), and wire, unwire and list read it back. */
import { describe, expect, it } from 'vitest';
import { findClient, type EntryShape } from '../../src/mcp/registry.js';
import { detectWiring, headersHelperCommand, unwireEntry, wiredProfile, wireEntry, type WireSettings } from '../../src/mcp/wire.js';
import { LAUNCHER, NODE } from './helpers.js';

const shapeOf = (id: string): EntryShape => {
  const c = findClient(id);
  if (!c) throw new Error(id);
  return c.entry;
};
const cursor = shapeOf('cursor');
const claudeCode = shapeOf('claude-code');
const base: WireSettings = { mode: 'exec', envVar: 'AUTH0_TOKEN', nodePath: NODE, launcherPath: LAUNCHER, platform: 'linux' };
const b: WireSettings = { ...base, profile: 'b' };

function wired(entry: unknown, shape: EntryShape, s: WireSettings): Record<string, unknown> {
  const r = wireEntry(entry, shape, s);
  if (r.action === 'skipped') throw new Error(r.reason);
  return r.entry;
}

describe('wiring with a profile', () => {
  const stdio = { command: 'npx', args: ['-y', 'srv'], env: { A: '1' } };
  const remote = { url: 'https://mcp.example.com/mcp' };

  it('stdio: `exec --profile NAME --env-var VAR -- …`; unwire gives the entry back exactly', () => {
    const e = wired(stdio, cursor, b);
    expect(e).toEqual({ command: NODE, args: [LAUNCHER, 'exec', '--profile', 'b', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'srv'], env: { A: '1' } });
    expect(wiredProfile(e, cursor, LAUNCHER)).toBe('b');
    expect(detectWiring(e, cursor, { envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER })).toBe('exec');
    expect(wireEntry(e, cursor, b)).toMatchObject({ action: 'unchanged' });
    expect(unwireEntry(e, cursor, { envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER })).toEqual({ action: 'changed', entry: stdio, tokenLeft: false });
    // An entry without args comes back without args.
    const bare = { command: '/usr/bin/srv' };
    const w = wired(bare, cursor, b);
    expect(w.args).toEqual([LAUNCHER, 'exec', '--profile', 'b', '--env-var=AUTH0_TOKEN', '--', '/usr/bin/srv']);
    expect(unwireEntry(w, cursor, { envVar: 'AUTH0_TOKEN' }).entry).toEqual(bare);
  });

  it('re-wiring for another profile moves the entry to it; the default profile writes no --profile (as before)', () => {
    const e = wired(stdio, cursor, b);
    const a = wired(e, cursor, { ...base, profile: 'a' });
    expect(a.args).toEqual([LAUNCHER, 'exec', '--profile', 'a', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'srv']);
    const d = wired(e, cursor, { ...base, profile: 'default' });
    expect(d.args).toEqual([LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'srv']);
    expect(wiredProfile(d, cursor, LAUNCHER)).toBe('default');
    expect(wiredProfile(stdio, cursor, LAUNCHER)).toBeUndefined();
  });

  it('remote through the proxy: `proxy --profile NAME <url>`', () => {
    const e = wired(remote, cursor, b);
    expect(e.args).toEqual([LAUNCHER, 'proxy', '--profile', 'b', remote.url]);
    expect(wiredProfile(e, cursor, LAUNCHER)).toBe('b');
    expect(wireEntry(e, cursor, b)).toMatchObject({ action: 'unchanged', wiring: 'proxy' });
    expect(wired(e, cursor, base).args).toEqual([LAUNCHER, 'proxy', remote.url]);
    expect(unwireEntry(e, cursor, { envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER }).entry).toEqual(remote);
  });

  it('a header helper runs `token --format headers-json --profile NAME`', () => {
    const e = wired({ type: 'http', url: remote.url }, claudeCode, b);
    expect(e.headersHelper).toBe(`${NODE} ${LAUNCHER} token --format headers-json --profile b`);
    expect(headersHelperCommand(b)).toBe(e.headersHelper);
    expect(wiredProfile(e, claudeCode, LAUNCHER)).toBe('b');
    expect(unwireEntry(e, claudeCode, { envVar: 'AUTH0_TOKEN' }).entry).toEqual({ type: 'http', url: remote.url });
  });
});
