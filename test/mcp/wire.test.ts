/** The pure entry logic: what a wired entry looks like, how it is recognised, and how it comes back. */
import { describe, expect, it } from 'vitest';
import { findClient, type EntryShape } from '../../src/mcp/registry.js';
import { detectWiring, headersHelperCommand, needsToken, shellQuote, unwireEntry, wireEntry, type WireSettings } from '../../src/mcp/wire.js';
import { Secret } from '../../src/util/secret.js';
import { JWT, LAUNCHER, NODE } from './helpers.js';

const shapeOf = (id: string): EntryShape => {
  const c = findClient(id);
  if (!c) throw new Error(id);
  return c.entry;
};
const cursor = shapeOf('cursor');
const claudeCode = shapeOf('claude-code');
const goose = shapeOf('goose');
const desktop = shapeOf('claude-desktop');
const settings: WireSettings = { mode: 'exec', envVar: 'AUTH0_TOKEN', nodePath: NODE, launcherPath: LAUNCHER, platform: 'linux' };

describe('wireEntry, stdio', () => {
  const entry = { command: 'npx', args: ['-y', 'omnispindle'], env: { A: '1' }, cwd: '/srv', disabled: false };

  it('runs the original command through <node> <launcher> exec, keeping every other field', () => {
    const r = wireEntry(entry, cursor, settings);
    expect(r).toEqual({
      action: 'changed',
      wiring: 'exec',
      holdsToken: false,
      entry: { command: NODE, args: [LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'npx', '-y', 'omnispindle'], env: { A: '1' }, cwd: '/srv', disabled: false },
    });
  });

  it('is idempotent, and unwire restores the entry exactly', () => {
    const wired = wireEntry(entry, cursor, settings);
    if (wired.action === 'skipped') throw new Error('skipped');
    expect(wireEntry(wired.entry, cursor, settings)).toMatchObject({ action: 'unchanged', wiring: 'exec' });
    expect(unwireEntry(wired.entry, cursor, { envVar: 'AUTH0_TOKEN' })).toEqual({ action: 'changed', entry, tokenLeft: false });
  });

  it('marks an entry that had no args with --env-var=VAR, and unwire drops args again', () => {
    const bare = { command: '/usr/local/bin/srv' };
    const wired = wireEntry(bare, cursor, { ...settings, envVar: 'MY_TOKEN' });
    expect(wired).toMatchObject({ entry: { command: NODE, args: [LAUNCHER, 'exec', '--env-var=MY_TOKEN', '--', '/usr/local/bin/srv'] } });
    if (wired.action === 'skipped') throw new Error('skipped');
    expect(unwireEntry(wired.entry, cursor, { envVar: 'MY_TOKEN' }).entry).toEqual(bare);
    // An entry with an empty args list keeps it.
    const empty = { command: 'srv', args: [] };
    const w2 = wireEntry(empty, cursor, settings);
    if (w2.action === 'skipped') throw new Error('skipped');
    expect(unwireEntry(w2.entry, cursor, { envVar: 'AUTH0_TOKEN' }).entry).toEqual(empty);
  });

  it('re-wires an entry wired by an older install (other Node, other launcher path) to the current one', () => {
    const old = { command: '/opt/node18/bin/node', args: ['/old/home/omni-auth.js', 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'npx', 'srv'] };
    expect(detectWiring(old, cursor, { envVar: 'AUTH0_TOKEN' })).toBe('exec');
    expect(wireEntry(old, cursor, settings)).toMatchObject({ action: 'changed', entry: { command: NODE, args: [LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'npx', 'srv'] } });
    // A hand-written `omni-auth exec -- …` (on PATH, or through npx) is routed through omni-auth too,
    // but was not written by wire: wire leaves it, unwire never rewrites it.
    for (const hand of [
      { command: 'omni-auth', args: ['exec', '--', 'python', '-m', 'srv'] },
      { command: 'npx', args: ['-y', 'omni-auth@latest', 'exec', '--', 'uvx', 'srv'] },
      { command: 'npx', args: ['-y', 'omni-auth', 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'uvx', 'srv'] },
      { command: '/usr/bin/node', args: ['/opt/omni-auth/omni-auth.cjs', 'exec', '--env-var', 'T', '--quiet', '--', 'srv'] },
      { command: 'sh', args: ['-c', 'omni-auth exec -- srv --stdio'] },
    ]) {
      expect(detectWiring(hand, cursor, { envVar: 'AUTH0_TOKEN' })).toBe('exec');
      expect(unwireEntry(hand, cursor, { envVar: 'AUTH0_TOKEN' })).toMatchObject({ action: 'unchanged', entry: hand });
      expect(wireEntry(hand, cursor, settings)).toMatchObject({ action: 'unchanged', entry: hand, byHand: true });
    }
  });

  it('does not mistake a server that merely has an "exec" argument for a wired one', () => {
    const e = { command: 'docker', args: ['exec', '-i', 'box', '--', 'srv'] };
    expect(detectWiring(e, cursor, { envVar: 'AUTH0_TOKEN' })).toBeUndefined();
    expect(unwireEntry(e, cursor, { envVar: 'AUTH0_TOKEN' })).toMatchObject({ action: 'unchanged' });
  });

  it('uses the client spelling (Goose: cmd/envs)', () => {
    const e = { cmd: 'npx', args: ['srv'], envs: {}, enabled: true, type: 'stdio' };
    expect(wireEntry(e, goose, settings)).toMatchObject({ entry: { cmd: NODE, args: [LAUNCHER, 'exec', '--env-var', 'AUTH0_TOKEN', '--', 'npx', 'srv'], envs: {} } });
    expect(wireEntry(e, goose, { ...settings, mode: 'env', token: new Secret(JWT) })).toMatchObject({ entry: { cmd: 'npx', envs: { AUTH0_TOKEN: JWT } }, holdsToken: true });
  });

  it('mode env stores the token; switching back to exec keeps it unless the caller says it is ours', () => {
    const envWired = wireEntry(entry, cursor, { ...settings, mode: 'env', token: new Secret(JWT) });
    expect(envWired).toMatchObject({ wiring: 'env-token', entry: { command: 'npx', env: { A: '1', AUTH0_TOKEN: JWT } } });
    if (envWired.action === 'skipped') throw new Error('skipped');
    expect(wireEntry(envWired.entry, cursor, settings)).toMatchObject({ entry: { env: { A: '1', AUTH0_TOKEN: JWT } } });
    expect(wireEntry(envWired.entry, cursor, { ...settings, isOurToken: (t) => t === JWT })).toMatchObject({ entry: { env: { A: '1' } } });
    expect(wireEntry(entry, cursor, { ...settings, mode: 'env' })).toMatchObject({ action: 'skipped', code: 'token_required' });
  });

  it('skips entries it does not understand', () => {
    expect(wireEntry({ settings: {} }, cursor, settings)).toMatchObject({ action: 'skipped', code: 'unsupported_entry' });
    expect(wireEntry({ command: 'x', args: 'not a list' }, cursor, settings)).toMatchObject({ action: 'skipped', code: 'unsupported_entry' });
    expect(wireEntry('npx', cursor, settings)).toMatchObject({ action: 'skipped', code: 'unsupported_entry' });
  });
});

