/** discoverServer's paths that the e2e test's server does not take, over a fake transport (issue 11 §2). */
import { describe, expect, it } from 'vitest';
import type { Transport } from '../../src/exchange/transport.js';
import { discoverServer } from '../../src/mcp/discover.js';

const SERVER = 'https://mcp.example.com/mcp';
const ISSUER = 'https://tenant.eu.auth0.com/';

/** Answers by URL; unknown URLs are 404. Records what was asked. */
function fake(routes: Record<string, { status?: number; headers?: Record<string, string>; body?: unknown }>): { transport: Transport; asked: string[] } {
  const asked: string[] = [];
  const transport: Transport = async ({ url }) => {
    asked.push(url.href);
    const r = routes[url.href];
    if (!r) return { status: 404, headers: {}, bodyText: '' };
    return { status: r.status ?? 200, headers: r.headers ?? {}, bodyText: r.body === undefined ? '' : JSON.stringify(r.body) };
  };
  return { transport, asked };
}

const prm = (extra: Record<string, unknown> = {}) => ({ resource: SERVER, authorization_servers: [ISSUER], ...extra });

describe('discoverServer', () => {
  it('without resource_metadata in the 401, tries the path-inserted well-known URL, then the origin\'s', async () => {
    const { transport, asked } = fake({
      [SERVER]: { status: 401, headers: { 'www-authenticate': 'Bearer realm="mcp"' } },
      'https://mcp.example.com/.well-known/oauth-protected-resource': { body: prm({ scopes_supported: ['tool:echo'] }) },
      [`${ISSUER}.well-known/openid-configuration`]: { body: { issuer: ISSUER } },
    });
    const d = await discoverServer(SERVER, { transport });
    expect(d).toMatchObject({ foundVia: 'well-known', domain: 'https://tenant.eu.auth0.com', audience: SERVER, issuer: ISSUER, scopes: ['tool:echo'] });
    expect(asked.slice(1, 3)).toEqual(['https://mcp.example.com/.well-known/oauth-protected-resource/mcp', 'https://mcp.example.com/.well-known/oauth-protected-resource']);
  });

  it('falls back to RFC 8414 metadata when the issuer has no OIDC discovery, and still checks its issuer', async () => {
    const routes = {
      [SERVER]: { status: 401, headers: { 'www-authenticate': 'Bearer resource_metadata="https://mcp.example.com/prm"' } },
      'https://mcp.example.com/prm': { body: prm() },
      'https://tenant.eu.auth0.com/.well-known/oauth-authorization-server': { body: { issuer: ISSUER } },
    };
    await expect(discoverServer(SERVER, { transport: fake(routes).transport })).resolves.toMatchObject({ foundVia: 'www-authenticate', issuer: ISSUER });
    routes['https://tenant.eu.auth0.com/.well-known/oauth-authorization-server'] = { body: { issuer: 'https://evil.example.com/' } };
    await expect(discoverServer(SERVER, { transport: fake(routes).transport })).rejects.toMatchObject({ code: 'discovery.issuer_mismatch', exitCode: 3 });
  });

  it('refuses metadata for another origin\'s resource, a server that asks for no token, and a non-Auth0 issuer', async () => {
    const base = {
      [SERVER]: { status: 401, headers: { 'www-authenticate': 'Bearer resource_metadata="https://mcp.example.com/prm"' } },
      [`${ISSUER}.well-known/openid-configuration`]: { body: { issuer: ISSUER } },
    };
    await expect(discoverServer(SERVER, { transport: fake({ ...base, 'https://mcp.example.com/prm': { body: prm({ resource: 'https://other.example.com/mcp' }) } }).transport }))
      .rejects.toMatchObject({ code: 'discovery.resource_mismatch' });
    await expect(discoverServer(SERVER, { transport: fake({ [SERVER]: { status: 200, body: {} } }).transport }))
      .rejects.toMatchObject({ code: 'discovery.no_challenge' });
    const pathIssuer = 'https://login.example.com/realms/x';
    await expect(discoverServer(SERVER, { transport: fake({
      ...base,
      'https://mcp.example.com/prm': { body: prm({ authorization_servers: [pathIssuer] }) },
      [`${pathIssuer}/.well-known/openid-configuration`]: { body: { issuer: pathIssuer } },
    }).transport })).rejects.toMatchObject({ code: 'discovery.unsupported_issuer' });
  });

  it('refuses plain http off this machine before any request', async () => {
    const { transport, asked } = fake({});
    await expect(discoverServer('http://mcp.example.com/mcp', { transport })).rejects.toMatchObject({ code: 'insecure_url', exitCode: 2 });
    expect(asked).toEqual([]);
  });
});
