/**
 * The corporate-network settings every request omni-auth makes honours (issue 11 §4), read at run
 * time rather than at process start:
 *  - a proxy from `HTTPS_PROXY` / `HTTP_PROXY` (lower-case names first, as curl and undici read them)
 *    and the hosts `NO_PROXY` exempts;
 *  - extra certificate authorities, ADDED to the default roots (never replacing them): the file in
 *    `NODE_EXTRA_CA_CERTS` (Node reads it only when the process starts, and MCP clients or npx often
 *    start omni-auth without it), and `--ca-file` or else `OMNI_AUTH_CA_FILE`.
 *
 * Only node: built-ins and no network client here: `doctor` describes these settings and the HTTP
 * dispatcher (src/exchange/undici-transport.ts `dispatcher()`) builds on them.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../util/errors.js';

export type CaSource = 'NODE_EXTRA_CA_CERTS' | 'OMNI_AUTH_CA_FILE' | '--ca-file';

export interface CaFile {
  path: string;
  source: CaSource;
}

export interface NetworkConfig {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
  /** Where the extra CAs come from, in the order they are added. */
  caFiles: CaFile[];
}

/**
 * `--ca-file` as the command line gave it (set by the CLI's settings options, src/cli/context.ts). Kept
 * on globalThis under a registered symbol, not in a module variable: the build compiles some subtrees
 * (src/tenant) lazily into their own bundle, which would get a copy of this module of its own.
 */
const CA_FILE_FLAG = Symbol.for('omni-auth.network.caFileFlag');
const store = globalThis as { [CA_FILE_FLAG]?: string };

export function setCaFileFlag(path: string | undefined): void {
  store[CA_FILE_FLAG] = path === undefined || path.trim() === '' ? undefined : path;
}

const envValue = (env: NodeJS.ProcessEnv, ...names: string[]): string | undefined => {
  for (const name of names) {
    const v = env[name]?.trim();
    if (v) return v;
  }
  return undefined;
};

export function networkConfig(env: NodeJS.ProcessEnv = process.env, flag: string | undefined = store[CA_FILE_FLAG]): NetworkConfig {
  const caFiles: CaFile[] = [];
  const extra = envValue(env, 'NODE_EXTRA_CA_CERTS');
  if (extra) caFiles.push({ path: extra, source: 'NODE_EXTRA_CA_CERTS' });
  if (flag) caFiles.push({ path: flag, source: '--ca-file' });
  else {
    const own = envValue(env, 'OMNI_AUTH_CA_FILE');
    if (own) caFiles.push({ path: own, source: 'OMNI_AUTH_CA_FILE' });
  }
  const httpProxy = envValue(env, 'http_proxy', 'HTTP_PROXY');
  const httpsProxy = envValue(env, 'https_proxy', 'HTTPS_PROXY');
  const noProxy = envValue(env, 'no_proxy', 'NO_PROXY');
  return {
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    ...(noProxy ? { noProxy } : {}),
    caFiles,
  };
}

/**
 * NODE_EXTRA_CA_CERTS as it was when this module was first evaluated — in the CLI, at start-up, when
 * Node itself read it into its default trust store (the global fetch's).
 */
const STARTUP_EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS?.trim() || undefined;

/**
 * True when a request needs more than the global fetch gives (a proxy, or a CA Node did not load at
 * start-up): then only `dispatcher()` does it right.
 */
export const isCustomNetwork = (c: NetworkConfig): boolean =>
  c.httpProxy !== undefined || c.httpsProxy !== undefined
  || c.caFiles.some((f) => !(f.source === 'NODE_EXTRA_CA_CERTS' && f.path === STARTUP_EXTRA_CA));

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The PEM certificates of every CA file. A file that cannot be read, or holds no certificate, is a
 * usage error naming the file and where it was given: a silently ignored CA file would surface later
 * as an unexplained TLS failure.
 */
export async function readExtraCas(config: NetworkConfig): Promise<string[]> {
  const out: string[] = [];
  for (const { path, source } of config.caFiles) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS and goes on: so do we (a stale
      // variable must not stop every request). The files given to omni-auth itself are strict.
      if (source === 'NODE_EXTRA_CA_CERTS') continue;
      const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new UsageError('ca_file_unreadable', `cannot read the CA file ${path} (${source}): ${code}`, {
        hint: `${source} must name a readable PEM file of CA certificates`,
      });
    }
    const certs = text.match(PEM_CERT);
    if (!certs && source === 'NODE_EXTRA_CA_CERTS') continue;
    if (!certs) {
      throw new UsageError('ca_file_invalid', `the CA file ${path} (${source}) holds no PEM certificate`, {
        hint: 'give a PEM file ("-----BEGIN CERTIFICATE-----" blocks), e.g. your proxy\'s root CA exported as PEM',
      });
    }
    out.push(...certs);
  }
  return out;
}

/**
 * The proxy URLs, checked: one that does not parse, or is not http:// or https://, is a usage error
 * naming the variable (never the URL, which may hold credentials).
 */
export function checkProxies(config: NetworkConfig): void {
  for (const [uri, names] of [[config.httpsProxy, 'HTTPS_PROXY/https_proxy'], [config.httpProxy, 'HTTP_PROXY/http_proxy']] as const) {
    if (uri === undefined) continue;
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(uri).protocol);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new UsageError('invalid_proxy', `${names} is not an http:// or https:// proxy URL`, {
        hint: `set it to the proxy's URL, e.g. http://proxy.example.com:3128 (credentials as http://user:password@host:port), or unset it`,
      });
    }
  }
}

/** A proxy URL as it may be shown: without a user name or password. */
export function redactProxy(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
      return `${u.href.replace(/\/$/, '')} (credentials hidden)`;
    }
    return u.href.replace(/\/$/, '');
  } catch {
    return '(an invalid proxy URL)';
  }
}

/** One line for `doctor`: the proxy and the CAs in use (never a proxy's credentials). */
export function describeNetwork(c: NetworkConfig): string {
  const proxies: string[] = [];
  if (c.httpsProxy) proxies.push(`https via ${redactProxy(c.httpsProxy)}`);
  if (c.httpProxy) proxies.push(`http via ${redactProxy(c.httpProxy)}`);
  const proxy = proxies.length > 0
    ? `proxy: ${proxies.join(', ')}${c.noProxy ? ` (NO_PROXY: ${c.noProxy})` : ''}`
    : 'proxy: none (direct)';
  const ca = c.caFiles.length > 0
    ? `CA: system roots + ${c.caFiles.map((f) => `${f.path} (${f.source})`).join(' + ')}`
    : 'CA: system roots';
  return `${proxy}; ${ca}`;
}
