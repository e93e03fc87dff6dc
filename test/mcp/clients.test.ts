/**
 * Every supported client, end to end through the public API on a temporary home: a fixture that looks
 * like a real user's file is wired, re-wired, unwired, wired in env mode, and has its remote entry
 * wired — and every byte outside the edited entries stays as it was.
 */
import { readFile, stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backupPath, newRun, unwireClients, wireClients, type FileReport } from '../../src/mcp/index.js';
import { editorFor, type ConfigFormat } from '../../src/mcp/formats/index.js';
import { withValueAt } from '../../src/mcp/formats/structural.js';
import type { Scope } from '../../src/mcp/registry.js';
import { Secret } from '../../src/util/secret.js';
import { entrySpan, fixture, install, JWT, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

interface Case {
  client: string;
  scope: Scope;
  fixture: string;
  format: ConfigFormat;
  /** Where `omnispindle` lives in the file. */
  locations: string[][];
  cmd?: string;
  argsKey?: string;
  envKey?: string;
  remote: { name: string; via: 'headers-helper' | 'header-token' | 'skipped'; headersKey?: string };
}

const CASES: Case[] = [
  { client: 'claude-desktop', scope: 'user', fixture: 'claude-desktop/claude_desktop_config.json', format: 'json', locations: [['mcpServers']], remote: { name: 'weather-remote', via: 'skipped' } },
  {
    client: 'claude-code', scope: 'user', fixture: 'claude-code/claude.json', format: 'json',
    locations: [['mcpServers'], ['projects', '/home/dev/src/webapp', 'mcpServers']],
    remote: { name: 'omnispindle-cloud', via: 'headers-helper' },
  },
  { client: 'claude-code', scope: 'project', fixture: 'claude-code/mcp.json', format: 'json', locations: [['mcpServers']], remote: { name: 'omnispindle-cloud', via: 'headers-helper' } },
  { client: 'cursor', scope: 'user', fixture: 'cursor/mcp.json', format: 'json', locations: [['mcpServers']], remote: { name: 'omnispindle-cloud', via: 'header-token' } },
  { client: 'vscode', scope: 'user', fixture: 'vscode/mcp.json', format: 'jsonc', locations: [['servers']], remote: { name: 'omnispindle-cloud', via: 'header-token' } },
  { client: 'windsurf', scope: 'user', fixture: 'windsurf/mcp_config.json', format: 'json', locations: [['mcpServers']], remote: { name: 'omnispindle-cloud', via: 'header-token' } },
  { client: 'gemini', scope: 'user', fixture: 'gemini/settings.json', format: 'jsonc', locations: [['mcpServers']], remote: { name: 'omnispindle-cloud', via: 'header-token' } },
  { client: 'zed', scope: 'user', fixture: 'zed/settings.json', format: 'jsonc', locations: [['context_servers']], remote: { name: 'omnispindle-cloud', via: 'header-token' } },
  { client: 'cline', scope: 'user', fixture: 'cline/cline_mcp_settings.json', format: 'json', locations: [['mcpServers']], remote: { name: 'omnispindle-cloud', via: 'header-token' } },
  {
    client: 'codex', scope: 'user', fixture: 'codex/config.toml', format: 'toml', locations: [['mcp_servers']],
    remote: { name: 'omnispindle-cloud', via: 'header-token', headersKey: 'http_headers' },
  },
  {
    client: 'goose', scope: 'user', fixture: 'goose/config.yaml', format: 'yaml', locations: [['extensions']], cmd: 'cmd', envKey: 'envs',
    remote: { name: 'omnispindle-cloud', via: 'header-token' },
  },
];

/** The text outside the given entries' regions, to compare before and after an edit. */
function outside(format: ConfigFormat, text: string, paths: string[][]): string[] {
  const spans = paths.map((p) => entrySpan(format, text, p)).sort((a, b) => a.start - b.start);
  const pieces: string[] = [];
  let at = 0;
  for (const s of spans) {
    pieces.push(text.slice(at, s.start));
    at = s.end;
  }
  pieces.push(text.slice(at));
  return pieces;
}

const read = (p: string) => readFile(p, 'utf8');
const only = (r: { files: FileReport[] }): FileReport => {
  expect(r.files).toHaveLength(1);
  return r.files[0] as FileReport;
};

describe.each(CASES)('$client ($scope): $fixture', (c) => {
  let home: TempHome;
  let path: string;
  let original: string;
  const editor = editorFor(c.format);
  const cmd = c.cmd ?? 'command';
  const envKey = c.envKey ?? 'env';
  const paths = c.locations.map((l) => [...l, 'omnispindle']);
  const base = () => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, clients: [c.client], scope: c.scope, launcherPath: LAUNCHER, nodePath: NODE });

  beforeEach(async () => {
    home = await tempHome();
    path = await install(home, c.client, c.scope, c.fixture);
    original = await fixture(c.fixture);
  });
  afterEach(() => home.cleanup());

  it('wires omnispindle through omni-auth exec, touching nothing else, and keeps a backup', async () => {
    const report = only(await wireClients(base()));
    expect(report.status).toBe('changed');
    expect(report.servers.map((s) => [s.location, s.outcome, s.wiring])).toEqual(c.locations.map((l) => [l, 'wired', 'exec']));
    const after = await read(path);

    let expected = editor.getIn(original, []);
    for (const p of paths) {
      const entry = editor.getIn(original, p) as Record<string, unknown>;
      const args = entry.args as string[] | undefined;
      const wired = { ...entry, [cmd]: NODE, args: [LAUNCHER, 'exec', ...(args ? ['--env-var', 'AUTH0_TOKEN'] : ['--env-var=AUTH0_TOKEN']), '--', entry[cmd], ...(args ?? [])] };
      expected = withValueAt(expected, p, wired);
    }
    expect(editor.getIn(after, [])).toEqual(expected);
    expect(outside(c.format, after, paths)).toEqual(outside(c.format, original, paths));

    expect(await read(backupPath(path))).toBe(original);
    expect((await stat(backupPath(path))).mode & 0o777).toBe(0o600);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it('re-wiring changes nothing, and unwiring gives back the original bytes', async () => {
    const run = newRun();
    await wireClients({ ...base(), run });
    const wired = await read(path);
    const again = only(await wireClients({ ...base(), run }));
    expect(again.status).toBe('unchanged');
    expect(again.servers.every((s) => s.outcome === 'unchanged')).toBe(true);
    expect(await read(path)).toBe(wired);

    const un = only(await unwireClients({ ...base(), run }));
    expect(un.status).toBe('changed');
    expect(await read(path)).toBe(original);
    // Same run: the backup still holds the file as it was before the run, not the wired version.
    expect(await read(backupPath(path))).toBe(original);
  });

  it('mode env stores the token in the entry environment; unwire removes exactly that', async () => {
    const getToken = vi.fn(async () => new Secret(JWT));
    const report = only(await wireClients({ ...base(), mode: 'env', getToken }));
    if (c.scope === 'project') {
      // Never a token in a project-scope file (issue 9 §2): refused, the file left as it was, none fetched.
      expect(getToken).not.toHaveBeenCalled();
      expect(report.status).toBe('unchanged');
      expect(report.servers.every((s) => s.outcome === 'skipped' && s.code === 'project_scope_token')).toBe(true);
      expect(await read(path)).toBe(original);
      return;
    }
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(report.servers.every((s) => s.wiring === 'env-token' && s.holdsToken)).toBe(true);
    const after = await read(path);
    for (const p of paths) {
      const before = editor.getIn(original, p) as Record<string, Record<string, unknown> | undefined>;
      expect(editor.getIn(after, p)).toEqual({ ...before, [envKey]: { ...before[envKey], AUTH0_TOKEN: JWT } });
    }
    expect(outside(c.format, after, paths)).toEqual(outside(c.format, original, paths));

    // Without a way to tell the token is ours, unwire leaves it and says so.
    const kept = only(await unwireClients(base()));
    expect(kept.status).toBe('unchanged');
    expect(kept.servers.every((s) => s.tokenLeft)).toBe(true);
    expect(await read(path)).toBe(after);

    await unwireClients({ ...base(), isOurToken: (t) => t === JWT });
    expect(await read(path)).toBe(original);
  });

  it(`wires the remote entry "${c.remote.name}" (${c.remote.via}${c.remote.via === 'header-token' ? ', with --mode headers' : ''})`, async () => {
    const getToken = vi.fn(async () => new Secret(JWT));
    const report = only(await wireClients({ ...base(), server: c.remote.name, getToken, ...(c.remote.via === 'header-token' ? { mode: 'headers' as const } : {}) }));
    // The remote entries live in the first location only.
    const remotePaths = [[...(c.locations[0] as string[]), c.remote.name]];
    const before = editor.getIn(original, remotePaths[0] as string[]) as Record<string, Record<string, unknown> | undefined>;
    const after = await read(path);
    if (c.scope === 'project') {
      // A project file's remote entry points where the repository chose: no token goes there.
      expect(report.servers).toMatchObject([{ outcome: 'skipped', code: 'project_scope_token' }]);
      expect(after).toBe(original);
      expect(getToken).not.toHaveBeenCalled();
      return;
    }
    if (c.remote.via === 'skipped') {
      expect(report.servers).toMatchObject([{ outcome: 'skipped', code: 'remote_unsupported' }]);
      expect(after).toBe(original);
      expect(getToken).not.toHaveBeenCalled();
      return;
    }
    if (c.remote.via === 'headers-helper') {
      expect(getToken).not.toHaveBeenCalled();
      expect(report.servers).toMatchObject([{ outcome: 'wired', wiring: 'headers-helper', holdsToken: false }]);
      expect(editor.getIn(after, remotePaths[0] as string[])).toEqual({ ...before, headersHelper: `${NODE} ${LAUNCHER} token --format headers-json` });
    } else {
      const key = c.remote.headersKey ?? 'headers';
      expect(getToken).toHaveBeenCalledTimes(1);
      expect(report.servers).toMatchObject([{ outcome: 'wired', wiring: 'header-token', holdsToken: true }]);
      expect(editor.getIn(after, remotePaths[0] as string[])).toEqual({ ...before, [key]: { ...before[key], Authorization: `Bearer ${JWT}` } });
    }
    expect(outside(c.format, after, remotePaths)).toEqual(outside(c.format, original, remotePaths));
    await unwireClients({ ...base(), server: c.remote.name, isOurToken: (t) => t === JWT });
    expect(await read(path)).toBe(original);
  });

  if (c.remote.via === 'header-token') {
    it(`wires the remote entry "${c.remote.name}" through omni-auth proxy by default (no token anywhere); unwire gives back the original bytes`, async () => {
      const getToken = vi.fn(async () => new Secret(JWT));
      const remotePath = [...(c.locations[0] as string[]), c.remote.name];
      const before = editor.getIn(original, remotePath) as Record<string, unknown>;
      const report = only(await wireClients({ ...base(), server: c.remote.name, getToken }));
      const after = await read(path);
      if (c.scope === 'project') {
        expect(report.servers).toMatchObject([{ outcome: 'skipped', code: 'project_scope_token' }]);
        expect(after).toBe(original);
        return;
      }
      expect(getToken).not.toHaveBeenCalled();
      expect(report.servers).toMatchObject([{ outcome: 'wired', wiring: 'proxy', holdsToken: false }]);
      const wired = editor.getIn(after, remotePath) as Record<string, unknown>;
      const urlKey = Object.keys(before).find((k) => typeof before[k] === 'string' && /^https:/.test(before[k] as string)) as string;
      expect(wired[cmd]).toBe(NODE);
      expect(wired.args).toEqual([LAUNCHER, 'proxy', before[urlKey]]);
      expect(wired[urlKey]).toBeUndefined();
      if (typeof before.type === 'string') expect(wired.type).toBe('stdio');
      const headersKey = c.remote.headersKey ?? 'headers';
      const own = before[headersKey] as Record<string, string> | undefined;
      if (own && Object.keys(own).length > 0) expect((wired[envKey] as Record<string, string>).OMNI_AUTH_PROXY_HEADERS).toBe(JSON.stringify(own));
      expect(after).not.toContain(JWT);
      expect(outside(c.format, after, [remotePath])).toEqual(outside(c.format, original, [remotePath]));
      // Re-wiring changes nothing; unwiring restores the remote entry byte for byte.
      expect(only(await wireClients({ ...base(), server: c.remote.name, getToken })).servers).toMatchObject([{ outcome: 'unchanged', wiring: 'proxy' }]);
      await unwireClients({ ...base(), server: c.remote.name });
      expect(await read(path)).toBe(original);
    });
  }

  it('a dry run reports the change and writes nothing', async () => {
    const report = only(await wireClients({ ...base(), dryRun: true, mode: c.scope === 'project' ? 'exec' : 'env' }));
    expect(report.status).toBe('would-change');
    expect(report.before).toBe(original.replace(/^\uFEFF/, ''));
    if (c.scope !== 'project') expect(report.after).toContain('<token>');
    expect(await read(path)).toBe(original);
    await expect(stat(backupPath(path))).rejects.toThrow();
  });
});

describe('other installs (issue 9 §18): Cline CLI, Cline inside Cursor and VS Code Insiders are wired like the main ones', () => {
  let home: TempHome;
  beforeEach(async () => {
    home = await tempHome();
  });
  afterEach(() => home.cleanup());

  it('wires omnispindle in each file that exists, and unwire gives each its bytes back', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join, dirname } = await import('node:path');
    const cline = ['globalStorage', 'saoudrizwan.claude-dev', 'settings', 'cline_mcp_settings.json'];
    const files = {
      cli: join(home.dir, '.cline', 'data', 'settings', 'cline_mcp_settings.json'),
      cursor: join(home.dir, '.config', 'Cursor', 'User', ...cline),
      insidersCline: join(home.dir, '.config', 'Code - Insiders', 'User', ...cline),
      insiders: join(home.dir, '.config', 'Code - Insiders', 'User', 'mcp.json'),
    };
    const originals: Record<string, string> = {};
    for (const [k, p] of Object.entries(files)) {
      originals[k] = await fixture(k === 'insiders' ? 'vscode/mcp.json' : 'cline/cline_mcp_settings.json');
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, originals[k]!);
    }
    const base = { env: home.env, platform: 'linux' as const, cwd: home.cwd, clients: ['cline', 'vscode'], launcherPath: LAUNCHER, nodePath: NODE };
    const r = await wireClients(base);
    const changed = r.files.filter((f) => f.status === 'changed').map((f) => f.path).sort();
    expect(changed).toEqual(Object.values(files).sort());
    for (const p of Object.values(files)) {
      const container = p === files.insiders ? 'servers' : 'mcpServers';
      const entry = editorFor('jsonc').getIn(await read(p), [container, 'omnispindle']) as { args?: string[] };
      expect(entry.args?.slice(0, 2)).toEqual([LAUNCHER, 'exec']);
    }
    await unwireClients(base);
    for (const [k, p] of Object.entries(files)) expect(await read(p)).toBe(originals[k]);
  });
});
