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
 */
import { posix, win32 } from 'node:path';
import type { Secret } from '../util/secret.js';
import type { EntryShape } from './registry.js';
import { deepEqual, isPlainObject } from './formats/structural.js';

export type Entry = Record<string, unknown>;
export type WireMode = 'exec' | 'env';
export type Transport = 'stdio' | 'remote';
/** How an entry goes through omni-auth: a wrapper command, a header helper, or a stored token. */
export type Wiring = 'exec' | 'headers-helper' | 'env-token' | 'header-token';

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
}

export type SkipCode = 'unsupported_entry' | 'remote_unsupported' | 'foreign_headers_helper' | 'foreign_authorization' | 'token_required';

export type WireOutcome =
  | { action: 'changed' | 'unchanged'; entry: Entry; wiring: Wiring; holdsToken: boolean }
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
}

export interface UnwireOutcome {
  action: 'changed' | 'unchanged';
  entry: Entry;
  /** A token that may be ours is still in the entry (no isOurToken, or it said no). */
  tokenLeft: boolean;
}

const AUTHORIZATION = /^authorization$/i;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
export const looksLikeJwt = (s: string): boolean => JWT.test(s);

export function transportOf(entry: unknown, shape: EntryShape): Transport | undefined {
  if (!isPlainObject(entry)) return undefined;
  if (typeof entry[shape.command] === 'string') return 'stdio';
  if (shape.url.some((k) => typeof entry[k] === 'string')) return 'remote';
  return undefined;
}

/** True when wiring this entry this way stores a token (so one must be fetched first). */
export function needsToken(entry: unknown, shape: EntryShape, mode: WireMode): boolean {
  const t = transportOf(entry, shape);
  if (t === 'stdio') return mode === 'env';
  return t === 'remote' && !shape.headersHelper && shape.headers !== undefined;
}

export function wireEntry(entry: unknown, shape: EntryShape, s: WireSettings): WireOutcome {
  const transport = transportOf(entry, shape);
  if (!transport || !isPlainObject(entry)) {
    return skip('unsupported_entry', 'the entry has neither a command nor a URL omni-auth understands');
  }
  const outcome = transport === 'stdio' ? wireStdio(entry, shape, s) : wireRemote(entry, shape, s);
  if ('entry' in outcome && deepEqual(outcome.entry, entry)) return { ...outcome, action: 'unchanged', entry };
  return outcome;
}

function wireStdio(entry: Entry, shape: EntryShape, s: WireSettings): WireOutcome {
  const original = restoreExec(entry, shape, s.launcherPath) ?? entry;
  const command = original[shape.command] as string;
  const args = original[shape.args];
  if (args !== undefined && !isStringArray(args)) return skip('unsupported_entry', `"${shape.args}" is not a list of strings`);
  const env = original[shape.env];
  if (env !== undefined && !isPlainObject(env)) return skip('unsupported_entry', `"${shape.env}" is not an object`);

  if (s.mode === 'env') {
    if (!s.token) return skip('token_required', 'mode env stores a token, and none was given');
    return { action: 'changed', entry: { ...original, [shape.env]: { ...env, [s.envVar]: s.token.reveal() } }, wiring: 'env-token', holdsToken: true };
  }
  const flag = args === undefined ? [`--env-var=${s.envVar}`] : ['--env-var', s.envVar];
  let wired: Entry = { ...original, [shape.command]: s.nodePath, [shape.args]: [s.launcherPath, 'exec', ...flag, '--', command, ...(args ?? [])] };
  // A token an earlier `--mode env` left is stale now (exec sets the variable itself). Removed only
  // when the caller can tell it is ours: unwire could not bring it back.
  const stale = env?.[s.envVar];
  if (env && typeof stale === 'string' && s.isOurToken?.(stale)) {
    wired = withEmptied(wired, shape.env, withoutKey(env, s.envVar), canonicalHas(shape, 'stdio', shape.env));
  }
  return { action: 'changed', entry: wired, wiring: 'exec', holdsToken: false };
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
  if (!s.token) return skip('token_required', 'this client stores the token in the entry, and none was given');
  const headers = entry[shape.headers];
  if (headers !== undefined && !isPlainObject(headers)) return skip('unsupported_entry', `"${shape.headers}" is not an object`);
  const key = Object.keys(headers ?? {}).find((k) => AUTHORIZATION.test(k)) ?? 'Authorization';
  const current = headers?.[key];
  if (current !== undefined && !(typeof current === 'string' && ours(bearer(current)))) {
    return skip('foreign_authorization', `the entry already sends its own ${key} header; left as it is`);
  }
  return {
    action: 'changed',
    entry: { ...entry, [shape.headers]: { ...headers, [key]: `Bearer ${s.token.reveal()}` } },
    wiring: 'header-token',
    holdsToken: true,
  };
}

