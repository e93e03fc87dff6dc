/**
 * Where omni-auth lets a token go (issue 9 §2). Three rules, each decided here and nowhere else:
 *
 * 1. Project-scope files (`.mcp.json`, `.cursor/mcp.json`, `.vscode/mcp.json`, `.gemini/settings.json`,
 *    `.zed/settings.json` in the current directory) are touched only when the user names them
 *    (`--project`): the CLI picks the scope (selectFiles' `scope`), a bare `login` never sees them.
 * 2. In a project-scope file only exec wiring is allowed (the entry runs `omni-auth exec`, which
 *    fetches a token at each start and stores none). Anything that would put a token into the file
 *    (`--mode env`, a bearer header) or send one to a URL the repository chose (a header, a
 *    `headersHelper`) is refused: the file is committed and shared, and its author is not the user.
 * 3. A token goes only to an `https://` URL, or `http://` on loopback: a remote entry anywhere whose
 *    URL is plain http elsewhere (or not a URL) is left alone.
 *
 * Why not also require a remote entry's host to match something (the tenant's audience, an allow-list)?
 * "Never send a token to a host the user did not choose" is held by who wrote the entry rather than by
 * its host: after rule 2 a token reaches a remote host only from the user's own config files (written
 * by the user or by their client on their behalf, never by a cloned repository) or from `mcp add --url`
 * typed by the user — and `login`/`mcp wire` name every such host on stderr before writing, `--dry-run`
 * included (recipients() below). A host check against the audience would break the common setups where
 * the MCP server's host is not the API identifier (audiences are often not URLs at all), and an
 * allow-list would be one more setting that users fill in by copying the host they already typed.
 * Should omni-auth ever wire files a third party can write, this is the place to add such a check.
 */
import { isLoopbackHost } from '../config/domain.js';
import { readText } from './apply.js';
import { editorFor } from './formats/index.js';
import { parseOrThrow } from './formats/types.js';
import type { EntryShape, ResolvedFile, Scope } from './registry.js';
import { selectFiles, targets, type TargetOptions } from './wire-clients.js';
import { detectWiring, transportOf, type WireMode } from './wire.js';
import { isPlainObject } from './formats/structural.js';

/** Why the policy left an entry alone; each makes the command exit 2. */
export type PolicyCode = 'project_scope_token' | 'insecure_url';
export const POLICY_CODES: readonly string[] = ['project_scope_token', 'insecure_url'] satisfies PolicyCode[];

export interface PolicySkip {
  action: 'skipped';
  code: PolicyCode;
  reason: string;
}

/** The first of the entry's URL keys that holds a string. */
export function remoteUrl(entry: unknown, shape: EntryShape): string | undefined {
  if (!isPlainObject(entry)) return undefined;
  for (const k of shape.url) if (typeof entry[k] === 'string') return entry[k] as string;
  return undefined;
}

/** localhost, 127.0.0.0/8 and ::1 (the rule the exchange client follows too): a token sent there stays on the machine. */
export { isLoopbackHost };

export type UrlVerdict = { ok: true; host: string } | { ok: false; reason: string };

/** Whether a token may be sent to `url`: https anywhere, http on loopback only. */
export function urlVerdict(url: string): UrlVerdict {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'it is not a URL' };
  }
  if (u.protocol === 'https:') return { ok: true, host: u.host };
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return { ok: true, host: u.host };
  if (u.protocol === 'http:') {
    return { ok: false, reason: `its URL is plain http (${u.host}): a token would cross the network unencrypted; omni-auth sends tokens only to https:// URLs (http only on localhost)` };
  }
  return { ok: false, reason: `its URL "${u.protocol}//…" is not https://; omni-auth sends tokens only to https:// URLs (http only on localhost)` };
}

/**
 * The policy's answer for wiring one entry of one file, before wire.ts sees it: a skip, or undefined
 * when wiring may go ahead. Called from wireClients (wire-clients.ts), once per entry.
 */
