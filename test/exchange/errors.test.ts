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

  it('an Action server_error as Auth0 sends it (HTTP 500, JSON body) is "the Action failed": exit 3, retried once at most', () => {
    const e = exchangeError(500, { error: 'server_error', error_description: 'could not load keys' });
    expect(e.code).toBe('action_failed');
    expect(e.exitCode).toBe(3);
    expect(e.hint).toMatch(/tenant logs/);
    expect(e.message).toBe('the Action failed: t.example.com answered the token exchange with HTTP 500 server_error: could not load keys');
    expect(retryKindOf(500, { error: 'server_error', error_description: 'x' }, 'token exchange')).toBe('once');
  });

  it('a 4xx server_error (older emulators) is the same verdict, never retried', () => {
    const e = exchangeError(400, { error: 'server_error', error_description: 'could not load keys' });
    expect(e.code).toBe('action_failed');
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe('the Action failed: t.example.com answered the token exchange with HTTP 400 server_error: could not load keys');
  });

  it("a post-login Action's api.access.deny (HTTP 500 access_denied on Auth0) is a refusal: exit 3 with its reason, never retried", () => {
    const e = exchangeError(500, { error: 'access_denied', error_description: 'machines are not welcome today' });
    expect([e.code, e.exitCode]).toEqual(['access_denied', 3]);
    expect(e.message).toContain('machines are not welcome today');
    expect(e.hint).toMatch(/post-login Action/);
    expect(retryKindOf(500, { error: 'access_denied' }, 'token exchange')).toBe('stop');
  });

  it('a 500/503 without a JSON error body, or temporarily_unavailable, keeps the backoff and exit 4', () => {
    expect(retryKindOf(500, undefined, 'token exchange')).toBe('backoff');
    expect(retryKindOf(503, { error: 'temporarily_unavailable' }, 'token exchange')).toBe('backoff');
    expect(retryKindOf(500, { message: 'oops' }, 'token exchange')).toBe('backoff');
    const e = exchangeError(503, { error: 'temporarily_unavailable', error_description: 'try later' });
    expect([e.code, e.exitCode]).toEqual(['tenant_error', 4]);
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

describe('consent, MFA and the exchange grant', () => {
  it.each([
    [403, { error: 'consent_required', error_description: 'Consent required' }],
    [400, { error: 'invalid_request', error_description: 'consent_required: the API requires user consent' }],
    [403, { error: 'invalid_request', error_description: 'Consent required for audience https://api' }],
  ])('consent in either form (HTTP %i %j) names "Allow Skipping User Consent", exit 3', (status, body) => {
    const e = tenantError({ status, headers: {}, body }, { operation: 'token exchange', host: 't', secrets: [], audience: 'https://api', subjectTokenType: 'urn:x:y' });
    expect(e.code).toBe('consent_required');
    expect(e.exitCode).toBe(3);
    expect(e.hint).toMatch(/Allow Skipping User Consent.*skip_consent_for_verifiable_first_party_clients.*https:\/\/api/);
    expect(retryKindOf(status, body, 'token exchange')).toBe('stop');
  });

  it('an invalid_request that does not mention consent stays the Action\'s refusal', () => {
    expect(exchangeError(400, { error: 'invalid_request', error_description: 'token expired' }).code).toBe('local_token_refused');
  });

  it('403 mfa_required: exit 3, says MFA was required and what the admin changes, never the mfa_token', () => {
    const mfaToken = 'Fe26.2**mfa-token-value-0123456789abcdef';
    const e = exchangeError(403, { error: 'mfa_required', error_description: `Multifactor authentication required (${mfaToken})`, mfa_token: mfaToken });
    expect(e.code).toBe('mfa_required');
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/^MFA was required for this exchange: /);
    expect(e.hint).toContain("event.transaction.protocol === 'oauth2-token-exchange'");
    expect(e.hint).toMatch(/MFA policy/);
    const seen = `${e.message}\n${e.hint}\n${JSON.stringify(e)}`;
    expect(seen).not.toContain(mfaToken);
    expect(retryKindOf(403, { error: 'mfa_required' }, 'token exchange')).toBe('stop');
  });

  it.each([
    [403, { error: 'unauthorized_client', error_description: 'Custom Token Exchange is not enabled for this client.' }],
    [400, { error: 'invalid_request', error_description: "Grant type 'urn:ietf:params:oauth:grant-type:token-exchange' not allowed for the client." }],
  ])('a refused exchange grant (%i %j) says the tenant may lack Custom Token Exchange and names the plans', (status, body) => {
    const e = exchangeError(status, body);
    expect(e.code).toBe('unauthorized_client');
    expect(e.exitCode).toBe(3);
    expect(e.hint).toMatch(/omni-auth setup/);
    expect(e.hint).toMatch(/Early Access.*B2C Professional, B2B Professional and Enterprise/);
  });
});
