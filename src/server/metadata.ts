/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for an MCP server protected by an Auth0 tenant:
 * the document to serve at `/.well-known/oauth-protected-resource[/path]` (§3), and the
 * `WWW-Authenticate` value for 401 answers that points clients at it (§5.1), so MCP clients (and
 * `omni-auth mcp add --url`) can discover the tenant from the server's URL alone.
 */
import { ServerConfigError } from './errors.js';
import { isLoopbackHost, tenantUrls } from './tenant.js';

export interface ProtectedResourceMetadataOptions {
  /** The MCP server's URL (its resource identifier), e.g. `https://mcp.example.com/mcp`. */
  resource: string;
  /** The Auth0 domain (as for createTokenVerifier). */
  domain: string;
  /** The scopes (permissions) clients may request for this resource. */
  scopes?: readonly string[];
  /** A name for people (`resource_name`). */
  resourceName?: string;
  /** `resource_documentation`. */
  documentation?: string;
}

/** RFC 9728 §2. Only the members we fill. */
export interface ProtectedResourceMetadataDocument {
  resource: string;
  authorization_servers: string[];
  jwks_uri: string;
  bearer_methods_supported: ['header'];
  scopes_supported?: string[];
  resource_name?: string;
  resource_documentation?: string;
}

export interface ProtectedResourceMetadata {
  document: ProtectedResourceMetadataDocument;
  /** Where to serve `document`: the well-known path inserted before the resource's path (§3.1). */
  url: string;
  /** The path part of `url`, for a router. */
  path: string;
  /** `Bearer resource_metadata="<url>"` — for every 401. */
  wwwAuthenticate: string;
}

/** The metadata URL of a resource (RFC 9728 §3.1): `/.well-known/oauth-protected-resource` + its path. */
export function protectedResourceMetadataUrl(resource: string): URL {
  const r = new URL(resource);
  const path = r.pathname === '/' ? '' : r.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/oauth-protected-resource${path}`, r.origin);
}

export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): ProtectedResourceMetadata {
  let resource: URL;
  try {
    resource = new URL(options.resource);
  } catch {
    throw new ServerConfigError('invalid_resource', `"resource" (${String(options.resource)}) is not a URL`, 'pass the MCP server\'s URL, e.g. https://mcp.example.com/mcp');
  }
  if (resource.hash || (resource.protocol !== 'https:' && !(resource.protocol === 'http:' && isLoopbackHost(resource.hostname)))) {
    throw new ServerConfigError('invalid_resource', '"resource" must be an https:// URL without a fragment (http:// only on loopback)', 'RFC 9728 §1.2: the resource identifier is an https URL with no fragment');
  }
  const { issuer, jwksUri } = tenantUrls(options.domain);
  const scopes = [...new Set(options.scopes ?? [])];
  const document: ProtectedResourceMetadataDocument = {
    resource: options.resource,
    authorization_servers: [issuer],
    jwks_uri: jwksUri,
    bearer_methods_supported: ['header'],
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
    ...(options.documentation ? { resource_documentation: options.documentation } : {}),
  };
  const url = protectedResourceMetadataUrl(options.resource);
  return { document, url: url.href, path: url.pathname, wwwAuthenticate: `Bearer resource_metadata="${url.href}"` };
}
