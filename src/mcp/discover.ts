/**
 * Issue 11 §2: the tenant settings from an MCP server's URL alone (the MCP authorization spec).
 * An unauthenticated `initialize` POST; the 401's `WWW-Authenticate` `resource_metadata` (RFC 9728
 * §5.1) — or the well-known URL on the server's origin (§3.1, the path-inserted one first) — gives
 * the Protected Resource Metadata; its first authorization server is the issuer, whose OIDC
 * discovery (RFC 8414 metadata as a fallback) must name exactly that issuer (RFC 9207 style). The
 * domain is the issuer's origin; the audience is the PRM `resource` (RFC 8707; Auth0's `audience`).
 * Every URL on the way is https:// (http:// on loopback only). Read-only: nothing is saved here.
 */
import { isLoopbackHost, issuerOf } from '../config/domain.js';
import { DEFAULT_TIMEOUTS, getJson, postJson, type HttpOptions } from '../exchange/http.js';
import { parseBearerChallenge } from '../proxy/challenge.js';
import { ExitCode, OmniAuthError, UsageError } from '../util/errors.js';

export interface Discovery {
  /** The server URL given. */
  server: string;
  /** Where the Protected Resource Metadata was read, and how it was found. */
  resourceMetadataUrl: string;
  foundVia: 'www-authenticate' | 'well-known';
  /** The PRM `resource`: the audience. */
  resource: string;
  /** The issuer named by the PRM and confirmed by its discovery document. */
  issuer: string;
  /** The issuer's origin: the `domain` setting. */
  domain: string;
  audience: string;
  scopes?: string[];
}

/** The MCP `initialize` request the probe sends (no token). */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'omni-auth', version: '1' } },
} as const;

const fail = (code: string, message: string, hint: string): OmniAuthError => new OmniAuthError(`discovery.${code}`, message, { hint, exitCode: ExitCode.refused });

/** https://, or http:// to this machine; anything else is refused before any request. */
export function secureUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('invalid_url', `${what} "${raw}" is not a URL`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) return url;
  throw new UsageError('insecure_url', `refusing ${what} ${url.protocol}//${url.host}: only https:// (http:// only to 127.0.0.1, ::1 or localhost)`, {
    hint: 'use the https:// address',
  });
}

/** RFC 9728 §3.1: the well-known segment inserted before the path; then the origin's root one. */
function wellKnownUrls(server: URL): URL[] {
  const path = server.pathname === '/' ? '' : server.pathname.replace(/\/$/, '');
  const urls = [new URL(`/.well-known/oauth-protected-resource${path}`, server.origin)];
  if (path !== '') urls.push(new URL('/.well-known/oauth-protected-resource', server.origin));
  return urls;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function discoverServer(serverUrl: string, http: Partial<HttpOptions> = {}): Promise<Discovery> {
  const options: HttpOptions = { ...DEFAULT_TIMEOUTS, ...http };
  const server = secureUrl(serverUrl, 'the server');

  const probe = await postJson(server, INITIALIZE, { ...options, headers: { 'mcp-protocol-version': INITIALIZE.params.protocolVersion } });
  const challenge = parseBearerChallenge(probe.headers['www-authenticate']);
  let candidates: { url: URL; via: Discovery['foundVia'] }[];
  if (challenge.resource_metadata) {
    candidates = [{ url: secureUrl(challenge.resource_metadata, 'the resource metadata URL'), via: 'www-authenticate' }];
  } else {
    if (probe.status !== 401 && probe.status !== 403) {
      throw fail('no_challenge', `${server.origin} answered the unauthenticated initialize with HTTP ${probe.status}, not 401: it does not ask for a token`,
        'check the URL; a server that needs no token needs no omni-auth settings');
    }
    candidates = wellKnownUrls(server).map((url) => ({ url, via: 'well-known' as const }));
  }

  let prm: Record<string, unknown> | undefined;
  let found: { url: URL; via: Discovery['foundVia'] } | undefined;
  for (const c of candidates) {
    const r = await getJson(c.url, options);
    if (r.status >= 200 && r.status < 300 && isObject(r.body)) {
      prm = r.body;
      found = c;
      break;
    }
  }
  if (!prm || !found) {
    throw fail('no_resource_metadata', `no Protected Resource Metadata (RFC 9728) at ${candidates.map((c) => c.url.href).join(' or ')}`,
      'the server does not publish its authorization server: pass --domain and --audience yourself');
  }
  const resource = prm.resource;
  if (typeof resource !== 'string' || resource === '') throw fail('bad_resource_metadata', `${found.url.href} has no "resource"`, 'the server\'s metadata is incomplete: pass --audience yourself');
  // RFC 9728 §3.3/§7.3: the metadata must be about the server we asked, not another one.
  const res = secureUrl(resource, 'the metadata\'s resource');
  if (res.origin !== server.origin) {
    throw fail('resource_mismatch', `the metadata at ${found.url.href} is for ${res.origin}, not ${server.origin}`, 'the server points at another resource\'s metadata: refused (RFC 9728 §3.3)');
  }
  const servers = prm.authorization_servers;
  if (!Array.isArray(servers) || typeof servers[0] !== 'string') {
    throw fail('bad_resource_metadata', `${found.url.href} names no authorization server`, 'pass --domain yourself');
  }
  const issuer = servers[0];
  const issuerUrl = secureUrl(issuer, 'the authorization server');

  const base = issuer.replace(/\/$/, '');
  const meta = await getJson(new URL(`${base}/.well-known/openid-configuration`), options);
  let doc = meta.body;
  if (meta.status === 404) {
    const path = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname.replace(/\/$/, '');
    doc = (await getJson(new URL(`/.well-known/oauth-authorization-server${path}`, issuerUrl.origin), options)).body;
  } else if (meta.status < 200 || meta.status >= 300) {
    throw fail('discovery_failed', `${issuerUrl.origin} answered its discovery document with HTTP ${meta.status}`, 'check that the authorization server is up');
  }
  const discovered = isObject(doc) ? doc.issuer : undefined;
  if (discovered !== issuer) {
    throw fail('issuer_mismatch', `the authorization server's discovery names the issuer ${JSON.stringify(discovered)}, not ${JSON.stringify(issuer)} as the server's metadata does`,
      'refused: the metadata and the authorization server disagree (RFC 9207); check the server\'s configuration');
  }
  const domain = issuerUrl.origin;
  if (issuerOf(domain) !== issuer) {
    throw fail('unsupported_issuer', `the issuer ${issuer} is not an Auth0 issuer (https://DOMAIN/)`, 'omni-auth talks to Auth0 tenants: pass --domain yourself');
  }
  const scopes = Array.isArray(prm.scopes_supported) ? prm.scopes_supported.filter((s): s is string => typeof s === 'string') : undefined;
  return {
    server: server.href, resourceMetadataUrl: found.url.href, foundVia: found.via, resource, issuer, domain, audience: resource,
    ...(scopes && scopes.length > 0 ? { scopes } : {}),
  };
}
