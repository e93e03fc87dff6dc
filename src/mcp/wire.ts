/**
 * What a server entry becomes when it goes through omni-auth, and back. Pure: entries in, entries out,
 * in the client's own spelling (EntryShape); the editors take care of the bytes.
 *
 * stdio, mode exec (default): `command` is the absolute path of this Node and `args` are
 *   [launcher, "exec", "--env-var", VAR, "--", original command, ...original args]
 * so every server start gets a fresh token and none is stored. Everything after "--" is the original,
 * so unwiring needs nothing else from the file — with one exception: an entry that had no `args` at
 * all must not come back with `"args": []`. Such an entry is wired with the one-word spelling
 * `--env-var=VAR` (which `exec` reads the same way); seeing it, unwire removes `args` again. Together
 * with the editors' exact-inverse edits, wire + unwire gives back the original bytes.
 *
 * Only that exact form is unwired: a hand-written `omni-auth exec -- …`, `npx -y omni-auth exec -- …`
 * (or a path to omni-auth) is already routed through omni-auth — wire leaves it as it is, and unwire
 * never rewrites what it did not write.
 *
 * A stored token (mode env, a remote entry's Authorization header) is described by a WireRecord —
 * the variable, whether wire created the `env`/`headers` object, a digest of the token — which the
 * caller keeps (wire-record.ts), so that unwire finds the token under any `--env-var` and takes out
 * exactly what wire put in. A value the user set under the variable omni-auth would use is never
 * overwritten: the entry is skipped.
 *
 * Zed's older stdio shape, `"command": {"path", "args", "env"}`, is wired inside that object.
 *
 * A profile other than "default" (issue 14 §3) rides in the entry's args — `… exec --profile NAME
 * --env-var VAR -- …`, `… proxy --profile NAME <url>`, `… token --format headers-json --profile NAME`
 * — never a token; wiredProfile() reads it back.
 *
 * The default profile (wire14): an entry without `--profile` runs with whatever profile the CLI picks
 * at run time — OMNI_AUTH_PROFILE, then settings.json's `default_profile` — so after `profile use b`
 * it would silently get tenant b's tokens while still looking like a "default" entry. A credential
 * must not change tenant behind the user's back, so once a home has a named profile or a
 * `default_profile` (WireSettings.pinDefault, decided by the caller from settings.json), an entry of the
 * default profile is written `--profile default` like any other. A home that only ever had the default
 * profile keeps the old shape (no `--profile`): its entries cannot move (there is nothing to move them
 * to), and existing files, re-wires ("unchanged") and byte-exact unwires stay as they were.
 * pinnedProfile() tells such an old, unpinned entry apart (it follows the default); re-wiring with
 * pinDefault pins it. `profile use` refuses to move unpinned entries (src/cli/profile.ts).
 */
import { createHash } from 'node:crypto';
import { posix, win32 } from 'node:path';
import type { Secret } from '../util/secret.js';
import type { EntryShape } from './registry.js';
import { deepEqual, isPlainObject } from './formats/structural.js';

export type Entry = Record<string, unknown>;
/** exec: no token stored (stdio through exec, remote through the proxy); env: a token stored; headers: remote entries keep a bearer header. */
export type WireMode = 'exec' | 'env' | 'headers';
export type Transport = 'stdio' | 'remote';
/** How an entry goes through omni-auth: a wrapper command, a header helper, or a stored token. */
export type Wiring = 'exec' | 'proxy' | 'headers-helper' | 'env-token' | 'header-token';

export interface WireSettings {
  mode: WireMode;
  envVar: string;
  /** Absolute path of the Node that runs omni-auth (process.execPath). */
  nodePath: string;
  /** The stable single-file copy of omni-auth in OMNI_AUTH_HOME. */
  launcherPath: string;
  /** For quoting the header-helper command line. */
  platform: NodeJS.Platform;
  /** Needed for mode env and for remote entries of clients without a header helper. */
  token?: Secret;
  /**
   * Whether a stored token is one of ours. An Authorization header is replaced when it holds one
   * (default: any JWT-shaped bearer token); a stale `env` token is removed in mode exec only when
   * this is given and says yes.
   */
  isOurToken?: (token: string) => boolean;
  /** What an earlier wire of this entry recorded (wire-record.ts). */
  record?: WireRecord;
  /** The settings profile the entry runs with; undefined or "default": no `--profile` in the entry, unless pinDefault. */
  profile?: string;
  /**
   * Write `--profile default` for the default profile too: the home has named profiles or a
   * `default_profile`, so "the default" can change under the entry (see the header).
   */
  pinDefault?: boolean;
}

/** The `--profile NAME` words a wired entry carries (none for the default profile, unless pinned). */
const profileArgs = (s: Pick<WireSettings, 'profile' | 'pinDefault'>): string[] => {
  const name = s.profile ?? 'default';
  return name !== 'default' || s.pinDefault ? ['--profile', name] : [];
};
/** The profile a wired entry is written to name, if any (what parseExec/parseProxy read back). */
const writtenProfile = (s: Pick<WireSettings, 'profile' | 'pinDefault'>): string | undefined => profileArgs(s)[1];

