/**
 * Doctor's check of the remote MCP servers omni-auth hands tokens to (issue 11 §2): those wired
 * through `omni-auth proxy` in the MCP clients, or the one `--server-url` names. For each: its
 * Protected Resource Metadata is reachable and names the settings' issuer (confirmed by the issuer's
 * discovery), then one authenticated `initialize` shows the token is accepted.
 */
import type { HomeFiles } from '../config/home.js';
import type { Settings } from '../config/settings.js';
import type { HttpOptions } from '../exchange/http.js';
import { assertSecureUrl } from '../exchange/secure-url.js';
import { ExitCode } from '../util/errors.js';
import type { Secret } from '../util/secret.js';
import { fail, failFrom, pass, type Check } from './doctor-check.js';

export interface RemoteServerRequest {
  settings: Settings;
  files: HomeFiles;
  env: NodeJS.ProcessEnv;
  clientSecret?: Secret;
  http: HttpOptions;
  /** `--server-url`: this server only; else every server wired through the proxy. */
  serverUrl?: string;
  cwd: string;
}

/** One check per configured remote server; none when there is none. */
export async function checkRemoteServers(req: RemoteServerRequest): Promise<Check[]> {
  const urls = req.serverUrl !== undefined ? [req.serverUrl] : await proxiedServers(req.env, req.cwd);
  const checks: Check[] = [];
  for (const url of urls) checks.push(await checkServer(req, url));
  return checks;
}

/** The URLs of the entries wired through `omni-auth proxy`, each once. */
async function proxiedServers(env: NodeJS.ProcessEnv, cwd: string): Promise<string[]> {
  try {
    const { listClients } = await import('../mcp/list.js');
    const { clients } = await listClients({ env, cwd });
    const urls = new Set<string>();
    for (const c of clients) for (const f of c.files) for (const s of f.servers) if (s.proxyUrl) urls.add(s.proxyUrl);
    return [...urls];
  } catch {
    // The MCP clients line already says what could not be read.
    return [];
  }
}

async function checkServer(req: RemoteServerRequest, url: string): Promise<Check> {
  const id = 'remote-server';
  const title = `remote server ${safeOrigin(url)}`;
  const { discoverServer, INITIALIZE } = await import('../mcp/discover.js');
  let found;
  try {
    found = await discoverServer(url, req.http);
  } catch (e) {
    return failFrom(id, title, e, 'check that the server is up and publishes its Protected Resource Metadata (RFC 9728)');
  }
  if (found.issuer !== req.settings.issuer) {
    return fail(id, title, `its metadata (${found.resourceMetadataUrl}) names the issuer ${found.issuer}, the settings ${req.settings.issuer}`,
      `the server trusts another tenant: set --domain ${found.domain} (or re-add it with \`omni-auth mcp add NAME --url ${url}\` without settings)`, ExitCode.refused);
  }
  let token: string;
  try {
    const { getToken } = await import('../broker/get-token.js');
    const got = await getToken({
      settings: req.settings, files: req.files, env: req.env, minTtl: 60, warn: () => undefined,
      ...(req.clientSecret ? { clientSecret: req.clientSecret } : {}),
    });
    token = got.token.access_token;
  } catch (e) {
    return failFrom(id, title, e, 'run `omni-auth login`');
  }
  try {
    const target = new URL(url);
    assertSecureUrl(target);
    const transport = req.http.transport ?? (await import('../exchange/undici-transport.js')).undiciTransport;
    const r = await transport({
      method: 'POST', url: target,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': INITIALIZE.params.protocolVersion,
        'user-agent': 'omni-auth',
      },
      body: JSON.stringify(INITIALIZE),
      connectTimeoutMs: req.http.connectTimeoutMs,
      signal: AbortSignal.timeout(req.http.totalTimeoutMs),
    });
    if (r.status >= 200 && r.status < 300) {
      const audience = found.audience === req.settings.audience ? '' : ` (its resource ${found.audience} is not the audience ${req.settings.audience})`;
      return pass(id, title, `issuer ${found.issuer} as in the settings; the token was accepted (initialize: HTTP ${r.status})${audience}`);
    }
    const { parseBearerChallenge } = await import('../proxy/challenge.js');
    const ch = parseBearerChallenge(r.headers['www-authenticate']);
    const why = [ch.error, ch.error_description].filter(Boolean).join(': ');
    return fail(id, title, `the server refused the token: HTTP ${r.status}${why ? ` (${why})` : ''}`,
      found.audience === req.settings.audience
        ? 'the server does not accept this tenant\'s tokens: check its configuration (audience, required scopes)'
        : `the server's resource is ${found.audience}: set --audience ${found.audience}`,
      ExitCode.refused);
  } catch (e) {
    return failFrom(id, title, e, 'check that the server is up');
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