describe('wireEntry, remote', () => {
  const remote = { type: 'http', url: 'https://mcp.example/mcp' };

  it('sets Claude Code\'s headersHelper to the token command, storing no token', () => {
    expect(needsToken(remote, claudeCode, 'exec')).toBe(false);
    expect(wireEntry(remote, claudeCode, settings)).toEqual({
      action: 'changed', wiring: 'headers-helper', holdsToken: false,
      entry: { ...remote, headersHelper: `${NODE} ${LAUNCHER} token --format headers-json` },
    });
    expect(wireEntry({ ...remote, headersHelper: '/usr/local/bin/get-headers' }, claudeCode, settings)).toMatchObject({ action: 'skipped', code: 'foreign_headers_helper' });
  });

  it('quotes the helper command for the shell that runs it', () => {
    expect(headersHelperCommand({ nodePath: 'C:\\Program Files\\nodejs\\node.exe', launcherPath: 'C:\\Users\\dev\\AppData\\Roaming\\omni-auth\\Config\\omni-auth.cjs', platform: 'win32' }))
      .toBe('"C:\\Program Files\\nodejs\\node.exe" C:\\Users\\dev\\AppData\\Roaming\\omni-auth\\Config\\omni-auth.cjs token --format headers-json');
    expect(shellQuote("/Users/o'neil/My Apps/node", 'darwin')).toBe("'/Users/o'\\''neil/My Apps/node'");
    expect(shellQuote('/usr/bin/node', 'linux')).toBe('/usr/bin/node');
  });

  it('elsewhere writes Authorization: Bearer, replacing an older token of ours but never a foreign header', () => {
    expect(needsToken(remote, cursor, 'exec')).toBe(true);
    const r = wireEntry(remote, cursor, { ...settings, token: new Secret(JWT) });
    expect(r).toMatchObject({ wiring: 'header-token', holdsToken: true, entry: { headers: { Authorization: `Bearer ${JWT}` } } });
    const fresh = `${JWT}x`;
    expect(wireEntry({ ...remote, headers: { authorization: `Bearer ${JWT}` } }, cursor, { ...settings, token: new Secret(fresh) }))
      .toMatchObject({ action: 'changed', entry: { headers: { authorization: `Bearer ${fresh}` } } });
    expect(wireEntry({ ...remote, headers: { Authorization: 'Bearer ghp_personal' } }, cursor, { ...settings, token: new Secret(JWT) }))
      .toMatchObject({ action: 'skipped', code: 'foreign_authorization' });
    expect(wireEntry(remote, cursor, settings)).toMatchObject({ action: 'skipped', code: 'token_required' });
  });

  it('refuses remote entries for Claude Desktop', () => {
    expect(wireEntry({ url: 'https://x/mcp' }, desktop, { ...settings, token: new Secret(JWT) })).toMatchObject({ action: 'skipped', code: 'remote_unsupported' });
  });

  it('unwire removes a stored token only when told it is ours, and reports one left behind', () => {
    const wired = { ...remote, headers: { 'X-Team': 'core', Authorization: `Bearer ${JWT}` } };
    expect(unwireEntry(wired, cursor, { envVar: 'AUTH0_TOKEN' })).toEqual({ action: 'unchanged', entry: wired, tokenLeft: true });
    expect(unwireEntry(wired, cursor, { envVar: 'AUTH0_TOKEN', isOurToken: () => true }).entry).toEqual({ ...remote, headers: { 'X-Team': 'core' } });
    expect(unwireEntry({ ...remote, headers: { Authorization: `Bearer ${JWT}` } }, cursor, { envVar: 'AUTH0_TOKEN', isOurToken: () => true }).entry).toEqual(remote);
  });
});
