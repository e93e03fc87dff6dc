import { describe, expect, it } from 'vitest';
import { parseBearerChallenge, proxyHeaders, proxyUrl } from '../../src/proxy/index.js';

describe('parseBearerChallenge (RFC 6750 §3, RFC 9728 §5.1)', () => {
  it('reads error, error_description, scope and resource_metadata, quoted or not, with escapes', () => {
    expect(parseBearerChallenge('Bearer realm="mcp", error="invalid_token", error_description="The token \\"expired\\", sorry", scope="read write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'))
      .toEqual({ realm: 'mcp', error: 'invalid_token', error_description: 'The token "expired", sorry', scope: 'read write', resource_metadata: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp' });
    expect(parseBearerChallenge('bearer error=insufficient_scope,scope=admin')).toEqual({ error: 'insufficient_scope', scope: 'admin' });
  });

  it('takes the Bearer challenge among others, and stops at the next scheme', () => {
    expect(parseBearerChallenge('Basic realm="x", Bearer error="invalid_token", DPoP algs="ES256"')).toEqual({ error: 'invalid_token' });
    expect(parseBearerChallenge('Bearer')).toEqual({});
    expect(parseBearerChallenge('Basic realm="x"')).toEqual({});
    expect(parseBearerChallenge(null)).toEqual({});
    expect(parseBearerChallenge('Bearer error="unterminated')).toEqual({ error: 'unterminated' });
  });
});

describe('proxyUrl', () => {
  it('takes https:// and loopback http://', () => {
    expect(proxyUrl('https://mcp.example.com/mcp').href).toBe('https://mcp.example.com/mcp');
    expect(proxyUrl('http://127.0.0.1:3000/mcp').host).toBe('127.0.0.1:3000');
    expect(proxyUrl('http://localhost/mcp').hostname).toBe('localhost');
    expect(proxyUrl('http://[::1]:8080/mcp').hostname).toBe('[::1]');
  });

  it.each([
    ['http://mcp.example.com/mcp', 'insecure_url'],
    ['ws://127.0.0.1/mcp', 'insecure_url'],
    ['not a url', 'invalid_url'],
    ['https://user:pw@mcp.example.com/mcp', 'invalid_url'],
  ])('refuses %s (%s)', (raw, code) => {
    expect(() => proxyUrl(raw)).toThrow(expect.objectContaining({ code }));
  });
});

describe('proxyHeaders (OMNI_AUTH_PROXY_HEADERS, written by the wiring)', () => {
  it('reads a JSON object of strings, never an Authorization', () => {
    expect(proxyHeaders({})).toEqual({});
    expect(proxyHeaders({ OMNI_AUTH_PROXY_HEADERS: '{"X-Team":"core","authorization":"Bearer x"}' })).toEqual({ 'X-Team': 'core' });
  });
  it.each(['not json', '[1]', '{"X-A":1}', '{"bad name":"x"}'])('refuses %s', (raw) => {
    expect(() => proxyHeaders({ OMNI_AUTH_PROXY_HEADERS: raw })).toThrow(expect.objectContaining({ code: 'invalid_proxy_headers' }));
  });
});
