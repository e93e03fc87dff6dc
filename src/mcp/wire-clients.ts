/**
 * The use cases behind `login`'s last step, `mcp wire`, `mcp unwire` (and `logout`) and `mcp add`:
 * pick the client config files, and for each one edit the named server through apply.ts. A file that
 * cannot be parsed or edited is reported with its error and the others are still processed.
 */
import { dirname } from 'node:path';
import { UsageError, type OmniAuthError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { applyToFile, newRun, readText, type ApplyRun } from './apply.js';
import { configError } from './errors.js';
import { editorFor, type FormatEditor } from './formats/index.js';
import { parseOrThrow, type PathValue } from './formats/types.js';
import { tokensRemoved } from './our-token.js';
import { policyRefusal } from './policy.js';
import { isPlainObject } from './formats/structural.js';
import { CLIENTS, resolveFiles, type ClientSpec, type ResolvedFile, type Scope } from './registry.js';
import { realFs, type FsProbe } from './roots.js';
import {
  needsToken, newEntry, transportOf, unwireEntry, wiredByUs, wireEntry,
  type Entry, type Transport, type WireMode, type WireRecord, type WireSettings, type Wiring, pinnedProfile,
} from './wire.js';
import { loadRecords, recordKey, recordPathFor, saveRecords } from './wire-record.js';

export const DEFAULT_SERVER = 'omnispindle';
export const DEFAULT_ENV_VAR = 'AUTH0_TOKEN';

export interface TargetOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  cwd?: string;
  fs?: FsProbe;
  /** Client ids (`--client a,b`). Default: every client, and only files that exist. */
  clients?: readonly string[];
  /** Which files of each client (default: all). */
  scope?: Scope | 'all';
}

export interface WriteOptions {
  /** Compute everything, write nothing; reports carry before/after for a diff. */
  dryRun?: boolean;
  /** Shared by the calls of one command, so each file is backed up once. */
  run?: ApplyRun;
  lockTimeoutMs?: number;
}

export interface WireClientsOptions extends TargetOptions, WriteOptions {
  server?: string;
  mode?: WireMode;
  envVar?: string;
  /** Default: process.execPath. */
  nodePath?: string;
  launcherPath: string;
  /** Called at most once, only when some entry stores a token (mode env, or a remote entry). */
  getToken?: () => Promise<Secret>;
  isOurToken?: (token: string) => boolean;
  /** Where what wire did is recorded (wire-record.ts). Default: beside the launcher's home, if it is one. */
  recordPath?: string;
  /** The settings profile wired entries run with (issue 14 §3); "default" or none: no `--profile` in them (unless pinDefault). */
  profile?: string;
  /** Write `--profile default` for the default profile too (the home has named profiles or a default_profile; wire.ts). */
  pinDefault?: boolean;
}

export interface UnwireClientsOptions extends TargetOptions, WriteOptions {
  server?: string;
  /**
   * Every server wired through omni-auth, whatever its name (for `logout`); tokens of ours stored under
   * any variable, not only `envVar`, count (needs isOurToken).
   */
  allWired?: boolean;
  envVar?: string;
  launcherPath?: string;
  /** Without it, tokens stored by `--mode env` or in headers stay (and are reported as tokenLeft). */
  isOurToken?: (token: string) => boolean;
  /** Where wire recorded what it did (wire-record.ts). Default: beside the launcher's home, if it is one. */
  recordPath?: string;
  /** With allWired: only the entries wired for this settings profile (those without `--profile`: see defaultProfile). */
  profile?: string;
  /** The profile entries wired without `--profile` run with (settings.json's default_profile); default "default". */
  defaultProfile?: string;
}

export type AddServerOptions = Omit<WireClientsOptions, 'server'> & { name: string } & ({ url: string } | { command: string; args?: string[] });

export interface ServerReport {
  name: string;
  /** The container path inside the file, e.g. ["mcpServers"] or ["projects", "/repo", "mcpServers"]. */
  location: string[];
  transport?: Transport;
  outcome: 'wired' | 'unwired' | 'added' | 'unchanged' | 'skipped';
  wiring?: Wiring;
  /** The file now holds a token for this server, which will expire. */
  holdsToken?: boolean;
  /** After unwire: a token that may be ours is still there. */
  tokenLeft?: boolean;
  /** Already routed through a hand-written `omni-auth exec` (left as it is). */
  byHand?: boolean;
  code?: string;
  reason?: string;
}

