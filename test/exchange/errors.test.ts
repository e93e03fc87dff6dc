/** The classification table's edges and the cleaning of the tenant's text. */
import { describe, expect, it } from 'vitest';
import { NO_PROFILE_DESCRIPTION, retryKindOf, tenantError } from '../../src/exchange/errors.js';
import { tenantText } from '../../src/exchange/redact.js';

const exchangeError = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  tenantError({ status, headers, body }, { operation: 'token exchange', host: 't.example.com', secrets: [], subjectTokenType: 'urn:x:y' });

describe('the no-profile matcher', () => {
  it.each([
    'No Token Exchange Profile matches the subject_token_type.',
    'Unsupported subject_token_type',
    'unknown SUBJECT_TOKEN_TYPE urn:omnispindle:local-auth',
    'Invalid subject_token_type: it uses a reserved namespace.',
  ])('recognises %j', (d) => {
    expect(exchangeError(400, { error: 'invalid_request', error_description: d }).code).toBe('no_profile');
  });

  it.each([
    'Invalid subject_token_type and requested_token_type combination.',
    'signature does not verify',
    'subject_token_type ok but token expired',
    'jti seen before (subject_token_type urn:x)',
    'token is not a compact JWS',
  ])('leaves %j to the Action', (d) => {
    expect(exchangeError(400, { error: 'invalid_request', error_description: d }).code).toBe('local_token_refused');
  });

  it('is one constant with the words it looks for', () => {
    expect(NO_PROFILE_DESCRIPTION.mentions.test('subject_token_type')).toBe(true);
  });

  it('does not apply to the refresh grant: invalid_request there is a generic refusal', () => {
    const e = tenantError({ status: 400, headers: {}, body: { error: 'invalid_request', error_description: 'no subject_token_type' } },
      { operation: 'refresh', host: 't', secrets: [] });
    expect(e.code).toBe('tenant_refused');
  });
});

describe('retry kinds', () => {
  it('come from the same table', () => {
    expect(retryKindOf(429, { error: 'too_many_requests' }, 'token exchange')).toBe('rate_limit');
    expect(retryKindOf(429, { error: 'too_many_attempts' }, 'token exchange')).toBe('stop');
    expect(retryKindOf(429, undefined, 'refresh')).toBe('rate_limit');
    expect(retryKindOf(503, undefined, 'token exchange')).toBe('backoff');
    expect(retryKindOf(503, { error: 'temporarily_unavailable' }, 'refresh')).toBe('backoff');
    // A 4xx other than 429 is never retried, whatever its error code (issue #3).
    expect(retryKindOf(400, { error: 'server_error', error_description: 'jwks fetch failed' }, 'token exchange')).toBe('stop');
    expect(retryKindOf(400, { error: 'temporarily_unavailable' }, 'refresh')).toBe('stop');
    for (const error of ['invalid_request', 'consent_required', 'unauthorized_client', 'access_denied', 'invalid_client', 'invalid_grant', 'x']) {
      expect(retryKindOf(400, { error }, 'token exchange')).toBe('stop');
    }
  });

  it('an Action server_error (a 4xx) is the tenant refusing, for its own fault: exit 3, with a hint at the tenant logs', () => {
    const e = exchangeError(400, { error: 'server_error', error_description: 'could not load keys' });
    expect(e.code).toBe('tenant_error');
    expect(e.exitCode).toBe(3);
    expect(e.hint).toMatch(/tenant logs/);
    expect(e.message).toBe('t.example.com answered the token exchange with HTTP 400 server_error: could not load keys');
  });
});

describe('tenantText', () => {
  it('removes known secrets, token-shaped strings and control characters, and caps the length', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    expect(tenantText(`secret s3cr3t! and ${jwt} \u001b[2J end`, ['s3cr3t!'])).toBe('secret [redacted] and [redacted]  [2J end');
    expect(tenantText('cut eyJhbGciOiJSUzI1NiJ9 here', [])).toBe('cut [redacted] here');
    expect(tenantText('x'.repeat(1_000), [])!.length).toBe(301);
    expect(tenantText(42, [])).toBeUndefined();
  });

  it('keeps ordinary reasons intact (a key thumbprint is not a secret)', () => {
    const reason = 'key 3Q8Yz0cQ-6kM4p7mJZQv2bXf9Dw1sR5tH8nLa0uEoIc is not on the allow-list';
    expect(tenantText(reason, [])).toBe(reason);
  });
});
