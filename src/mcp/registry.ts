/**
 * Every supported MCP client in one table: where its config files are on each OS, their format, where
 * the servers live inside them, and how a server entry looks. Adding a client is adding one row here
 * (and its fixtures in test/fixtures/mcp/). Facts: ../../../shared/reference/mcp-clients.md.
 */
import type { ConfigFormat } from './formats/index.js';
import { claudeMsixConfigs, editorUserDir, roots, vscodeUserDirs, type ResolveContext, type Roots } from './roots.js';

export type Scope = 'user' | 'project';

/** How a client spells a server entry. */
export interface EntryShape {
  command: string;
  args: string;
  env: string;
  /** Keys holding a remote server's address; an entry with one of them and no command is remote. */
  url: readonly string[];
  /** Where a remote entry's request headers go; absent when the client takes no remote entries. */
  headers?: string;
  /** A command the client runs to get request headers (Claude Code's `headersHelper`). */
  headersHelper?: string;
  /** Keys of a remote entry the client refuses on a stdio one (Codex: `http_headers`): moved out when proxied. */
  stdioRefuses?: readonly string[];
  /** A new stdio entry, before wiring. */
  stdio(name: string, command: string, args: string[]): Record<string, unknown>;
  /** A new remote entry, before wiring; absent when the client takes no remote entries. */
  remote?(name: string, url: string): Record<string, unknown>;
}

export interface ConfigFileSpec {
  scope: Scope;
  /** Candidate paths for this OS, best first: the first that exists is used, else the first. */
  paths(r: Roots): string[];
  /** Where servers live in the file; '*' stands for every key at that level. */
  containers: ReadonlyArray<readonly string[]>;
  /**
   * Another install of the same client beside the main one (VS Code Insiders, Cline inside Cursor,
   * Cline's CLI), named for people: its file is used, as a file of its own, only when it exists — a
   * missing one is not reported and `mcp add` never creates it.
   */
  extra?: string;
}

export interface ClientSpec {
  id: string;
  name: string;
  format: ConfigFormat;
  files: readonly ConfigFileSpec[];
  entry: EntryShape;
  /** When the client sees a changed file, for the message after writing. */
  reload: string;
}

type PerOs = Partial<Record<'darwin' | 'win32', (r: Roots) => string[]>> & { other: (r: Roots) => string[] };
const perOs = (table: PerOs) => (r: Roots): string[] =>
  (r.platform === 'darwin' || r.platform === 'win32' ? table[r.platform] : undefined)?.(r) ?? table.other(r);
const everywhere = (...parts: string[]) => (r: Roots): string[] => [r.join(r.home, ...parts)];
const inProject = (...parts: string[]) => (r: Roots): string[] => [r.join(r.cwd, ...parts)];

const MCP_SERVERS = [['mcpServers']] as const;
const CLINE_SETTINGS = ['globalStorage', 'saoudrizwan.claude-dev', 'settings', 'cline_mcp_settings.json'] as const;
const INSIDERS = 'Code - Insiders';

/** The common shape: command/args/env, remote `url` + `headers`. */
function shape(overrides: Partial<EntryShape> & { stdioType?: string; remoteType?: string } = {}): EntryShape {
  const { stdioType, remoteType, ...rest } = overrides;
  return {
    command: 'command',
    args: 'args',
    env: 'env',
    url: ['url'],
    headers: 'headers',
    stdio: (_name, command, args) => ({ ...(stdioType ? { type: stdioType } : {}), command, args }),
    remote: (_name, url) => ({ ...(remoteType ? { type: remoteType } : {}), url }),
    ...rest,
  };
}