export interface FileReport {
  client: string;
  clientName: string;
  scope: Scope;
  path: string;
  format: ClientSpec['format'];
  /** How the client notices the change. */
  reload: string;
  status: 'changed' | 'would-change' | 'unchanged' | 'missing' | 'no-server' | 'error';
  servers: ServerReport[];
  error?: OmniAuthError | Error;
  before?: string;
  after?: string;
  backup?: string;
}

export interface McpReport {
  files: FileReport[];
}

export function wireClients(options: WireClientsOptions): Promise<McpReport> {
  const server = options.server ?? DEFAULT_SERVER;
  const settings = wireSettings(options);
  const tokenFor = tokenSource(options);
  const pick: Picker = (names) => names.filter((n) => n === server);
  const records = recordsOf(options);
  return records.around(runOnFiles(options, async (file, explicit) => {
    const editor = editorFor(file.client.format);
    const shape = file.client.entry;
    const docs = documents(editor);
    const found = await readTargets(file, docs, pick);
    if (found === undefined) return report(file, explicit ? 'missing' : undefined);
    if (found.targets.length === 0) return report(file, explicit ? 'no-server' : undefined);
    const token = await tokenFor(found.targets.some(({ entry }) => !policyRefusal(file, entry, shape, settings.mode) && needsToken(entry, shape, settings.mode)));
    const known = await records.all();
    return records.after(apply(file, options, editOnce((text) => {
      const servers: ServerReport[] = [];
      const removed = new Set<string>();
      const recorded = new Map<string, WireRecord | undefined>();
      const doc = docs(text ?? '');
      const changes: PathValue[] = [];
      const first: PathValue[] = [];
      for (const { location, entry } of targets(doc, file, pick)) {
        const key = recordKey(file.path, location, server);
        const record = known.get(key);
        const r = policyRefusal(file, entry, shape, settings.mode) ?? wireEntry(entry, shape, { ...settings, ...(token ? { token } : {}), ...(record ? { record } : {}) });
        const base = { name: server, location, ...transportField(entry, shape) };
        if (r.action === 'skipped') {
          servers.push({ ...base, outcome: 'skipped', code: r.code, reason: r.reason });
          continue;
        }
        servers.push({ ...base, outcome: r.action === 'changed' ? 'wired' : 'unchanged', wiring: r.wiring, holdsToken: r.holdsToken, ...(r.byHand ? { byHand: true } : {}) });
        if (r.action !== 'changed') continue;
        if (r.via) first.push({ path: [...location, server], value: r.via });
        changes.push({ path: [...location, server], value: r.entry });
        for (const t of tokensRemoved(entry, r.entry)) removed.add(t);
        recorded.set(key, r.record);
      }
      return { text: changes.length > 0 ? setInTwoSteps(editor, text ?? '', first, changes, doc) : text, servers, removed, recorded };
    }), options.isOurToken));
  }));
}

export function unwireClients(options: UnwireClientsOptions): Promise<McpReport> {
  const server = options.server ?? DEFAULT_SERVER;
  const envVar = options.envVar ?? DEFAULT_ENV_VAR;
  const settings = {
    envVar,
    ...(options.launcherPath ? { launcherPath: options.launcherPath } : {}),
    ...(options.isOurToken ? { isOurToken: options.isOurToken } : {}),
    ...(options.allWired ? { anyEnvVar: true } : {}),
  };
  const records = recordsOf(options);
  return records.around(runOnFiles(options, async (file, explicit) => {
    const editor = editorFor(file.client.format);
    const shape = file.client.entry;
    const docs = documents(editor);
    const known = await records.all();
    const recordOf = (location: string[], name: string): { record?: WireRecord } => {
      const record = known.get(recordKey(file.path, location, name));
      return record ? { record } : {};
    };
    const pick: Picker = (names, container, location) =>
      options.allWired
        ? names.filter((n) => wiredByUs(container[n], shape, { ...settings, ...recordOf(location, n) })
          && (options.profile === undefined || (pinnedProfile(container[n], shape, options.launcherPath) ?? options.defaultProfile ?? 'default') === options.profile))
        : names.filter((n) => n === server);
    const found = await readTargets(file, docs, pick);
    if (found === undefined) return report(file, explicit ? 'missing' : undefined);
    if (found.targets.length === 0) return report(file, explicit ? 'no-server' : undefined);
    return records.after(apply(file, options, editOnce((text) => {
      const servers: ServerReport[] = [];
      const removed = new Set<string>();
      const recorded = new Map<string, WireRecord | undefined>();
      const doc = docs(text ?? '');
      const changes: PathValue[] = [];
      const first: PathValue[] = [];
      for (const { location, name, entry } of targets(doc, file, pick)) {
        const base = { name, location, ...transportField(entry, shape) };
        if (!isPlainObject(entry)) {
          servers.push({ ...base, outcome: 'skipped', code: 'unsupported_entry', reason: 'the entry is not an object' });
          continue;
        }
        const r = unwireEntry(entry, shape, { ...settings, ...recordOf(location, name) });
        servers.push({ ...base, outcome: r.action === 'changed' ? 'unwired' : 'unchanged', ...(r.tokenLeft ? { tokenLeft: true } : {}) });
        if (r.action !== 'changed') continue;
        if (r.via) first.push({ path: [...location, name], value: r.via });
        changes.push({ path: [...location, name], value: r.entry });
        for (const t of tokensRemoved(entry, r.entry)) removed.add(t);
        if (!r.tokenLeft) recorded.set(recordKey(file.path, location, name), undefined);
      }
      return { text: changes.length > 0 ? setInTwoSteps(editor, text ?? '', first, changes, doc) : text, servers, removed, recorded };
    }), options.isOurToken));
  }));
}