/**
 * What wire did to an entry when it stored a token: enough for unwire to undo exactly that. Holds no
 * secret: the token only as a digest.
 */
export interface WireRecord {
  /** The variable (mode env) the token went under. */
  envVar?: string;
  /** The objects (`env`, `headers`) wire created to hold the token: removed again when emptied. */
  created?: string[];
  /** tokenDigest() of the stored token. */
  token?: string;
  /** A remote entry wired through the proxy: what its remote spelling was (no secret). */
  remote?: RemoteRecord;
}

/** What a remote entry turned into a proxy entry had, beyond its URL: enough to write it back exactly. */
export interface RemoteRecord {
  /** The key its URL was under (Windsurf's `serverUrl` or `url`, Gemini's `httpUrl` or `url`…). */
  urlKey: string;
  /** Its `type` (`http`, `sse`, `streamableHttp`, `streamable_http`…), when it had one. */
  type?: string;
  /** The headers object, when wire moved it into the env (a client that refuses it on stdio entries). */
  headersMoved?: boolean;
}

export type SkipCode =
  | 'unsupported_entry' | 'remote_unsupported' | 'foreign_headers_helper' | 'foreign_authorization' | 'token_required'
  | 'foreign_env_value' | 'own_auth_source';

export type WireOutcome =
  | { action: 'changed' | 'unchanged'; entry: Entry; wiring: Wiring; holdsToken: boolean; byHand?: boolean; record?: WireRecord; via?: Entry }
  | { action: 'skipped'; code: SkipCode; reason: string };

export interface UnwireSettings {
  envVar: string;
  launcherPath?: string;
  /** Stored tokens are only removed when this says they are ours; without it they stay. */
  isOurToken?: (token: string) => boolean;
  /**
   * Also take out our tokens stored under any other variable (an earlier `--mode env --env-var X`):
   * for "everything wired through omni-auth", where the variable it was wired with is unknown.
   */
  anyEnvVar?: boolean;
  /** What wire recorded for this entry (wire-record.ts). */
  record?: WireRecord;
}

export interface UnwireOutcome {
  action: 'changed' | 'unchanged';
  entry: Entry;
  /** A token that may be ours is still in the entry (no isOurToken, or it said no). */
  tokenLeft: boolean;
  /** Written first, when keys must move (see ViaEntry). */
  via?: Entry;
}

const AUTHORIZATION = /^authorization$/i;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
export const looksLikeJwt = (s: string): boolean => JWT.test(s);

export function transportOf(entry: unknown, shape: EntryShape): Transport | undefined {
  if (!isPlainObject(entry)) return undefined;
  if (typeof entry[shape.command] === 'string' || nestedCommand(entry, shape)) return 'stdio';
  if (shape.url.some((k) => typeof entry[k] === 'string')) return 'remote';
  return undefined;
}

/** True when wiring this entry this way stores a token (so one must be fetched first). */
export function needsToken(entry: unknown, shape: EntryShape, mode: WireMode): boolean {
  const t = transportOf(entry, shape);
  // A proxy entry turned back into a remote one for --mode headers/env stores a token.
  if (t === 'stdio' && isPlainObject(entry) && parseProxy(entry, shape, undefined)) return mode !== 'exec' && !shape.headersHelper;
  if (t === 'stdio') return mode === 'env';
  return t === 'remote' && mode !== 'exec' && !shape.headersHelper && shape.headers !== undefined && ownAuthSource(entry as Entry) === undefined;
}

/** A short, non-reversible name for a stored token, kept in the WireRecord. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}

/**
 * Zed's older shape: `"command": {"path": …, "args": […], "env": {…}}`. Wiring works on that object
 * as an entry of its own, spelled path/args/env.
 */
function nestedCommand(entry: Entry, shape: EntryShape): { inner: Entry; shape: EntryShape; put: (inner: Entry) => Entry } | undefined {
  const c = entry[shape.command];
  if (!isPlainObject(c) || typeof c.path !== 'string') return undefined;
  const inner: EntryShape = {
    command: 'path', args: 'args', env: 'env', url: [],
    stdio: (_n, path, args) => ({ path, args, env: {} }),
  };
  return { inner: c, shape: inner, put: (next) => ({ ...entry, [shape.command]: next }) };
}

export function wireEntry(entry: unknown, shape: EntryShape, s: WireSettings): WireOutcome {
  const transport = transportOf(entry, shape);
  if (!transport || !isPlainObject(entry)) {
    return skip('unsupported_entry', 'the entry has neither a command nor a URL omni-auth understands');
  }
  const proxied = parseProxy(entry, shape, s.launcherPath);
  if (proxied) {
    // Already through the proxy: the same again, or back to remote for --mode headers/env.
    if (s.mode === 'exec' && proxied.profile === writtenProfile(s)) return { action: 'unchanged', entry, wiring: 'proxy', holdsToken: false };
    return wireEntry(restoreProxy(entry, shape, proxied, s.record).entry, shape, s);
  }
  const nested = nestedCommand(entry, shape);
  if (nested) {
    const r = wireEntry(nested.inner, nested.shape, s);
    if (r.action !== 'changed') return r.action === 'unchanged' ? { ...r, entry } : r;
    return { ...r, entry: nested.put(r.entry) };
  }
  const outcome = transport === 'stdio' ? wireStdio(entry, shape, s) : wireRemote(entry, shape, s);
  if ('entry' in outcome && deepEqual(outcome.entry, entry)) return { ...outcome, action: 'unchanged', entry };
  return outcome;
}

