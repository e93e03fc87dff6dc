/**
 * `omni-auth mcp list [--json]`: every supported client, its config file(s), whether each exists, and
 * which servers in it go through omni-auth. Reads only; a file that does not parse is listed with
 * its error.
 */
import { isOmniAuthError } from '../util/errors.js';
import { readText } from './apply.js';
import { configError } from './errors.js';
import { editorFor } from './formats/index.js';
import type { Scope } from './registry.js';
import { DEFAULT_ENV_VAR, expandContainers, selectFiles, type TargetOptions } from './wire-clients.js';
import { detectWiring, pinnedProfile, proxiedUrl, transportOf, type Transport, type Wiring } from './wire.js';

export interface ListOptions extends TargetOptions {
  envVar?: string;
  launcherPath?: string;
  /** The profile entries wired without `--profile` run with (settings.json's default_profile); default "default". */
  defaultProfile?: string;
}

export interface ListedServer {
  name: string;
  /** The container path inside the file, e.g. ["mcpServers"] or ["projects", "/repo", "mcpServers"]. */
  location: string[];
  transport?: Transport;
  wired: boolean;
  wiring?: Wiring;
  /** Wired through `omni-auth proxy`: the remote server's URL (doctor checks it, issue 11 §2). */
  proxyUrl?: string;
  /** The settings profile a wired entry runs with (issue 14 §3): its `--profile`, else the default profile (defaultProfile). */
  profile?: string;
  /** Wired without `--profile` (before wire14's pinning): it runs with whatever profile is the default when it starts. */
  followsDefault?: boolean;
}

export interface ListedFile {
  scope: Scope;
  /** Another install of the client (VS Code Insiders, Cline in Cursor, Cline CLI): which one. */
  extra?: string;
  path: string;
  exists: boolean;
  /** Other places this client's file can be, not used because `path` exists or is preferred. */
  others: string[];
  format: string;
  error?: { code: string; message: string; line?: number; column?: number };
  servers: ListedServer[];
}

export interface ListedClient {
  id: string;
  name: string;
  files: ListedFile[];
}

export interface ClientList {
  clients: ListedClient[];
}

export async function listClients(options: ListOptions = {}): Promise<ClientList> {
  // Every client, also those whose files do not exist: selectFiles only filters by --client.
  const { files } = selectFiles(options);
  const wiringOpts = { envVar: options.envVar ?? DEFAULT_ENV_VAR, ...(options.launcherPath ? { launcherPath: options.launcherPath } : {}) };
  const clients: ListedClient[] = [];
  for (const file of files) {
    const listed: ListedFile = {
      scope: file.scope, ...(file.extra !== undefined ? { extra: file.extra } : {}), path: file.path, exists: false, others: file.others, format: file.client.format, servers: [],
    };
    try {
      const read = await readText(file.path);
      if (read) {
        listed.exists = true;
        const editor = editorFor(file.client.format);
        const doc = editor.getIn(read.text, []);
        for (const { location, container } of expandContainers(doc, file.containers)) {
          for (const [name, entry] of Object.entries(container)) {
            const wiring = detectWiring(entry, file.client.entry, wiringOpts);
            const transport = transportOf(entry, file.client.entry);
            const proxyUrl = wiring === 'proxy' ? proxiedUrl(entry, file.client.entry, options.launcherPath) : undefined;
            // Entries that store a token (env-token, header-token) carry no profile: only those that run omni-auth do.
            const runs = wiring === 'exec' || wiring === 'proxy' || wiring === 'headers-helper';
            const pinned = runs ? pinnedProfile(entry, file.client.entry, options.launcherPath) : undefined;
            const profile = runs ? pinned ?? options.defaultProfile ?? 'default' : undefined;
            listed.servers.push({
              name, location, ...(transport ? { transport } : {}), wired: wiring !== undefined, ...(wiring ? { wiring } : {}), ...(proxyUrl ? { proxyUrl } : {}), ...(profile ? { profile } : {}),
              ...(runs && pinned === undefined ? { followsDefault: true } : {}),
            });
          }
        }
      }
    } catch (e) {
      listed.exists = true;
      const err = configError(file.path, e);
      const details = isOmniAuthError(err) ? err.details ?? {} : {};
      listed.error = {
        code: isOmniAuthError(err) ? err.code : 'internal',
        message: err instanceof Error ? err.message : String(err),
        ...(typeof details.line === 'number' ? { line: details.line } : {}),
        ...(typeof details.column === 'number' ? { column: details.column } : {}),
      };
    }
    let client = clients.find((c) => c.id === file.client.id);
    if (!client) clients.push((client = { id: file.client.id, name: file.client.name, files: [] }));
    client.files.push(listed);
  }
  return { clients };
}

const WIRING_LABEL: Record<Wiring, string> = {
  exec: 'via omni-auth exec',
  proxy: 'via omni-auth proxy',
  'headers-helper': 'via headersHelper',
  'env-token': 'token in env (expires)',
  'header-token': 'token in headers (expires)',
};

/** The human-readable table (for stdout when --json is not given). */
export function renderList(list: ClientList): string {
  const lines: string[] = [];
  for (const c of list.clients) {
    lines.push(`${c.name} (${c.id})`);
    for (const f of c.files) {
      // A project file is listed, never wired without --project (issue 9 §2).
      const state = f.error ? `error: ${f.error.message}` : !f.exists ? 'not found' : f.scope === 'project' ? 'touched only with --project' : '';
      const extra = f.extra !== undefined ? `  (${f.extra})` : '';
      lines.push(`  ${f.scope.padEnd(8)}${f.path}${extra}${state ? `  [${state}]` : ''}`);
      const width = Math.max(0, ...f.servers.map((s) => s.name.length));
      for (const s of f.servers) {
        const where = s.location.length > 1 ? `  (${s.location.join(' > ')})` : '';
        // Pinned (`--profile NAME`, "default" too): named. Unpinned: named only when the default is not "default".
        const profile = s.profile === undefined ? ''
          : !s.followsDefault ? `  [profile ${s.profile}]`
            : s.profile !== 'default' ? `  [profile ${s.profile}: the default profile, no --profile in the entry]` : '';
        lines.push(`            ${s.name.padEnd(width)}  ${(s.transport ?? '?').padEnd(6)}  ${s.wiring ? WIRING_LABEL[s.wiring] : 'not wired'}${profile}${where}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