export function unwireEntry(entry: Entry, shape: EntryShape, s: UnwireSettings): UnwireOutcome {
  let out: Entry = restoreExec(entry, shape, s.launcherPath) ?? entry;
  let tokenLeft = false;
  const helper = shape.headersHelper;
  if (helper && typeof out[helper] === 'string' && isOurHeadersHelper(out[helper] as string)) out = withoutKey(out, helper);

  const env = out[shape.env];
  if (isPlainObject(env)) {
    const envToken = env[s.envVar];
    if (typeof envToken === 'string' && looksLikeJwt(envToken) && !s.isOurToken?.(envToken)) tokenLeft = true;
    const ours = Object.keys(env).filter((k) => (k === s.envVar || s.anyEnvVar) && ourEnvToken(env[k], s.isOurToken));
    if (ours.length > 0) out = withEmptied(out, shape.env, ours.reduce(withoutKey, env), canonicalHas(shape, 'stdio', shape.env));
  }
  const headers = shape.headers ? out[shape.headers] : undefined;
  if (shape.headers && isPlainObject(headers)) {
    const key = Object.keys(headers).find((k) => AUTHORIZATION.test(k));
    const value = key ? headers[key] : undefined;
    if (key && typeof value === 'string' && looksLikeJwt(bearer(value))) {
      if (s.isOurToken?.(bearer(value))) out = withEmptied(out, shape.headers, withoutKey(headers, key), canonicalHas(shape, 'remote', shape.headers));
      else tokenLeft = true;
    }
  }
  return { action: deepEqual(out, entry) ? 'unchanged' : 'changed', entry: deepEqual(out, entry) ? entry : out, tokenLeft };
}

/** How the entry goes through omni-auth, if it does. */
export function detectWiring(
  entry: unknown,
  shape: EntryShape,
  opts: { envVar: string; launcherPath?: string } & Pick<UnwireSettings, 'isOurToken' | 'anyEnvVar'>,
): Wiring | undefined {
  if (!isPlainObject(entry)) return undefined;
  if (parseExec(entry, shape, opts.launcherPath)) return 'exec';
  const helper = shape.headersHelper ? entry[shape.headersHelper] : undefined;
  if (typeof helper === 'string' && isOurHeadersHelper(helper)) return 'headers-helper';
  const env = entry[shape.env];
  const envToken = isPlainObject(env) ? env[opts.envVar] : undefined;
  if (transportOf(entry, shape) === 'stdio' && isPlainObject(env)) {
    if (typeof envToken === 'string' && looksLikeJwt(envToken)) return 'env-token';
    if (opts.anyEnvVar && Object.values(env).some((v) => ourEnvToken(v, opts.isOurToken))) return 'env-token';
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

/** The header-helper command line: `<node> <launcher> token --format headers-json`, quoted for the shell. */
export function headersHelperCommand(s: Pick<WireSettings, 'nodePath' | 'launcherPath' | 'platform'>): string {
  return [s.nodePath, s.launcherPath, 'token', '--format', 'headers-json'].map((a) => shellQuote(a, s.platform)).join(' ');
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
}

/**
 * Recognises `node <launcher> exec [flags] -- cmd args…` (and a hand-written `omni-auth exec … --
 * cmd args…`). A launcher is the given path or any file named omni-auth(.js|.mjs|.cjs), so an entry
 * wired by an older install (other Node, other home) is still recognised and re-wired.
 */
function parseExec(entry: Entry, shape: EntryShape, launcherPath: string | undefined): ExecWired | undefined {
  const cmd = entry[shape.command];
  const args = entry[shape.args];
  if (typeof cmd !== 'string' || !isStringArray(args)) return undefined;
  let flagsFrom: number;
  if (args[1] === 'exec' && args[0] !== undefined && (args[0] === launcherPath || /^omni-auth(\.[cm]?js)?$/i.test(baseName(args[0])))) flagsFrom = 2;
  else if (args[0] === 'exec' && /^omni-auth(\.cmd|\.exe)?$/i.test(baseName(cmd))) flagsFrom = 1;
  else return undefined;
  const sep = args.indexOf('--', flagsFrom);
  const command = args[sep + 1];
  if (sep < 0 || command === undefined) return undefined;
  return { command, args: args.slice(sep + 2), argsWereAbsent: args.slice(flagsFrom, sep).some((f) => f.startsWith('--env-var=')) };
}

/** The entry as it was before exec wiring, or undefined when it is not exec-wired. */
function restoreExec(entry: Entry, shape: EntryShape, launcherPath: string | undefined): Entry | undefined {
  const w = parseExec(entry, shape, launcherPath);
  if (!w) return undefined;
  const out: Entry = { ...entry, [shape.command]: w.command, [shape.args]: w.args };
  if (w.argsWereAbsent && w.args.length === 0) delete out[shape.args];
  return out;
}

/**
 * A container (env, headers) a token was taken out of: dropped when empty, unless the client itself
 * writes it empty in new entries (Goose's `envs: {}`) — the likelier original.
 */
function withEmptied(entry: Entry, key: string, value: Entry, keepEmpty: boolean): Entry {
  return Object.keys(value).length === 0 && !keepEmpty ? withoutKey(entry, key) : { ...entry, [key]: value };
}

function canonicalHas(shape: EntryShape, kind: Transport, key: string): boolean {
  const sample = kind === 'stdio' ? shape.stdio('x', 'x', []) : shape.remote?.('x', 'x');
  return sample !== undefined && Object.hasOwn(sample, key);
}

function ourEnvToken(value: unknown, isOurToken: ((token: string) => boolean) | undefined): boolean {
  return typeof value === 'string' && looksLikeJwt(value) && isOurToken?.(value) === true;
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