function wireStdio(entry: Entry, shape: EntryShape, s: WireSettings): WireOutcome {
  if (!parseExec(entry, shape, s.launcherPath) && wrappedByHand(entry, shape)) {
    // `omni-auth exec -- …` written by hand (or run through npx): already gets fresh tokens.
    return { action: 'unchanged', entry, wiring: 'exec', holdsToken: false, byHand: true };
  }
  const original = restoreExec(entry, shape, s.launcherPath) ?? entry;
  const command = original[shape.command] as string;
  const args = original[shape.args];
  if (args !== undefined && !isStringArray(args)) return skip('unsupported_entry', `"${shape.args}" is not a list of strings`);
  const env = original[shape.env];
  if (env !== undefined && !isPlainObject(env)) return skip('unsupported_entry', `"${shape.env}" is not an object`);

  // The variable omni-auth sets already holds something: ours (a token an earlier wire stored), or
  // the user's own (`"${MY_STATIC_TOKEN}"`, a key) — never overwritten, nor hidden at run time by exec.
  const current = env?.[s.envVar];
  const ours = current === undefined || (typeof current === 'string' && storedByUs(current, s.envVar, s.isOurToken, s.record, true));
  if (!ours) {
    return skip('foreign_env_value', `"${shape.env}.${s.envVar}" already holds a value of its own, which omni-auth would replace; `
      + `left as it is (remove it, or wire with another --env-var)`);
  }
  // The client fills the variable itself: Goose's `env_keys` (from its secret store), Codex's
  // `env_vars` (passed through from its own environment).
  const fills = FILLED_BY_CLIENT.find((k) => Array.isArray(original[k]) && (original[k] as unknown[]).includes(s.envVar));
  if (fills) {
    return skip('foreign_env_value', `"${fills}" already gives the server ${s.envVar} from elsewhere, which omni-auth would replace; `
      + `left as it is (remove it there, or wire with another --env-var)`);
  }

  if (s.mode === 'env') {
    if (!s.token) return skip('token_required', 'mode env stores a token, and none was given');
    const token = s.token.reveal();
    const created = env === undefined ? [shape.env] : s.record?.envVar === s.envVar ? s.record.created ?? [] : [];
    return {
      action: 'changed',
      entry: { ...original, [shape.env]: { ...env, [s.envVar]: token } },
      wiring: 'env-token',
      holdsToken: true,
      record: { envVar: s.envVar, ...(created.length > 0 ? { created } : {}), token: tokenDigest(token) },
    };
  }
  const flag = args === undefined ? [`--env-var=${s.envVar}`] : ['--env-var', s.envVar];
  let wired: Entry = { ...original, [shape.command]: s.nodePath, [shape.args]: [s.launcherPath, 'exec', ...profileArgs(s), ...flag, '--', command, ...(args ?? [])] };
  // A token an earlier `--mode env` left is stale now (exec sets the variable itself). Removed only
  // when the caller can tell it is ours: unwire could not bring it back.
  if (env && typeof current === 'string' && storedByUs(current, s.envVar, s.isOurToken, s.record, false)) {
    wired = withEmptied(wired, shape.env, withoutKey(env, s.envVar), keepsEmpty(shape, 'stdio', shape.env, s.record));
  }
  return { action: 'changed', entry: wired, wiring: 'exec', holdsToken: false };
}

/** Keys listing variables a client sets for a server from its own sources. */
const FILLED_BY_CLIENT = ['env_keys', 'env_vars'] as const;

/**
 * Whether a value stored under `envVar` is a token omni-auth put there: its digest is the recorded
 * one, or the tenant's check says so. `lenient`: with no check at hand, any JWT counts (it is about
 * to be replaced by a fresh token of ours, as a header is).
 */
function storedByUs(value: string, envVar: string, isOurToken: ((t: string) => boolean) | undefined, record: WireRecord | undefined, lenient: boolean): boolean {
  if (!looksLikeJwt(value)) return false;
  if (record?.token !== undefined && record.envVar === envVar && record.token === tokenDigest(value)) return true;
  if (isOurToken) return isOurToken(value);
  return lenient;
}

/**
 * Where a remote entry already gets its Authorization from, if it does by itself — Codex's
 * `bearer_token_env_var` (a token from an environment variable of Codex's own), `bearer_token`, an
 * Authorization in `env_http_headers` — described for the warning. Such an entry is left alone: a
 * second auth source would conflict, and wiring it through exec would mean wrapping the client itself.
 */
