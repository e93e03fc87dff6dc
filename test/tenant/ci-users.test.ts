/**
 * The rule-user checks (src/tenant/ci-users.ts) and the trust file's `allow_person` (ci-policy.ts):
 * what setup refuses before any write and what doctor warns about.
 */
import { describe, expect, it } from 'vitest';
import { parseTrustPolicy } from '../../src/tenant/ci-policy.js';
import { ruleUserNote, ruleUserProblem } from '../../src/tenant/ci-users.js';
import { checkCiTrust } from '../../src/tenant/doctor-ci.js';
import type { ManagementClient } from '../../src/tenant/management-client.js';
import { ManagementApiError } from '../../src/tenant/management-errors.js';
import { ExitCode } from '../../src/util/errors.js';

const M = 'omni-auth-machines';
const parse = (extra: Record<string, unknown>, user: unknown = 'auth0|svc'): unknown => {
  try {
    return parseTrustPolicy(JSON.stringify([{ issuer: 'github', claims: { repository: 'acme/api' }, user, ...extra }]))[0];
  } catch (e) {
    return (e as Error).message;
  }
};

describe('allow_person in the trust file', () => {
  it('true or false on a user id; anything else, or on {"create": …}, is refused naming the rule', () => {
    expect(parse({ allow_person: true })).toMatchObject({ user: 'auth0|svc', allowPerson: true });
    expect(parse({ allow_person: false })).toMatchObject({ allowPerson: false });
    expect(parse({})).not.toHaveProperty('allowPerson');
    expect(parse({ allow_person: 'true' })).toContain('rule 0: allow_person must be true or false');
    expect(parse({ allow_person: true }, { create: 'api' })).toContain('rule 0: allow_person applies to a user id');
    expect(parse({ allowPerson: true })).toContain('unknown field "allowPerson"');
  });
});

describe('ruleUserProblem', () => {
  it('missing, blocked, a person without the opt-in; a service user or an opted-in person passes; not looked up is no verdict', () => {
    expect(ruleUserProblem(2, 'auth0|x', { exists: false }, M, false)).toMatchObject({ kind: 'missing', message: expect.stringContaining('rule 2: the user auth0|x does not exist') });
    expect(ruleUserProblem(0, 'auth0|x', { exists: true, blocked: true, connection: M }, M, false)).toMatchObject({ kind: 'blocked' });
    // Blocked wins over the opt-in: no token either way.
    expect(ruleUserProblem(0, 'g|1', { exists: true, blocked: true, connection: 'google-oauth2' }, M, true)).toMatchObject({ kind: 'blocked' });
    expect(ruleUserProblem(0, 'google-oauth2|1', { exists: true, blocked: false, connection: 'google-oauth2' }, M, false))
      .toMatchObject({ kind: 'person', message: expect.stringContaining('in the connection google-oauth2, not omni-auth-machines'), hint: expect.stringContaining('"allow_person": true') });
    expect(ruleUserProblem(0, 'google-oauth2|1', { exists: true, blocked: false, connection: 'google-oauth2' }, M, true)).toBeUndefined();
    expect(ruleUserProblem(0, 'auth0|svc', { exists: true, blocked: false, connection: M }, M, false)).toBeUndefined();
    expect(ruleUserProblem(0, 'auth0|svc', undefined, M, false)).toBeUndefined();
  });

  it('the note names the connection and what is allowed', () => {
    expect(ruleUserNote({ exists: true, blocked: false, connection: M }, M, false)).toBe(M);
    expect(ruleUserNote({ exists: true, blocked: false, connection: 'google-oauth2' }, M, true)).toBe('google-oauth2: a person\'s account, allowed by allow_person');
    expect(ruleUserNote({ exists: true, blocked: true, connection: M }, M, false)).toBe(`${M}, blocked`);
    expect(ruleUserNote({ exists: false }, M, false)).toBe('does not exist');
  });
});

describe('doctor\'s CI line and the rules\' users (a Management API stand-in)', () => {
  const rules = [
    { issuer: 'https://token.actions.githubusercontent.com', claims: { repository: 'acme/api' }, user: 'auth0|svc' },
    { issuer: 'https://token.actions.githubusercontent.com', claims: { repository: 'acme/web' }, user: 'google-oauth2|dana' },
  ];
  const code = `exports.onExecuteCustomTokenExchange = async () => {};\n\n// omni-auth:ci-trust-policy=${Buffer.from(JSON.stringify(rules)).toString('base64url')}\n// omni-auth:secrets-sha256=${'0'.repeat(64)}\n`;
  const fake = (users: Record<string, unknown> | 'forbidden') => ({
    get: async () => ({ token_exchange_profiles: [{ id: 'tep_1', name: 'omni-auth-ci-oidc', subject_token_type: 'urn:omni-auth:ci-oidc', action_id: 'act_1' }] }),
    find: async (path: string) => {
      if (path === '/actions/actions/act_1') return { id: 'act_1', name: 'omni-auth-ci-oidc-exchange', code, deployed_version: { deployed: true } };
      if (users === 'forbidden') throw new ManagementApiError('mgmt_insufficient_scope', 'lacks read:users', 403, 'insufficient_scope', { exitCode: ExitCode.refused });
      return users[decodeURIComponent(path.replace('/users/', ''))];
    },
  }) as unknown as ManagementClient;

  it('passes with each user\'s connection (a deployed person\'s account was opted in); warns on a missing user; lists unchecked without read:users', async () => {
    const both = { 'auth0|svc': { user_id: 'auth0|svc', identities: [{ connection: M }] }, 'google-oauth2|dana': { user_id: 'google-oauth2|dana', identities: [{ connection: 'google-oauth2' }] } };
    expect(await checkCiTrust(fake(both), M)).toMatchObject({ status: 'pass', detail: expect.stringContaining('→ google-oauth2|dana (google-oauth2: a person\'s account, allowed by allow_person)') });
    const gone = await checkCiTrust(fake({ 'google-oauth2|dana': both['google-oauth2|dana'] }), M);
    expect(gone).toMatchObject({ status: 'warn', detail: expect.stringContaining('rule 0: the user auth0|svc does not exist'), fix: expect.stringContaining('omni-auth setup --ci-trust-file') });
    expect(await checkCiTrust(fake('forbidden'), M)).toMatchObject({ status: 'pass', detail: expect.stringContaining('users not checked: the credentials lack read:users') });
  });
});
