/**
 * Without the MCP SDK installed, the verifier still refuses — with its own TokenError, which has the
 * same status, OAuth error code and response body the SDK's classes would give.
 */
import { describe, expect, it, vi } from 'vitest';

describe('createTokenVerifier without @modelcontextprotocol/sdk', () => {
  it('throws TokenError (code, status 401, errorCode invalid_token, toResponseObject)', async () => {
    vi.resetModules();
    vi.doMock('@modelcontextprotocol/sdk/server/auth/errors.js', () => {
      throw new Error("Cannot find package '@modelcontextprotocol/sdk'");
    });
    const { createTokenVerifier, TokenError } = await import('../../src/server/index.js');
    const v = createTokenVerifier({ domain: 'tenant.example.com', audience: 'https://api.example' });
    const e = await v.verifyAccessToken('not-a-jwt').then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(TokenError);
    expect(e).toMatchObject({ code: 'malformed', status: 401, errorCode: 'invalid_token' });
    expect((e as InstanceType<typeof TokenError>).toResponseObject()).toEqual({ error: 'invalid_token', error_description: '[malformed] the token is not a signed JWT' });
    vi.doUnmock('@modelcontextprotocol/sdk/server/auth/errors.js');
  });
});
