/** protectedResourceMetadata: RFC 9728 §2 document, §3.1 well-known URL, §5.1 WWW-Authenticate. */
import { describe, expect, it } from 'vitest';
import { ServerConfigError, protectedResourceMetadata, protectedResourceMetadataUrl } from '../../src/server/index.js';

describe('protectedResourceMetadata', () => {
  it('names the Auth0 tenant as the authorization server, with its issuer exactly', () => {
    const m = protectedResourceMetadata({ resource: 'https://mcp.example.com/mcp', domain: 'tenant.eu.auth0.com', scopes: ['tool:a', 'tool:b', 'tool:a'] });
    expect(m.document).toEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://tenant.eu.auth0.com/'],
      jwks_uri: 'https://tenant.eu.auth0.com/.well-known/jwks.json',
      bearer_methods_supported: ['header'],
      scopes_supported: ['tool:a', 'tool:b'],
    });
    expect(m.url).toBe('https://mcp.example.com/.well-known/oauth-protected-resource/mcp');
    expect(m.path).toBe('/.well-known/oauth-protected-resource/mcp');
    expect(m.wwwAuthenticate).toBe('Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"');
  });

  it('the well-known path goes between host and path; a root resource has none after it', () => {
    expect(protectedResourceMetadataUrl('https://a.example').href).toBe('https://a.example/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://a.example:8443/x/y/').href).toBe('https://a.example:8443/.well-known/oauth-protected-resource/x/y');
  });

  it('refuses an http resource or domain off loopback, a fragment, a non-URL', () => {
    for (const resource of ['http://mcp.example.com/mcp', 'https://mcp.example.com/mcp#x', 'mcp.example.com']) {
      expect(() => protectedResourceMetadata({ resource, domain: 'tenant.auth0.com' })).toThrow(ServerConfigError);
    }
    expect(() => protectedResourceMetadata({ resource: 'https://mcp.example.com/', domain: 'http://tenant.auth0.com' })).toThrow(/https/);
    expect(protectedResourceMetadata({ resource: 'http://127.0.0.1:8080/mcp', domain: 'http://127.0.0.1:9000' }).document.authorization_servers).toEqual(['http://127.0.0.1:9000/']);
  });
});
