/** CONTRACTS-10 §7: an access_denied naming `omni-auth login --browser` is binding_required (exit 3). */
import { describe, expect, it } from 'vitest';
import { tenantError } from '../../src/exchange/errors.js';

const ctx = { operation: 'token exchange' as const, host: 't.example', secrets: [] };
const answer = (status: number, error_description: string) => tenantError({ status, headers: {}, body: { error: 'access_denied', error_description } }, ctx);

describe('binding_required', () => {
  it.each([403, 400, 500])('a key that is not bound (HTTP %i) → binding_required, exit 3, hint names the command', (status) => {
    const e = answer(status, 'this machine key is not bound to a person; sign in once: omni-auth login --browser');
    expect(e.code).toBe('binding_required');
    expect(e.exitCode).toBe(3);
    expect(e.hint).toContain('omni-auth login --browser');
    expect(e.message).toContain('not bound to a person');
  });

  it('an expired binding says "sign in again"', () => {
    const e = answer(403, 'the sign-in that bound this key has expired; sign in again: omni-auth login --browser');
    expect(e.code).toBe('binding_required');
    expect(e.hint).toMatch(/sign in again/);
    expect(e.hint).toContain('omni-auth login --browser');
  });

  it('other access_denied answers keep their codes', () => {
    expect(answer(403, 'key not on the allow-list').code).toBe('access_denied');
    expect(answer(500, 'blocked by a post-login rule').code).toBe('access_denied');
  });
});