/**
 * `mcp add NAME (--url URL | -- command args…)`: a new entry, wired, in each selected client. Default
 * clients: those whose config file exists. A named client whose file does not exist gets a new file
 * (0600) when its directory exists — a missing directory means the client is not installed.
 */
export function addServer(options: AddServerOptions): Promise<McpReport> {
  const settings = wireSettings(options);
  const tokenFor = tokenSource(options);
  const spec = 'url' in options ? { url: options.url } : { command: options.command, args: options.args ?? [] };
  const fs = options.fs ?? realFs;
  const records = recordsOf(options);
  return records.around(runOnFiles({ ...options, scope: options.scope ?? 'user' }, async (file, explicit) => {
    if (!file.exists && !(explicit && fs.exists(dirname(file.path)))) return report(file, explicit ? 'missing' : undefined);
    const editor = editorFor(file.client.format);
    const shape = file.client.entry;
    const location = [...(file.containers[0] ?? [])];
    const base = { name: options.name, location };
    const fresh = newEntry(shape, options.name, spec);
    if (!fresh) {
      return { ...report(file, 'unchanged'), servers: [{ ...base, outcome: 'skipped', code: 'remote_unsupported', reason: `${file.client.name} does not accept remote (URL) entries` }] };
    }
    const token = await tokenFor(needsToken(fresh, shape, settings.mode));
    return records.after(apply(file, options, editOnce((text) => {
      const path = [...location, options.name];
      const existing = text === undefined ? undefined : editor.getIn(text, path);
      if (existing !== undefined) {
        return { text: undefined, servers: [{ ...base, outcome: 'skipped', code: 'server_exists', reason: `"${options.name}" already exists here; use mcp wire --server ${options.name}` }] };
      }
      const r = wireEntry(fresh, shape, { ...settings, ...(token ? { token } : {}) });
      if (r.action === 'skipped') return { text: undefined, servers: [{ ...base, outcome: 'skipped', code: r.code, reason: r.reason }] };
      return {
        text: editor.setIn(text ?? '', path, r.entry),
        servers: [{ ...base, ...transportField(fresh, shape), outcome: 'added', wiring: r.wiring, holdsToken: r.holdsToken }],
        recorded: new Map([[recordKey(file.path, location, options.name), r.record]]),
      };
    }), options.isOurToken));
  }));
}

/** The servers that now hold a token which will expire (say so on stderr, with the expiry). */
export function tokenHolders(r: McpReport): Array<{ file: FileReport; server: ServerReport }> {
  return r.files.flatMap((file) => file.servers.filter((s) => s.holdsToken && s.outcome !== 'skipped').map((server) => ({ file, server })));
}

// --- shared steps ---------------------------------------------------------------------------

/** The changes, after the `via` steps of entries whose keys move (wire.ts, viaEntry). */
function setInTwoSteps(editor: FormatEditor, text: string, first: PathValue[], changes: PathValue[], doc: unknown): string {
  if (first.length === 0) return editor.setMany(text, changes, doc);
  return editor.setMany(editor.setMany(text, first, doc), changes);
}