function ownAuthSource(entry: Entry): string | undefined {
  const envVar = entry.bearer_token_env_var;
  if (typeof envVar === 'string') {
    return `$${envVar}; to give it fresh tokens, start the client as \`omni-auth exec --env-var ${envVar} -- <client>\``;
  }
  if (envVar !== undefined) return '"bearer_token_env_var"';
  if (entry.bearer_token !== undefined) return '"bearer_token"';
  const envHeaders = entry.env_http_headers;
  if (isPlainObject(envHeaders) && Object.keys(envHeaders).some((k) => AUTHORIZATION.test(k))) return '"env_http_headers"';
  return undefined;
}

function wireRemote(entry: Entry, shape: EntryShape, s: WireSettings): WireOutcome {
  const ours = s.isOurToken ?? looksLikeJwt;
  if (shape.headersHelper) {
    const existing = entry[shape.headersHelper];
    if (existing !== undefined && !(typeof existing === 'string' && isOurHeadersHelper(existing))) {
      return skip('foreign_headers_helper', `the entry already has its own "${shape.headersHelper}"; left as it is`);
    }
    return { action: 'changed', entry: { ...entry, [shape.headersHelper]: headersHelperCommand(s) }, wiring: 'headers-helper', holdsToken: false };
  }
  if (!shape.headers) return skip('remote_unsupported', 'this client does not accept remote (URL) entries; use a stdio bridge');
  const own = ownAuthSource(entry);
  if (own) return skip('own_auth_source', `the entry already takes its token from ${own}; left as it is (a second Authorization would conflict)`);
  if (s.mode === 'exec') return wireProxy(entry, shape, s, ours);
  if (!s.token) return skip('token_required', 'this client stores the token in the entry, and none was given');
  const headers = entry[shape.headers];
  if (headers !== undefined && !isPlainObject(headers)) return skip('unsupported_entry', `"${shape.headers}" is not an object`);
  const key = Object.keys(headers ?? {}).find((k) => AUTHORIZATION.test(k)) ?? 'Authorization';
  const current = headers?.[key];
  const recorded = typeof current === 'string' && s.record?.token !== undefined && s.record.token === tokenDigest(bearer(current));
  if (current !== undefined && !(typeof current === 'string' && (recorded || ours(bearer(current))))) {
    return skip('foreign_authorization', `the entry already sends its own ${key} header; left as it is`);
  }
  const token = s.token.reveal();
  const created = headers === undefined ? [shape.headers] : s.record?.envVar === undefined ? s.record?.created ?? [] : [];
  return {
    action: 'changed',
    entry: { ...entry, [shape.headers]: { ...headers, [key]: `Bearer ${token}` } },
    wiring: 'header-token',
    holdsToken: true,
    record: { ...(created.length > 0 ? { created } : {}), token: tokenDigest(token) },
  };
}

export function unwireEntry(entry: Entry, shape: EntryShape, s: UnwireSettings): UnwireOutcome {
  const proxied = parseProxy(entry, shape, s.launcherPath);
  if (proxied) return { action: 'changed', ...restoreProxy(entry, shape, proxied, s.record), tokenLeft: false };
  const nested = nestedCommand(entry, shape);
  if (nested) {
    const r = unwireEntry(nested.inner, nested.shape, s);
    return r.action === 'changed' ? { ...r, entry: nested.put(r.entry) } : { ...r, entry };
  }
  let out: Entry = restoreExec(entry, shape, s.launcherPath) ?? entry;
  let tokenLeft = false;
  const helper = shape.headersHelper;
  if (helper && typeof out[helper] === 'string' && isOurHeadersHelper(out[helper] as string)) out = withoutKey(out, helper);

  const env = out[shape.env];
  if (isPlainObject(env)) {
    // Ours: the recorded token under the recorded variable, or any token the tenant's check accepts
    // (under any variable: an earlier `--env-var X`). Never a value of the user's.
    const ours = Object.keys(env).filter((k) => {
      const v = env[k];
      if (typeof v !== 'string' || !looksLikeJwt(v)) return false;
      return storedByUs(v, k, s.isOurToken, s.record, false);
    });
    const vars = new Set([s.envVar, ...(s.record?.envVar ? [s.record.envVar] : [])]);
    for (const k of vars) {
      const v = env[k];
      if (typeof v === 'string' && looksLikeJwt(v) && !ours.includes(k)) tokenLeft = true;
    }
    if (ours.length > 0) out = withEmptied(out, shape.env, ours.reduce(withoutKey, env), keepsEmpty(shape, 'stdio', shape.env, s.record));
  }
  const headers = shape.headers ? out[shape.headers] : undefined;
  if (shape.headers && isPlainObject(headers)) {
    const key = Object.keys(headers).find((k) => AUTHORIZATION.test(k));
    const value = key ? headers[key] : undefined;
    if (key && typeof value === 'string' && looksLikeJwt(bearer(value))) {
      const recorded = s.record?.token !== undefined && s.record.envVar === undefined && s.record.token === tokenDigest(bearer(value));
      if (recorded || s.isOurToken?.(bearer(value))) {
        out = withEmptied(out, shape.headers, withoutKey(headers, key), keepsEmpty(shape, 'remote', shape.headers, s.record));
      } else tokenLeft = true;
    }
  }
  return { action: deepEqual(out, entry) ? 'unchanged' : 'changed', entry: deepEqual(out, entry) ? entry : out, tokenLeft };
}