export function policyRefusal(file: Pick<ResolvedFile, 'scope' | 'client'>, entry: unknown, shape: EntryShape, mode: WireMode): PolicySkip | undefined {
  const transport = transportOf(entry, shape);
  const acceptsRemote = shape.headers !== undefined || shape.headersHelper !== undefined;
  if (file.scope === 'project') {
    if (transport === 'stdio' && mode === 'env') return refuse('project_scope_token', PROJECT_ENV);
    if (transport === 'remote' && acceptsRemote) {
      const url = remoteUrl(entry, shape);
      const host = url !== undefined ? hostOf(url) : undefined;
      return refuse('project_scope_token',
        `a remote entry in a project-scope file would send your token to ${host ? `${host}, ` : ''}a server the repository chose; `
        + 'in project files omni-auth wires only stdio entries (through omni-auth exec). If you trust that server, add it to your own config: '
        + `omni-auth mcp add NAME --url ${url !== undefined ? displayUrl(url) : 'URL'}`);
    }
    return undefined;
  }
  if (transport === 'remote' && acceptsRemote && isPlainObject(entry)) {
    // Every URL key the entry has (Windsurf's serverUrl and url, Gemini's httpUrl and url): whichever
    // the client reads, it must be one a token may go to.
    for (const k of shape.url) {
      const url = entry[k];
      if (typeof url !== 'string') continue;
      const v = urlVerdict(url);
      if (!v.ok) return refuse('insecure_url', v.reason);
    }
  }
  return undefined;
}

export const PROJECT_ENV = 'a token is never written into a project-scope file (it is committed and shared with everyone who clones the repository); '
  + 'project files are wired only with --mode exec (the default), which stores no token';

function refuse(code: PolicyCode, reason: string): PolicySkip {
  return { action: 'skipped', code, reason };
}

/** A URL fit for stderr: without a password, query or fragment (they may hold secrets). */
export function displayUrl(url: string): string {
  const u = safeUrl(url);
  if (!u) return '<not a URL>';
  return `${u.protocol}//${u.host}${u.pathname}${u.search || u.hash ? '?…' : ''}`;
}

function hostOf(url: string): string | undefined {
  return safeUrl(url)?.host;
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

// --- who will receive tokens ----------------------------------------------------------------

export interface Recipient {
  client: string;
  clientName: string;
  scope: Scope;
  path: string;
  server: string;
  /** A remote server: the host its requests (with the token) go to, and its scheme://host. */
  host?: string;
  origin?: string;
  /** A stdio server: the command that gets the token in its environment. */
  command?: string;
}

/**
 * Which servers `wireClients` with these options would hand tokens to, read-only and before anything is
 * written: per file the named server, its host (remote) or its command (stdio). Entries the policy
 * refuses, and files that do not exist or do not parse, are not listed (the wiring reports those).
 */
export async function recipients(o: TargetOptions & { server: string; mode: WireMode; envVar: string; launcherPath?: string }): Promise<Recipient[]> {
  const { files } = selectFiles(o);
  const out: Recipient[] = [];
  for (const file of files) {
    let text: string;
    try {
      const read = await readText(file.path);
      if (!read || !read.text.includes(o.server)) continue;
      text = read.text;
      const editor = editorFor(file.client.format);
      const shape = file.client.entry;
      const doc = parseOrThrow(editor, text);
      for (const { name, entry } of targets(doc, file, (names) => names.filter((n) => n === o.server))) {
        if (policyRefusal(file, entry, shape, o.mode)) continue;
        const base = { client: file.client.id, clientName: file.client.name, scope: file.scope, path: file.path, server: name };
        const transport = transportOf(entry, shape);
        if (transport === 'remote') {
          if (shape.headers === undefined && shape.headersHelper === undefined) continue;
          const url = safeUrl(remoteUrl(entry, shape) ?? '');
          if (url) out.push({ ...base, host: url.host, origin: url.origin });
        } else if (transport === 'stdio' && isPlainObject(entry)) {
          out.push({ ...base, command: originalCommand(entry, shape, o) });
        }
      }
    } catch {
      continue;
    }
  }
  return out;
}

/** The command a stdio entry runs; for one already wired through `omni-auth exec`, the one after `--`. */
function originalCommand(entry: Record<string, unknown>, shape: EntryShape, o: { envVar: string; launcherPath?: string }): string {
  const command = String(entry[shape.command]);
  const args = entry[shape.args];
  if (Array.isArray(args) && detectWiring(entry, shape, { envVar: o.envVar, ...(o.launcherPath ? { launcherPath: o.launcherPath } : {}) }) === 'exec') {
    const sep = args.indexOf('--', args.indexOf('exec'));
    if (sep >= 0 && typeof args[sep + 1] === 'string') return args[sep + 1] as string;
  }
  return command;
}