function wireSettings(o: WireClientsOptions): WireSettings {
  return {
    mode: o.mode ?? 'exec',
    envVar: o.envVar ?? DEFAULT_ENV_VAR,
    nodePath: o.nodePath ?? process.execPath,
    launcherPath: o.launcherPath,
    platform: o.platform ?? process.platform,
    ...(o.isOurToken ? { isOurToken: o.isOurToken } : {}),
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
    ...(o.pinDefault ? { pinDefault: true } : {}),
  };
}

export function selectFiles(o: TargetOptions): { files: ResolvedFile[]; explicit: boolean } {
  const ids = o.clients && o.clients.length > 0 ? o.clients : undefined;
  if (ids) {
    const unknown = ids.filter((id) => !CLIENTS.some((c) => c.id === id));
    if (unknown.length > 0) {
      throw new UsageError('unknown_client', `unknown MCP client ${unknown.map((u) => `"${u}"`).join(', ')}`, {
        hint: `supported clients: ${CLIENTS.map((c) => c.id).join(', ')}`,
      });
    }
  }
  const clients = ids ? CLIENTS.filter((c) => ids.includes(c.id)) : CLIENTS;
  const scope = o.scope ?? 'all';
  const seen = new Set<string>();
  const files = resolveFiles({ env: o.env ?? process.env, platform: o.platform ?? process.platform, cwd: o.cwd ?? process.cwd(), ...(o.fs ? { fs: o.fs } : {}) }, clients)
    .filter((f) => scope === 'all' || f.scope === scope)
    // Run in the home directory, a project file can be the user file (~/.cursor/mcp.json): once.
    .filter((f) => !seen.has(`${f.client.id}\0${f.path}`) && seen.add(`${f.client.id}\0${f.path}`));
  return { files, explicit: ids !== undefined };
}

async function runOnFiles(o: TargetOptions & WriteOptions, each: (file: ResolvedFile, explicit: boolean) => Promise<FileReport | undefined>): Promise<McpReport> {
  const { files, explicit } = selectFiles(o);
  const out: FileReport[] = [];
  for (const file of files) {
    try {
      const r = await each(file, explicit);
      if (r) out.push(r);
    } catch (e) {
      out.push({ ...report(file, 'error'), error: configError(file.path, e) as Error });
    }
  }
  return { files: out };
}

function report(file: ResolvedFile, status: FileReport['status']): FileReport;
function report(file: ResolvedFile, status: FileReport['status'] | undefined): FileReport | undefined;
function report(file: ResolvedFile, status: FileReport['status'] | undefined): FileReport | undefined {
  if (!status) return undefined;
  return { client: file.client.id, clientName: file.client.name, scope: file.scope, path: file.path, format: file.client.format, reload: file.client.reload, status, servers: [] };
}

/** What one run of an edit gives: the new text (undefined: no change), the servers' outcomes, tokens taken out. */
interface EditResult {
  text: string | undefined;
  servers: ServerReport[];
  removed?: ReadonlySet<string>;
  /** Records to keep (or, undefined, forget) once the text is written. */
  recorded?: ReadonlyMap<string, WireRecord | undefined>;
}

/**
 * applyToFile runs the edit once to plan and again under the lock, on what is usually the same text:
 * the second run then costs nothing. The last run's servers and removed tokens are the ones reported.
 */
interface OnceEdit {
  (text: string | undefined): string | undefined;
  last(): EditResult;
}
function editOnce(edit: (text: string | undefined) => EditResult): OnceEdit {
  let input: string | undefined;
  let result: EditResult | undefined;
  const run = ((text: string | undefined) => {
    if (result === undefined || text !== input) {
      result = undefined;
      result = edit(text);
      input = text;
    }
    return result.text;
  }) as OnceEdit;
  run.last = () => result ?? { text: undefined, servers: [] };
  return run;
}

/** `isOurToken` keeps those tokens out of the backup (apply.ts). */
async function apply(file: ResolvedFile, o: WriteOptions, edit: OnceEdit, isOurToken?: (token: string) => boolean): Promise<FileReport> {
  const ours = (token: string): boolean => edit.last().removed?.has(token) === true || isOurToken?.(token) === true;
  const r = await applyToFile(file.path, edit, {
    run: o.run ?? newRun(),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.lockTimeoutMs !== undefined ? { lockTimeoutMs: o.lockTimeoutMs } : {}),
    isOurToken: ours,
  });
  const status = !r.changed ? 'unchanged' : o.dryRun ? 'would-change' : 'changed';
  const out: FileReport = { ...report(file, status), servers: edit.last().servers, ...(r.before !== undefined ? { before: r.before } : {}), ...(r.after !== undefined ? { after: r.after } : {}), ...(r.backup ? { backup: r.backup } : {}) };
  if (status === 'changed') written.set(out, edit.last().recorded ?? new Map());
  return out;
}