/** How the entry goes through omni-auth, if it does (a hand-written `omni-auth exec` counts). */
export function detectWiring(
  entry: unknown,
  shape: EntryShape,
  opts: { envVar: string; launcherPath?: string } & Pick<UnwireSettings, 'isOurToken' | 'anyEnvVar' | 'record'>,
): Wiring | undefined {
  if (!isPlainObject(entry)) return undefined;
  if (parseProxy(entry, shape, opts.launcherPath)) return 'proxy';
  const nested = nestedCommand(entry, shape);
  if (nested) return detectWiring(nested.inner, nested.shape, opts);
  if (parseExec(entry, shape, opts.launcherPath) || wrappedByHand(entry, shape)) return 'exec';
  return detectStored(entry, shape, opts);
}

/** Wired by omni-auth itself, so that unwire has something to undo (not a hand-written wrapper). */
export function wiredByUs(
  entry: unknown,
  shape: EntryShape,
  opts: { envVar: string; launcherPath?: string } & Pick<UnwireSettings, 'isOurToken' | 'anyEnvVar' | 'record'>,
): boolean {
  if (!isPlainObject(entry)) return false;
  if (parseProxy(entry, shape, opts.launcherPath)) return true;
  const nested = nestedCommand(entry, shape);
  if (nested) return wiredByUs(nested.inner, nested.shape, opts);
  return parseExec(entry, shape, opts.launcherPath) !== undefined || detectStored(entry, shape, opts) !== undefined;
}

function detectStored(
  entry: Entry,
  shape: EntryShape,
  opts: { envVar: string } & Pick<UnwireSettings, 'isOurToken' | 'anyEnvVar' | 'record'>,
): Wiring | undefined {
  const helper = shape.headersHelper ? entry[shape.headersHelper] : undefined;
  if (typeof helper === 'string' && isOurHeadersHelper(helper)) return 'headers-helper';
  const env = entry[shape.env];
  if (transportOf(entry, shape) === 'stdio' && isPlainObject(env)) {
    const vars = [opts.envVar, ...(opts.record?.envVar ? [opts.record.envVar] : [])];
    if (vars.some((k) => typeof env[k] === 'string' && looksLikeJwt(env[k] as string))) return 'env-token';
    if (Object.entries(env).some(([k, v]) => typeof v === 'string' && storedByUs(v, k, opts.isOurToken, opts.record, false))) return 'env-token';
  }
  const headers = shape.headers ? entry[shape.headers] : undefined;
  if (isPlainObject(headers)) {
    const key = Object.keys(headers).find((k) => AUTHORIZATION.test(k));
    const value = key ? headers[key] : undefined;
    if (typeof value === 'string' && looksLikeJwt(bearer(value))) return 'header-token';
  }
  return undefined;
}

/** A new entry for `mcp add`, in the client's shape, before wiring. */
export function newEntry(shape: EntryShape, name: string, spec: { url: string } | { command: string; args: string[] }): Entry | undefined {
  if ('url' in spec) return shape.remote?.(name, spec.url);
  return shape.stdio(name, spec.command, spec.args);
}

/** The header-helper command line: `<node> <launcher> token --format headers-json [--profile NAME]`, quoted for the shell. */
export function headersHelperCommand(s: Pick<WireSettings, 'nodePath' | 'launcherPath' | 'platform' | 'profile' | 'pinDefault'>): string {
  return [s.nodePath, s.launcherPath, 'token', '--format', 'headers-json', ...profileArgs(s)].map((a) => shellQuote(a, s.platform)).join(' ');
}

/**
 * The settings profile a wired entry runs with: the `--profile NAME` wire put in it, "default" for an
 * entry wired without one, undefined for an entry not wired by omni-auth (or wired by hand).
 */
export function wiredProfile(entry: unknown, shape: EntryShape, launcherPath?: string): string | undefined {
  const w = profileIn(entry, shape, launcherPath);
  return w ? w.profile ?? 'default' : undefined;
}

/**
 * The profile a wired entry names with `--profile` ("default" included), or undefined: not wired by
 * omni-auth, or wired without `--profile` — such an entry runs with whatever profile is the default
 * when it starts (OMNI_AUTH_PROFILE, `default_profile`), see the header.
 */
export function pinnedProfile(entry: unknown, shape: EntryShape, launcherPath?: string): string | undefined {
  return profileIn(entry, shape, launcherPath)?.profile;
}

