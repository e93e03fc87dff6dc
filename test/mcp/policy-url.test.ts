/**
 * Tokens go only to https:// URLs, http only on loopback (issue 9 §2), through the public API on a
 * temporary home: a remote entry with a plain-http URL in the user's own file is left alone.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { displayUrl, isLoopbackHost, urlVerdict, wireClients } from '../../src/mcp/index.js';
import { Secret } from '../../src/util/secret.js';
import { JWT, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

describe('urlVerdict', () => {
  it.each([
    ['https://mcp.example.com/mcp', 'mcp.example.com'],
    ['https://mcp.example.com:8443/mcp', 'mcp.example.com:8443'],
    ['http://localhost:3000/mcp', 'localhost:3000'],
    ['http://127.0.0.1/mcp', '127.0.0.1'],
    ['http://127.8.9.10:1/mcp', '127.8.9.10:1'],
    ['http://[::1]:8080/mcp', '[::1]:8080'],
    ['HTTP://LOCALHOST/mcp', 'localhost'],
  ])('accepts %s', (url, host) => {
    expect(urlVerdict(url)).toEqual({ ok: true, host });
  });

  it.each([
    'http://mcp.example.com/mcp',
    'http://localhost.attacker.example/mcp',
    'http://127.0.0.1.nip.io/mcp',
    'http://10.0.0.5/mcp',
    'http://0.0.0.0:3000/mcp',
    'http://[::ffff:10.0.0.1]/mcp',
    'ws://mcp.example.com/mcp',
    'ftp://mcp.example.com/',
    'javascript:alert(1)',
    'mcp.example.com/mcp',
    '',
  ])('refuses %j', (url) => {
    const v = urlVerdict(url);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/https:\/\/|not a URL/);
  });

  it('displayUrl keeps neither a password nor a query (they may hold secrets)', () => {
    expect(displayUrl('https://u:pw@mcp.example.com/mcp?api_key=sk_live_x#f')).toBe('https://mcp.example.com/mcp?…');
    expect(displayUrl('http://mcp.example.com/mcp')).toBe('http://mcp.example.com/mcp');
    expect(displayUrl('nope')).toBe('<not a URL>');
  });

  it('loopback is localhost, 127/8 and ::1 only', () => {
    expect(['localhost', '127.0.0.1', '127.255.255.254', '[::1]', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['localhost.example', '128.0.0.1', '0.0.0.0', '::', 'example.com', '127.1'].some(isLoopbackHost)).toBe(false);
  });
});

describe('wiring a remote entry in a user file', () => {
  let home: TempHome;
  let path: string;
  const text = (url: string) => `{
  "mcpServers": {
    "omnispindle": { "url": ${JSON.stringify(url)} }
  }
}
`;
  beforeEach(async () => {
    home = await tempHome();
    path = join(home.dir, '.cursor', 'mcp.json');
    await mkdir(dirname(path), { recursive: true });
  });
  afterEach(() => home.cleanup());
  const base = () => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, clients: ['cursor', 'claude-code'], launcherPath: LAUNCHER, nodePath: NODE });

  it('plain http (not loopback): left alone with the reason, no token in the file', async () => {
    const original = text('http://mcp.example.com/mcp');
    await writeFile(path, original);
    const getToken = vi.fn(async () => new Secret(JWT));
    const r = await wireClients({ ...base(), getToken });
    const file = r.files.find((f) => f.path === path);
    expect(file).toMatchObject({ status: 'unchanged', servers: [{ outcome: 'skipped', code: 'insecure_url' }] });
    expect(file!.servers[0]!.reason).toContain('https://');
    expect(await readFile(path, 'utf8')).toBe(original);
    // No token is even fetched for an entry that will not get one.
    expect(getToken).not.toHaveBeenCalled();
  });

  it('plain http: no headersHelper either (Claude Code), the file left as it was', async () => {
    const claude = join(home.dir, '.claude.json');
    const original = `{"mcpServers":{"omnispindle":{"type":"http","url":"http://mcp.example.com/mcp"}}}\n`;
    await writeFile(claude, original);
    const r = await wireClients(base());
    expect(r.files.find((f) => f.path === claude)).toMatchObject({ status: 'unchanged', servers: [{ outcome: 'skipped', code: 'insecure_url' }] });
    expect(await readFile(claude, 'utf8')).toBe(original);
  });

  it.each(['https://mcp.example.com/mcp', 'http://localhost:8080/mcp', 'http://127.0.0.1:8080/mcp'])('%s is wired', async (url) => {
    await writeFile(path, text(url));
    const r = await wireClients({ ...base(), getToken: async () => new Secret(JWT) });
    expect(r.files.find((f) => f.path === path)).toMatchObject({ status: 'changed', servers: [{ outcome: 'wired', wiring: 'proxy' }] });
    const headers = await wireClients({ ...base(), mode: 'headers', getToken: async () => new Secret(JWT) });
    expect(headers.files.find((f) => f.path === path)).toMatchObject({ status: 'changed', servers: [{ outcome: 'wired', wiring: 'header-token' }] });
  });

  it('an entry with two URL keys (Windsurf serverUrl + url) is wired only when both are https', async () => {
    const windsurf = join(home.dir, '.codeium', 'windsurf', 'mcp_config.json');
    await mkdir(dirname(windsurf), { recursive: true });
    const original = `{"mcpServers":{"omnispindle":{"serverUrl":"https://mcp.example.com/mcp","url":"http://evil.example/mcp"}}}\n`;
    await writeFile(windsurf, original);
    const getToken = vi.fn(async () => new Secret(JWT));
    const r = await wireClients({ ...base(), clients: ['windsurf'], getToken });
    expect(r.files.find((f) => f.path === windsurf)).toMatchObject({ status: 'unchanged', servers: [{ outcome: 'skipped', code: 'insecure_url' }] });
    expect(await readFile(windsurf, 'utf8')).toBe(original);
    expect(getToken).not.toHaveBeenCalled();
  });
});
