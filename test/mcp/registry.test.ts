/** Where each client's config file is, per OS, with every root overridable by the environment. */
import { describe, expect, it } from 'vitest';
import { CLIENTS, resolveFiles, type ResolvedFile } from '../../src/mcp/registry.js';
import type { FsProbe, ResolveContext } from '../../src/mcp/roots.js';

function fakeFs(files: string[] = [], dirs: Record<string, string[]> = {}): FsProbe {
  return { exists: (p) => files.includes(p) || p in dirs, list: (d) => dirs[d] ?? [] };
}

function paths(ctx: ResolveContext): Record<string, string> {
  return Object.fromEntries(resolveFiles(ctx).map((f: ResolvedFile) => [`${f.client.id}:${f.scope}`, f.path]));
}

describe('registry', () => {
  it('has one row per client, each with a user file, and unique ids', () => {
    const ids = CLIENTS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['claude-desktop', 'claude-code', 'cursor', 'vscode', 'windsurf', 'gemini', 'zed', 'cline', 'codex', 'goose']));
    for (const c of CLIENTS) expect(c.files.some((f) => f.scope === 'user')).toBe(true);
  });

  it('resolves Linux paths from HOME, and XDG_CONFIG_HOME where the client follows it', () => {
    const base = { platform: 'linux' as const, cwd: '/work/app', fs: fakeFs() };
    expect(paths({ ...base, env: { HOME: '/home/u' } })).toEqual({
      'claude-desktop:user': '/home/u/.config/Claude/claude_desktop_config.json',
      'claude-code:user': '/home/u/.claude.json',
      'claude-code:project': '/work/app/.mcp.json',
      'cursor:user': '/home/u/.cursor/mcp.json',
      'cursor:project': '/work/app/.cursor/mcp.json',
      'vscode:user': '/home/u/.config/Code/User/mcp.json',
      'vscode:project': '/work/app/.vscode/mcp.json',
      'windsurf:user': '/home/u/.codeium/windsurf/mcp_config.json',
      'gemini:user': '/home/u/.gemini/settings.json',
      'gemini:project': '/work/app/.gemini/settings.json',
      'zed:user': '/home/u/.config/zed/settings.json',
      'zed:project': '/work/app/.zed/settings.json',
      'cline:user': '/home/u/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json',
      'codex:user': '/home/u/.codex/config.toml',
      'goose:user': '/home/u/.config/goose/config.yaml',
    });
    const xdg = paths({ ...base, env: { HOME: '/home/u', XDG_CONFIG_HOME: '/xdg', CLAUDE_CONFIG_DIR: '/cc', CODEX_HOME: '/cx' } });
    expect(xdg).toMatchObject({
      'claude-desktop:user': '/xdg/Claude/claude_desktop_config.json',
      'claude-code:user': '/cc/.claude.json',
      'vscode:user': '/xdg/Code/User/mcp.json',
      'zed:user': '/xdg/zed/settings.json',
      'cline:user': '/xdg/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json',
      'codex:user': '/cx/config.toml',
      'goose:user': '/xdg/goose/config.yaml',
      // Not config-dir based: HOME only.
      'cursor:user': '/home/u/.cursor/mcp.json',
    });
  });

  it('finds the Flatpak VS Code, Cline and Zed files when only they exist, and prefers the native ones', () => {
    const flatpakCode = '/home/u/.var/app/com.visualstudio.code/config/Code/User';
    const flatpakZed = '/home/u/.var/app/dev.zed.Zed/config/zed/settings.json';
    const cline = 'globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json';
    const onlyFlatpak = fakeFs([`${flatpakCode}/mcp.json`, `${flatpakCode}/${cline}`, flatpakZed]);
    const files = resolveFiles({ env: { HOME: '/home/u' }, platform: 'linux', cwd: '/w', fs: onlyFlatpak });
    const byKey = Object.fromEntries(files.map((f) => [`${f.client.id}:${f.scope}`, f]));
    expect(byKey['vscode:user']).toMatchObject({ path: `${flatpakCode}/mcp.json`, exists: true, others: ['/home/u/.config/Code/User/mcp.json'] });
    expect(byKey['cline:user']).toMatchObject({ path: `${flatpakCode}/${cline}`, exists: true });
    expect(byKey['zed:user']).toMatchObject({ path: flatpakZed, exists: true });

    const both = fakeFs([`${flatpakCode}/mcp.json`, '/home/u/.config/Code/User/mcp.json']);
    const vs = resolveFiles({ env: { HOME: '/home/u' }, platform: 'linux', cwd: '/w', fs: both }).find((f) => f.client.id === 'vscode' && f.scope === 'user');
    expect(vs).toMatchObject({ path: '/home/u/.config/Code/User/mcp.json', exists: true, others: [`${flatpakCode}/mcp.json`] });
  });

  it('resolves macOS paths: Application Support, but ~/.config for Zed whatever XDG_CONFIG_HOME says', () => {
    const p = paths({ env: { HOME: '/Users/u', XDG_CONFIG_HOME: '/xdg' }, platform: 'darwin', cwd: '/Users/u/app', fs: fakeFs() });
    expect(p).toMatchObject({
      'claude-desktop:user': '/Users/u/Library/Application Support/Claude/claude_desktop_config.json',
      'claude-code:user': '/Users/u/.claude.json',
      'vscode:user': '/Users/u/Library/Application Support/Code/User/mcp.json',
      'cline:user': '/Users/u/Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json',
      'zed:user': '/Users/u/.config/zed/settings.json',
      // Goose follows XDG on macOS too.
      'goose:user': '/xdg/goose/config.yaml',
      'codex:user': '/Users/u/.codex/config.toml',
    });
  });

  it('resolves Windows paths from USERPROFILE, APPDATA and LOCALAPPDATA', () => {
    const env = { USERPROFILE: 'C:\\Users\\u', APPDATA: 'D:\\Roaming', LOCALAPPDATA: 'D:\\Local', HOME: '/ignored' };
    expect(paths({ env, platform: 'win32', cwd: 'C:\\work\\app', fs: fakeFs() })).toEqual({
      'claude-desktop:user': 'D:\\Roaming\\Claude\\claude_desktop_config.json',
      'claude-code:user': 'C:\\Users\\u\\.claude.json',
      'claude-code:project': 'C:\\work\\app\\.mcp.json',
      'cursor:user': 'C:\\Users\\u\\.cursor\\mcp.json',
      'cursor:project': 'C:\\work\\app\\.cursor\\mcp.json',
      'vscode:user': 'D:\\Roaming\\Code\\User\\mcp.json',
      'vscode:project': 'C:\\work\\app\\.vscode\\mcp.json',
      'windsurf:user': 'C:\\Users\\u\\.codeium\\windsurf\\mcp_config.json',
      'gemini:user': 'C:\\Users\\u\\.gemini\\settings.json',
      'gemini:project': 'C:\\work\\app\\.gemini\\settings.json',
      'zed:user': 'D:\\Roaming\\Zed\\settings.json',
      'zed:project': 'C:\\work\\app\\.zed\\settings.json',
      'cline:user': 'D:\\Roaming\\Code\\User\\globalStorage\\saoudrizwan.claude-dev\\settings\\cline_mcp_settings.json',
      'codex:user': 'C:\\Users\\u\\.codex\\config.toml',
      'goose:user': 'D:\\Roaming\\Block\\goose\\config\\config.yaml',
    });
    // Without APPDATA/LOCALAPPDATA: the defaults under the profile.
    expect(paths({ env: { USERPROFILE: 'C:\\Users\\u', CODEX_HOME: 'E:\\codex' }, platform: 'win32', cwd: 'C:\\w', fs: fakeFs() })).toMatchObject({
      'claude-desktop:user': 'C:\\Users\\u\\AppData\\Roaming\\Claude\\claude_desktop_config.json',
      'codex:user': 'E:\\codex\\config.toml',
    });
  });

  it('uses the Claude Desktop MSIX config when the Store package is installed, ignoring %APPDATA%', () => {
    const env = { USERPROFILE: 'C:\\Users\\u', APPDATA: 'C:\\Users\\u\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' };
    const packages = 'C:\\Users\\u\\AppData\\Local\\Packages';
    const msix = `${packages}\\Claude_pzs8sxrjxfjjc\\LocalCache\\Roaming\\Claude\\claude_desktop_config.json`;
    const legacy = 'C:\\Users\\u\\AppData\\Roaming\\Claude\\claude_desktop_config.json';
    const desktop = (fs: FsProbe) => resolveFiles({ env, platform: 'win32', cwd: 'C:\\w', fs }).find((f) => f.client.id === 'claude-desktop');

    const dirs = { [packages]: ['Microsoft.WindowsTerminal_8wekyb3d8bbwe', 'Claude_pzs8sxrjxfjjc'] };
    expect(desktop(fakeFs([msix, legacy], dirs))).toMatchObject({ path: msix, exists: true });
    // Installed but never configured: the MSIX file is still the one the app will read.
    expect(desktop(fakeFs([legacy], dirs))).toMatchObject({ path: msix, exists: false });
    // No Store package: the classic installer's file.
    expect(desktop(fakeFs([legacy], { [packages]: ['Microsoft.WindowsTerminal_8wekyb3d8bbwe'] }))).toMatchObject({ path: legacy, exists: true });
  });

  describe('other installs of VS Code and Cline (issue 9 §18): found, each as a file of its own, when they exist', () => {
    const cline = ['globalStorage', 'saoudrizwan.claude-dev', 'settings', 'cline_mcp_settings.json'];
    const found = (ctx: ResolveContext) => resolveFiles(ctx).filter((f) => f.extra !== undefined).map((f) => [f.client.id, f.extra, f.path, f.exists]);

    it('Linux: Code - Insiders and Cursor under XDG_CONFIG_HOME, the Cline CLI under ~/.cline/data', () => {
      const insiders = '/xdg/Code - Insiders/User';
      const files = [`${insiders}/mcp.json`, `${insiders}/${cline.join('/')}`, `/xdg/Cursor/User/${cline.join('/')}`, '/home/u/.cline/data/settings/cline_mcp_settings.json'];
      expect(found({ env: { HOME: '/home/u', XDG_CONFIG_HOME: '/xdg' }, platform: 'linux', cwd: '/w', fs: fakeFs(files) })).toEqual([
        ['vscode', 'VS Code Insiders', `${insiders}/mcp.json`, true],
        ['cline', 'Cline in VS Code Insiders', `${insiders}/${cline.join('/')}`, true],
        ['cline', 'Cline in Cursor', `/xdg/Cursor/User/${cline.join('/')}`, true],
        ['cline', 'Cline CLI', '/home/u/.cline/data/settings/cline_mcp_settings.json', true],
      ]);
      // Without XDG_CONFIG_HOME: ~/.config.
      const dflt = ['/home/u/.config/Code - Insiders/User/mcp.json', `/home/u/.config/Cursor/User/${cline.join('/')}`];
      expect(found({ env: { HOME: '/home/u' }, platform: 'linux', cwd: '/w', fs: fakeFs(dflt) }).map((f) => f[2])).toEqual(dflt);
    });

    it('macOS: Application Support for Insiders and Cursor; ~/.cline/data for the CLI', () => {
      const sup = '/Users/u/Library/Application Support';
      const files = [`${sup}/Code - Insiders/User/mcp.json`, `${sup}/Code - Insiders/User/${cline.join('/')}`, `${sup}/Cursor/User/${cline.join('/')}`, '/Users/u/.cline/data/settings/cline_mcp_settings.json'];
      expect(found({ env: { HOME: '/Users/u', XDG_CONFIG_HOME: '/xdg' }, platform: 'darwin', cwd: '/w', fs: fakeFs(files) }).map((f) => f[2])).toEqual(files);
    });

    it('Windows: %APPDATA% for Insiders and Cursor; %USERPROFILE%\\.cline\\data for the CLI', () => {
      const env = { USERPROFILE: 'C:\\Users\\u', APPDATA: 'D:\\Roaming' };
      const files = [
        'D:\\Roaming\\Code - Insiders\\User\\mcp.json',
        `D:\\Roaming\\Code - Insiders\\User\\${cline.join('\\')}`,
        `D:\\Roaming\\Cursor\\User\\${cline.join('\\')}`,
        'C:\\Users\\u\\.cline\\data\\settings\\cline_mcp_settings.json',
      ];
      expect(found({ env, platform: 'win32', cwd: 'C:\\w', fs: fakeFs(files) }).map((f) => f[2])).toEqual(files);
    });

    it("the Cline CLI's directory follows CLINE_DATA_DIR, then CLINE_DIR, like Cline itself", () => {
      const at = (env: NodeJS.ProcessEnv, file: string) =>
        found({ env, platform: 'linux', cwd: '/w', fs: fakeFs([file]) }).find((f) => f[1] === 'Cline CLI')?.[2];
      expect(at({ HOME: '/home/u', CLINE_DIR: '/c' }, '/c/data/settings/cline_mcp_settings.json')).toBe('/c/data/settings/cline_mcp_settings.json');
      expect(at({ HOME: '/home/u', CLINE_DIR: '/c', CLINE_DATA_DIR: '/d' }, '/d/settings/cline_mcp_settings.json')).toBe('/d/settings/cline_mcp_settings.json');
    });

    it('an install that is not there adds no file (nothing reported missing, nothing created); the main VS Code and Cline files stay first', () => {
      const files = resolveFiles({ env: { HOME: '/home/u' }, platform: 'linux', cwd: '/w', fs: fakeFs() });
      expect(files.filter((f) => f.extra !== undefined)).toEqual([]);
      const both = fakeFs(['/home/u/.config/Code/User/mcp.json', '/home/u/.config/Code - Insiders/User/mcp.json']);
      const vscode = resolveFiles({ env: { HOME: '/home/u' }, platform: 'linux', cwd: '/w', fs: both }).filter((f) => f.client.id === 'vscode' && f.scope === 'user');
      expect(vscode.map((f) => [f.path, f.extra])).toEqual([
        ['/home/u/.config/Code/User/mcp.json', undefined],
        ['/home/u/.config/Code - Insiders/User/mcp.json', 'VS Code Insiders'],
      ]);
    });
  });
});