function profileIn(entry: unknown, shape: EntryShape, launcherPath: string | undefined): { profile?: string } | undefined {
  if (!isPlainObject(entry)) return undefined;
  const nested = nestedCommand(entry, shape);
  if (nested) return profileIn(nested.inner, nested.shape, launcherPath);
  const wired = parseProxy(entry, shape, launcherPath) ?? parseExec(entry, shape, launcherPath);
  if (wired) return wired;
  const helper = shape.headersHelper ? entry[shape.headersHelper] : undefined;
  if (typeof helper === 'string' && isOurHeadersHelper(helper)) {
    const named = /\s--profile\s+'?([A-Za-z0-9._-]+)'?(\s|$)/.exec(helper)?.[1];
    return named !== undefined ? { profile: named } : {};
  }
  return undefined;
}

export function shellQuote(arg: string, platform: NodeJS.Platform): string {
  if (platform === 'win32') return /^[A-Za-z0-9_\\/.,:@+=-]+$/.test(arg) ? arg : `"${arg}"`;
  return /^[A-Za-z0-9_/.,:@%+=-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function isOurHeadersHelper(command: string): boolean {
  return /omni-auth/i.test(command) && /\btoken\b/.test(command) && /headers-json/.test(command);
}

interface ExecWired {
  command: string;
  args: string[];
  argsWereAbsent: boolean;
  /** The `--profile NAME` wire wrote, if any. */
  profile?: string;
}

/** `--profile NAME` at the start of `words` (as wire writes it): the name and what follows. */
function takeProfile(words: string[]): { profile?: string; rest: string[] } {
  if (words[0] === '--profile' && words[1] !== undefined && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(words[1])) return { profile: words[1], rest: words.slice(2) };
  return { rest: words };
}

const LAUNCHER_FILE = /^omni-auth(\.[cm]?js)?$/i;

/**
 * Recognises exactly what wire writes: `<node> <launcher> exec --env-var VAR -- cmd args…` (or
 * `--env-var=VAR`, for an entry that had no args). A launcher is the given path or any file named
 * omni-auth(.js|.mjs|.cjs), so an entry wired by an older install (other Node, other home) is still
 * recognised and re-wired. Anything else — other flags, `omni-auth` run from PATH or by npx — was
 * written by hand: see wrappedByHand.
 */
function parseExec(entry: Entry, shape: EntryShape, launcherPath: string | undefined): ExecWired | undefined {
  const cmd = entry[shape.command];
  const args = entry[shape.args];
  if (typeof cmd !== 'string' || !isStringArray(args)) return undefined;
  const [launcher, exec, ...afterExec] = args;
  const { profile, rest: [flag, ...rest] } = takeProfile(afterExec);
  if (exec !== 'exec' || launcher === undefined || !(launcher === launcherPath || LAUNCHER_FILE.test(baseName(launcher)))) return undefined;
  if (/^omni-auth/i.test(baseName(cmd)) || /^(npx|pnpm|bunx|yarn|npm)(\.cmd|\.exe)?$/i.test(baseName(cmd))) return undefined;
  let after: string[];
  let argsWereAbsent = false;
  if (flag === '--env-var' && rest[0] !== undefined && rest[0] !== '--' && rest[1] === '--') after = rest.slice(2);
  else if (flag !== undefined && /^--env-var=./.test(flag) && rest[0] === '--') {
    after = rest.slice(1);
    argsWereAbsent = true;
  } else return undefined;
  const [command, ...tail] = after;
  if (command === undefined) return undefined;
  return { command, args: tail, argsWereAbsent, ...(profile !== undefined ? { profile } : {}) };
}

/** An omni-auth program name: `omni-auth`, `omni-auth@1.2.0`, `@scope/omni-auth`, `omni-auth.cjs`, `omni-auth.cmd`. */
const OMNI_AUTH_PROGRAM = /^omni-auth(@[^/\\\s]*)?(\.[cm]?js|\.cmd|\.exe)?$/i;
/** The same inside a shell command line: `sh -c "omni-auth exec -- srv"`. */
const OMNI_AUTH_IN_LINE = /(^|[\s/\\'"])omni-auth(@[^\s/\\'"]*)?(\.[cm]?js|\.cmd|\.exe)?['"]?\s+exec(\s|$)/i;

/**
 * A wrapper someone wrote by hand: `omni-auth exec …`, `npx -y omni-auth exec -- …`, `node
 * /path/to/omni-auth.cjs exec …` with flags wire never writes, a shell line running `omni-auth exec`.
 * Already gets fresh tokens: wire leaves it as it is, unwire never rewrites it.
 */
export function wrappedByHand(entry: unknown, shape: EntryShape): boolean {
  if (!isPlainObject(entry)) return false;
  const nested = nestedCommand(entry, shape);
  if (nested) return wrappedByHand(nested.inner, nested.shape);
  const cmd = entry[shape.command];
  const args = isStringArray(entry[shape.args]) ? (entry[shape.args] as string[]) : [];
  if (typeof cmd !== 'string') return false;
  const words = [cmd, ...args];
  for (let i = 0; i + 1 < words.length; i++) {
    if (words[i + 1] === 'exec' && OMNI_AUTH_PROGRAM.test(baseName(words[i] as string))) return true;
  }
  return words.some((w) => OMNI_AUTH_IN_LINE.test(w));
}

/** The entry as it was before exec wiring, or undefined when it is not exec-wired. */
function restoreExec(entry: Entry, shape: EntryShape, launcherPath: string | undefined): Entry | undefined {
  const w = parseExec(entry, shape, launcherPath);
  if (!w) return undefined;
  const out: Entry = { ...entry, [shape.command]: w.command, [shape.args]: w.args };
  if (w.argsWereAbsent && w.args.length === 0) delete out[shape.args];
  return out;
}

/** A container (env, headers) a token was taken out of: dropped when empty, unless `keepEmpty`. */
function withEmptied(entry: Entry, key: string, value: Entry, keepEmpty: boolean): Entry {
  return Object.keys(value).length === 0 && !keepEmpty ? withoutKey(entry, key) : { ...entry, [key]: value };
}

/**
 * Whether an emptied container stays (`{}`). With a record: unless wire created it. Without one (an
 * entry wired before records were kept): when the client itself writes it empty in new entries
 * (Goose's `envs: {}`) — the likelier original.
 */
function keepsEmpty(shape: EntryShape, kind: Transport, key: string, record: WireRecord | undefined): boolean {
  if (record) return !(record.created ?? []).includes(key);
  const sample = kind === 'stdio' ? shape.stdio('x', 'x', []) : shape.remote?.('x', 'x');
  return sample !== undefined && Object.hasOwn(sample, key);
}

function withoutKey(o: Entry, key: string): Entry {
  const { [key]: _dropped, ...rest } = o;
  return rest;
}

function bearer(value: string): string {
  return value.replace(/^Bearer\s+/i, '');
}

function baseName(p: string): string {
  return posix.basename(win32.basename(p));
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function skip(code: SkipCode, reason: string): WireOutcome {
  return { action: 'skipped', code, reason };
}

// --- remote entries through the proxy ---------------------------------------------------------

/** The variable of a proxy entry's env that carries the remote entry's own headers (JSON). */
export const PROXY_HEADERS_VAR = 'OMNI_AUTH_PROXY_HEADERS';

/**
 * A remote entry becomes a stdio entry that runs `<node> <launcher> proxy <url>`: the URL key is
 * taken out, `type` (if any) says stdio in place, command and args go last. Every other key stays
 * where it was — so unwire, which takes command and args out and puts the URL key back last, gives
 * back the original bytes whenever the URL was the entry's last key (as every client writes it).
 * The entry's own headers (not an Authorization) go to the proxy through its env as JSON; they stay
 * in place too, except for clients that refuse them on a stdio entry (Codex), where they move.
 */
function wireProxy(entry: Entry, shape: EntryShape, s: WireSettings, ours: (t: string) => boolean): WireOutcome {
  const urlKey = shape.url.find((k) => typeof entry[k] === 'string');
  if (urlKey === undefined) return skip('unsupported_entry', 'the entry has no URL');
  const url = entry[urlKey] as string;
  const headersKey = shape.headers as string;
  const headers = entry[headersKey];
  if (headers !== undefined && !isPlainObject(headers)) return skip('unsupported_entry', `"${headersKey}" is not an object`);
  const auth = Object.keys(headers ?? {}).find((k) => AUTHORIZATION.test(k));
  if (auth !== undefined) {
    const v = headers?.[auth];
    const recorded = typeof v === 'string' && s.record?.token !== undefined && s.record.token === tokenDigest(bearer(v));
    if (!(typeof v === 'string' && (recorded || ours(bearer(v))))) {
      return skip('foreign_authorization', `the entry already sends its own ${auth} header; left as it is`);
    }
    // A token of ours an earlier --mode headers stored: the proxy replaces it. Not restorable, so taken out.
    return wireProxy(withEmptied(entry, headersKey, withoutKey(headers as Entry, auth), keepsEmpty(shape, 'remote', headersKey, s.record)), shape, s, ours);
  }
  const own = headers !== undefined && Object.keys(headers).length > 0 ? headers : undefined;
  const env = entry[shape.env];
  if (env !== undefined && !isPlainObject(env)) return skip('unsupported_entry', `"${shape.env}" is not an object`);
  if (own && env?.[PROXY_HEADERS_VAR] !== undefined) return skip('foreign_env_value', `"${shape.env}.${PROXY_HEADERS_VAR}" already holds a value`);
  const moveHeaders = headers !== undefined && (shape.stdioRefuses ?? []).includes(headersKey);
  const stdioType = shape.stdio('x', 'x', []).type;
  const keys = Object.keys(entry).filter((k) => !(moveHeaders && k === headersKey));
  const at = keys.indexOf(urlKey);
  const value = (k: string): unknown => {
    if (k === 'type' && typeof entry.type === 'string') return typeof stdioType === 'string' ? stdioType : 'stdio';
    if (k === shape.env && own) return { ...env, [PROXY_HEADERS_VAR]: JSON.stringify(own) };
    return entry[k];
  };
  const head = keys.slice(0, at);
  const tail = keys.slice(at + 1);
  const wired: Entry = {};
  for (const k of head) wired[k] = value(k);
  wired[shape.command] = s.nodePath;
  wired[shape.args] = [s.launcherPath, 'proxy', ...profileArgs(s), url];
  for (const k of tail) wired[k] = value(k);
  if (own && env === undefined) wired[shape.env] = value(shape.env);
  const via = viaEntry(wired, head);
  const remote: RemoteRecord = { urlKey, ...(typeof entry.type === 'string' ? { type: entry.type } : {}), ...(moveHeaders ? { headersMoved: true } : {}) };
  const created = own && env === undefined ? [shape.env] : [];
  return { action: 'changed', entry: wired, ...(via ? { via } : {}), wiring: 'proxy', holdsToken: false, record: { remote, ...(created.length > 0 ? { created } : {}) } };
}

interface ProxyWired {
  url: string;
  profile?: string;
}

/** The server URL of an entry wired through `omni-auth proxy`, if it is one. */
export function proxiedUrl(entry: unknown, shape: EntryShape, launcherPath?: string): string | undefined {
  return isPlainObject(entry) ? parseProxy(entry, shape, launcherPath)?.url : undefined;
}

/** Recognises exactly what wireProxy writes: `<node> <launcher> proxy [--profile NAME] <url>`. */
function parseProxy(entry: Entry, shape: EntryShape, launcherPath: string | undefined): ProxyWired | undefined {
  const cmd = entry[shape.command];
  const args = entry[shape.args];
  if (typeof cmd !== 'string' || !isStringArray(args) || args.length < 3) return undefined;
  const [launcher, verb, ...afterVerb] = args as [string, string, ...string[]];
  const { profile, rest } = takeProfile(afterVerb);
  const url = rest[0];
  if (rest.length !== 1 || url === undefined) return undefined;
  if (verb !== 'proxy' || !(launcher === launcherPath || LAUNCHER_FILE.test(baseName(launcher)))) return undefined;
  if (/^omni-auth/i.test(baseName(cmd)) || !/^https?:\/\//i.test(url)) return undefined;
  return { url, ...(profile !== undefined ? { profile } : {}) };
}

/**
 * The editors insert new keys last. To put keys back where they were, an entry whose keys must move
 * is written in two steps: first without the keys that follow the moved ones (`via`), then whole —
 * the second step inserts them again, in order, after the moved ones.
 */
function viaEntry(final: Entry, head: readonly string[]): Entry | undefined {
  // Only the moved keys (command, args) after the head: a plain edit puts them there.
  if (Object.keys(final).length <= head.length + 2) return undefined;
  return Object.fromEntries(head.map((k) => [k, final[k]]));
}

/** The remote entry a proxy entry was made from (the record says how it was spelled; else the client's usual spelling). */
function restoreProxy(entry: Entry, shape: EntryShape, p: ProxyWired, record: WireRecord | undefined): { entry: Entry; via?: Entry } {
  const sample = shape.remote?.('x', 'x') ?? {};
  const urlKey = record?.remote?.urlKey ?? shape.url.find((k) => Object.hasOwn(sample, k)) ?? shape.url[0] ?? 'url';
  const type = record?.remote?.type ?? sample.type;
  const env = entry[shape.env];
  let moved: Entry | undefined;
  let keptEnv: Entry | undefined;
  if (isPlainObject(env) && typeof env[PROXY_HEADERS_VAR] === 'string') {
    try {
      const parsed: unknown = JSON.parse(env[PROXY_HEADERS_VAR] as string);
      if (isPlainObject(parsed)) moved = parsed;
    } catch {
      // Not ours to interpret: left in the env.
    }
    if (moved) keptEnv = withoutKey(env, PROXY_HEADERS_VAR);
  }
  const keys = Object.keys(entry).filter((k) => k !== shape.command);
  const at = keys.indexOf(shape.args);
  const out: Entry = {};
  const put = (k: string): void => {
    if (k === 'type' && typeof entry.type === 'string') {
      if (typeof type === 'string') out.type = type;
      return;
    }
    if (k === shape.env && keptEnv) {
      if (Object.keys(keptEnv).length > 0 || keepsEmpty(shape, 'remote', shape.env, record)) out[k] = keptEnv;
      return;
    }
    out[k] = entry[k];
  };
  const head = keys.slice(0, at);
  for (const k of head) put(k);
  out[urlKey] = p.url;
  for (const k of keys.slice(at + 1)) put(k);
  if (moved && shape.headers && out[shape.headers] === undefined) out[shape.headers] = moved;
  const headOut = Object.keys(out).slice(0, Object.keys(out).indexOf(urlKey));
  const tailFollows = Object.keys(out).length > headOut.length + 1;
  return { entry: out, ...(tailFollows ? { via: Object.fromEntries(headOut.map((k) => [k, out[k]])) } : {}) };
}