/** The records of the edits each written file report stands for (read by recordsOf's `after`). */
const written = new WeakMap<FileReport, ReadonlyMap<string, WireRecord | undefined>>();

/**
 * The record file for one command: read once, and the records of every file actually written saved
 * once at the end. Saving is best effort: the config files are already written, and a missing record
 * only makes a later unwire fall back to the tenant's check.
 */
function recordsOf(o: { recordPath?: string; launcherPath?: string; dryRun?: boolean }) {
  const path = o.recordPath ?? recordPathFor(o.launcherPath);
  let loaded: Promise<Map<string, WireRecord>> | undefined;
  const pending = new Map<string, WireRecord | undefined>();
  return {
    all: () => (loaded ??= loadRecords(path)),
    async after(report: Promise<FileReport>): Promise<FileReport> {
      const r = await report;
      for (const [k, v] of written.get(r) ?? []) pending.set(k, v);
      return r;
    },
    async around(run: Promise<McpReport>): Promise<McpReport> {
      const r = await run;
      if (!o.dryRun) await saveRecords(path, pending).catch(() => undefined);
      return r;
    },
  };
}

/** The token, fetched at most once per command and only when needed. A dry run shows a placeholder. */
function tokenSource(o: WireClientsOptions): (needed: boolean) => Promise<Secret | undefined> {
  let pending: Promise<Secret> | undefined;
  return async (needed) => {
    if (!needed) return undefined;
    if (o.dryRun) return new Secret('<token>');
    if (!o.getToken) return undefined;
    pending ??= o.getToken();
    return pending;
  };
}

type Picker = (names: string[], container: Record<string, unknown>, location: string[]) => string[];

/**
 * The parsed value of a text, handed over once: the read that picks the targets parses the file, the
 * edit that follows takes that value (when the text is still the same) and the cache lets go of it —
 * a big file's value is not kept while it is backed up and written. Read-only for callers (entries
 * are copied, never changed in place).
 */
function documents(editor: FormatEditor): (text: string, keep?: boolean) => unknown {
  let last: { text: string; doc: unknown } | undefined;
  return (text, keep = false) => {
    const doc = last?.text === text ? last.doc : parseOrThrow(editor, text);
    last = keep ? { text, doc } : undefined;
    return doc;
  };
}

/** The picked entries of a file as it is now, or undefined when it does not exist. */
async function readTargets(file: ResolvedFile, docs: (text: string, keep?: boolean) => unknown, pick: Picker):
  Promise<{ targets: Array<{ location: string[]; name: string; entry: unknown }> } | undefined> {
  const read = await readText(file.path);
  if (!read) return undefined;
  return { targets: targets(docs(read.text, true), file, pick) };
}

/** Every (container, server name) the picker selects, '*' in container paths expanded, with its entry. */
export function targets(doc: unknown, file: Pick<ResolvedFile, 'containers'>, pick: Picker): Array<{ location: string[]; name: string; entry: unknown }> {
  return expandContainers(doc, file.containers).flatMap(({ location, container }) =>
    pick(Object.keys(container), container, location).map((name) => ({ location, name, entry: container[name] })));
}

export function expandContainers(doc: unknown, patterns: ReadonlyArray<readonly string[]>): Array<{ location: string[]; container: Record<string, unknown> }> {
  const out: Array<{ location: string[]; container: Record<string, unknown> }> = [];
  const walk = (node: unknown, rest: readonly string[], at: string[]): void => {
    if (!isPlainObject(node)) return;
    const [head, ...tail] = rest;
    if (head === undefined) {
      out.push({ location: at, container: node });
      return;
    }
    if (head === '*') for (const k of Object.keys(node)) walk(node[k], tail, [...at, k]);
    else walk(node[head], tail, [...at, head]);
  };
  for (const p of patterns) walk(doc, p, []);
  return out;
}

function transportField(entry: unknown, shape: ClientSpec['entry']): { transport?: Transport } {
  const t = transportOf(entry, shape);
  return t ? { transport: t } : {};
}

export type { Entry };
