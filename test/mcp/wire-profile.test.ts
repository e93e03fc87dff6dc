/** Issue 14 §3: a wired entry carries its settings profile in its args (never a token), and wire, unwire and list read it back. */
import { describe, expect, it } from 'vitest';
import { findClient, type EntryShape } from '../../src/mcp/registry.js';
import { detectWiring, headersHelperCommand, pinnedProfile, unwireEntry, wiredProfile, wireEntry, type WireSettings } from '../../src/mcp/wire.js';
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

  // Issue 14 §3, wire14: once a home has a named profile (or a default_profile), "default" is only the
  // default until `profile use` changes it — an entry wired for "default" says so, or it would move.
  describe('pinning the default profile (pinDefault: the home has named profiles or a default_profile)', () => {
    const pinned: WireSettings = { ...base, profile: 'default', pinDefault: true };

    it('stdio: `exec --profile default …`; read back as "default" and as pinned; unwire gives the entry back exactly', () => {
      const e = wired(stdio, cursor, pinned);
      expect(e.args).toEqual([LAUNCHER, 'exec', '--profile', 'default', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'srv']);
      expect(wiredProfile(e, cursor, LAUNCHER)).toBe('default');
      expect(pinnedProfile(e, cursor, LAUNCHER)).toBe('default');
      expect(wireEntry(e, cursor, pinned)).toMatchObject({ action: 'unchanged' });
      expect(unwireEntry(e, cursor, { envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER })).toEqual({ action: 'changed', entry: stdio, tokenLeft: false });
      const bare = { command: '/usr/bin/srv' };
      const w = wired(bare, cursor, pinned);
      expect(w.args).toEqual([LAUNCHER, 'exec', '--profile', 'default', '--env-var=AUTH0_TOKEN', '--', '/usr/bin/srv']);
      expect(unwireEntry(w, cursor, { envVar: 'AUTH0_TOKEN' }).entry).toEqual(bare);
    });

    it('an entry wired before (no --profile) follows the default: not pinned; re-wiring pins it (changed, then unchanged)', () => {
      const old = wired(stdio, cursor, base);
      expect(old.args).toEqual([LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'srv']);
      expect(wiredProfile(old, cursor, LAUNCHER)).toBe('default');
      expect(pinnedProfile(old, cursor, LAUNCHER)).toBeUndefined();
      const r = wireEntry(old, cursor, pinned);
      expect(r).toMatchObject({ action: 'changed' });
      expect((r as { entry: Record<string, unknown> }).entry.args).toEqual([LAUNCHER, 'exec', '--profile', 'default', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'srv']);
      // A home with only the default profile keeps the old shape: such an entry stays unchanged there.
      expect(wireEntry(old, cursor, base)).toMatchObject({ action: 'unchanged' });
      expect(wireEntry(old, cursor, { ...base, profile: 'default' })).toMatchObject({ action: 'unchanged' });
      expect(pinnedProfile(stdio, cursor, LAUNCHER)).toBeUndefined();
      expect(pinnedProfile(wired(stdio, cursor, b), cursor, LAUNCHER)).toBe('b');
    });

    it('remote through the proxy: `proxy --profile default <url>`; an unpinned proxy entry is re-pinned', () => {
      const e = wired(remote, cursor, pinned);
      expect(e.args).toEqual([LAUNCHER, 'proxy', '--profile', 'default', remote.url]);
      expect(wiredProfile(e, cursor, LAUNCHER)).toBe('default');
      expect(pinnedProfile(e, cursor, LAUNCHER)).toBe('default');
      expect(wireEntry(e, cursor, pinned)).toMatchObject({ action: 'unchanged', wiring: 'proxy' });
      const old = wired(remote, cursor, base);
      expect(old.args).toEqual([LAUNCHER, 'proxy', remote.url]);
      expect(pinnedProfile(old, cursor, LAUNCHER)).toBeUndefined();
      expect(wireEntry(old, cursor, base)).toMatchObject({ action: 'unchanged', wiring: 'proxy' });
      expect(wired(old, cursor, pinned).args).toEqual([LAUNCHER, 'proxy', '--profile', 'default', remote.url]);
      expect(unwireEntry(e, cursor, { envVar: 'AUTH0_TOKEN', launcherPath: LAUNCHER }).entry).toEqual(remote);
    });

    it('a header helper runs `token --format headers-json --profile default`; an old helper is re-pinned', () => {
      const e = wired({ type: 'http', url: remote.url }, claudeCode, pinned);
      expect(e.headersHelper).toBe(`${NODE} ${LAUNCHER} token --format headers-json --profile default`);
      expect(headersHelperCommand(pinned)).toBe(e.headersHelper);
      expect(headersHelperCommand({ ...base, profile: 'default' })).toBe(`${NODE} ${LAUNCHER} token --format headers-json`);
      expect(wiredProfile(e, claudeCode, LAUNCHER)).toBe('default');
      expect(pinnedProfile(e, claudeCode, LAUNCHER)).toBe('default');
      expect(wireEntry(e, claudeCode, pinned)).toMatchObject({ action: 'unchanged' });
      const old = wired({ type: 'http', url: remote.url }, claudeCode, base);
      expect(pinnedProfile(old, claudeCode, LAUNCHER)).toBeUndefined();
      expect(wired(old, claudeCode, pinned).headersHelper).toBe(e.headersHelper);
      expect(unwireEntry(e, claudeCode, { envVar: 'AUTH0_TOKEN' }).entry).toEqual({ type: 'http', url: remote.url });
    });

    it('a named profile is written the same with or without pinDefault', () => {
      expect(wired(stdio, cursor, { ...b, pinDefault: true })).toEqual(wired(stdio, cursor, b));
    });
  });
});