export const CLIENTS: readonly ClientSpec[] = [
  {
    id: 'claude-desktop',
    name: 'Claude Desktop',
    format: 'json',
    files: [{
      scope: 'user',
      paths: perOs({
        darwin: (r) => [r.join(r.macSupport, 'Claude', 'claude_desktop_config.json')],
        // With the MSIX build installed, %APPDATA%\Claude is ignored by the app: not a candidate.
        win32: (r) => {
          const msix = claudeMsixConfigs(r);
          return msix.length > 0 ? msix : [r.join(r.appData, 'Claude', 'claude_desktop_config.json')];
        },
        other: (r) => [r.join(r.xdgConfig, 'Claude', 'claude_desktop_config.json')],
      }),
      containers: MCP_SERVERS,
    }],
    // Entries with `url` are skipped by Claude Desktop: no remote shape, no headers.
    entry: { ...shape(), headers: undefined, remote: undefined },
    reload: 'quit and restart Claude Desktop',
  },
  {
    id: 'claude-code',
    name: 'Claude Code',
    format: 'json',
    files: [
      { scope: 'user', paths: (r) => [r.join(r.claudeCodeDir, '.claude.json')], containers: [['mcpServers'], ['projects', '*', 'mcpServers']] },
      { scope: 'project', paths: inProject('.mcp.json'), containers: MCP_SERVERS },
    ],
    entry: { ...shape({ stdioType: 'stdio', remoteType: 'http' }), headersHelper: 'headersHelper', stdio: (_n, command, args) => ({ type: 'stdio', command, args, env: {} }) },
    reload: 'start a new Claude Code session or run /mcp to reconnect',
  },
  {
    id: 'cursor',
    name: 'Cursor',
    format: 'json',
    files: [
      { scope: 'user', paths: everywhere('.cursor', 'mcp.json'), containers: MCP_SERVERS },
      { scope: 'project', paths: inProject('.cursor', 'mcp.json'), containers: MCP_SERVERS },
    ],
    entry: shape(),
    reload: 'Cursor reloads the file by itself',
  },
  {
    id: 'vscode',
    name: 'VS Code',
    format: 'jsonc',
    files: [
      { scope: 'user', paths: (r) => vscodeUserDirs(r).map((d) => r.join(d, 'mcp.json')), containers: [['servers']] },
      { scope: 'user', extra: 'VS Code Insiders', paths: (r) => [r.join(editorUserDir(r, INSIDERS), 'mcp.json')], containers: [['servers']] },
      { scope: 'project', paths: inProject('.vscode', 'mcp.json'), containers: [['servers']] },
    ],
    entry: shape({ stdioType: 'stdio', remoteType: 'http' }),
    reload: 'VS Code picks the change up when the server is (re)started',
  },
  {
    id: 'windsurf',
    name: 'Windsurf',
    format: 'json',
    files: [{ scope: 'user', paths: everywhere('.codeium', 'windsurf', 'mcp_config.json'), containers: MCP_SERVERS }],
    entry: shape({ url: ['serverUrl', 'url'], remote: (_n, url) => ({ serverUrl: url }) }),
    reload: 'refresh the MCP servers in Windsurf or restart it',
  },
  {
    id: 'gemini',
    name: 'Gemini CLI',
    format: 'jsonc',
    files: [
      { scope: 'user', paths: everywhere('.gemini', 'settings.json'), containers: MCP_SERVERS },
      { scope: 'project', paths: inProject('.gemini', 'settings.json'), containers: MCP_SERVERS },
    ],
    entry: shape({ url: ['httpUrl', 'url'], remote: (_n, url) => ({ httpUrl: url }) }),
    reload: 'restart Gemini CLI',
  },
  {
    id: 'zed',
    name: 'Zed',
    format: 'jsonc',
    files: [
      {
        scope: 'user',
        paths: perOs({
          // Zed uses ~/.config/zed on macOS too, whatever XDG_CONFIG_HOME says.
          darwin: (r) => [r.join(r.home, '.config', 'zed', 'settings.json')],
          win32: (r) => [r.join(r.appData, 'Zed', 'settings.json')],
          other: (r) => [r.join(r.xdgConfig, 'zed', 'settings.json'), r.join(r.home, '.var', 'app', 'dev.zed.Zed', 'config', 'zed', 'settings.json')],
        }),
        containers: [['context_servers']],
      },
      { scope: 'project', paths: inProject('.zed', 'settings.json'), containers: [['context_servers']] },
    ],
    entry: shape({ stdio: (_n, command, args) => ({ command, args, env: {} }), remote: (_n, url) => ({ url, headers: {} }) }),
    reload: 'Zed restarts changed context servers by itself',
  },
  {
    id: 'cline',
    name: 'Cline',
    format: 'json',
    files: [
      { scope: 'user', paths: (r) => vscodeUserDirs(r).map((d) => r.join(d, ...CLINE_SETTINGS)), containers: MCP_SERVERS },
      { scope: 'user', extra: 'Cline in VS Code Insiders', paths: (r) => [r.join(editorUserDir(r, INSIDERS), ...CLINE_SETTINGS)], containers: MCP_SERVERS },
      { scope: 'user', extra: 'Cline in Cursor', paths: (r) => [r.join(editorUserDir(r, 'Cursor'), ...CLINE_SETTINGS)], containers: MCP_SERVERS },
      // Cline's CLI (and the extension since 4.x) keep their settings in Cline's data directory.
      { scope: 'user', extra: 'Cline CLI', paths: (r) => [r.join(r.clineData, 'settings', 'cline_mcp_settings.json')], containers: MCP_SERVERS },
    ],
    entry: shape({ remoteType: 'streamableHttp' }),
    reload: 'Cline reloads the file by itself',
  },
  {
    id: 'codex',
    name: 'OpenAI Codex',
    format: 'toml',
    files: [{ scope: 'user', paths: (r) => [r.join(r.codexHome, 'config.toml')], containers: [['mcp_servers']] }],
    // An inline `bearer_token` is rejected by Codex: tokens go in http_headers.
    entry: shape({ headers: 'http_headers', stdioRefuses: ['http_headers'] }),
    reload: 'restart Codex',
  },
  {
    id: 'goose',
    name: 'Goose',
    format: 'yaml',
    files: [{
      scope: 'user',
      paths: perOs({
        win32: (r) => [r.join(r.appData, 'Block', 'goose', 'config', 'config.yaml')],
        other: (r) => [r.join(r.xdgConfig, 'goose', 'config.yaml')],
      }),
      containers: [['extensions']],
    }],
    entry: {
      command: 'cmd',
      args: 'args',
      env: 'envs',
      url: ['uri'],
      headers: 'headers',
      stdio: (name, cmd, args) => ({ enabled: true, type: 'stdio', name, cmd, args, envs: {}, env_keys: [], description: '', timeout: 300 }),
      remote: (name, uri) => ({ enabled: true, type: 'streamable_http', name, uri, envs: {}, env_keys: [], headers: {}, description: '', timeout: 300 }),
    },
    reload: 'restart Goose',
  },
];

export function findClient(id: string): ClientSpec | undefined {
  return CLIENTS.find((c) => c.id === id);
}

/** One config file of one client, resolved for an OS and environment. */
export interface ResolvedFile {
  client: ClientSpec;
  scope: Scope;
  path: string;
  exists: boolean;
  /** Other places this client's file may be, not used because `path` was preferred. */
  others: string[];
  containers: ReadonlyArray<readonly string[]>;
  /** Set for another install of the client (ConfigFileSpec.extra): which one. */
  extra?: string;
}

export function resolveFiles(ctx: ResolveContext, clients: readonly ClientSpec[] = CLIENTS): ResolvedFile[] {
  const r = roots(ctx);
  return clients.flatMap((client) =>
    client.files.flatMap((spec): ResolvedFile[] => {
      const candidates = spec.paths(r);
      const existing = candidates.find((p) => r.fs.exists(p));
      if (spec.extra !== undefined && existing === undefined) return [];
      const path = existing ?? (candidates[0] as string);
      return [{
        client, scope: spec.scope, path, exists: existing !== undefined, others: candidates.filter((p) => p !== path), containers: spec.containers,
        ...(spec.extra !== undefined ? { extra: spec.extra } : {}),
      }];
    }),
  );
}
