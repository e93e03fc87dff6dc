/**
 * The trust file's checks (src/tenant/ci-policy.ts), hostile review of issue 14 §1: a rule for a
 * shared issuer (github.com, gitlab.com) must tie the token to its repository or owner. Claims a
 * stranger's job can carry with the same value — a public reusable workflow's job_workflow_ref, a
 * CI file's ci_config_ref_uri, a sub from a template the stranger's repository chose — do not.
 */
import { describe, expect, it } from 'vitest';
import { parseTrustPolicy } from '../../src/tenant/ci-policy.js';

const rule = (issuer: string, claims: Record<string, string>): string => JSON.stringify([{ issuer, claims, user: 'auth0|svc' }]);
const refused = (text: string): unknown => {
  try {
    parseTrustPolicy(text);
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'accepted';
};

describe('rules that would let a stranger\'s repository in are refused', () => {
  it.each([
    ['github', { job_workflow_ref: 'acme/shared/.github/workflows/deploy.yml@refs/heads/main' }],
    ['github', { sub: 'environment:prod' }],
    ['github', { sub: 'job_workflow_ref:acme/shared/.github/workflows/deploy.yml@refs/heads/main' }],
    ['github', { ref: 'refs/heads/main', environment: 'prod' }],
    ['gitlab', { ci_config_ref_uri: 'gitlab.com/acme/infra//.gitlab-ci.yml@refs/heads/main' }],
    ['gitlab', { sub: 'ref_type:branch:ref:main' }],
    ['gitlab', { ref_protected: 'true' }],
  ])('%s %j', (issuer, claims) => {
    expect(refused(rule(issuer, claims))).toBe('invalid_ci_trust_file');
  });
});

describe('rules that name the repository, project or owner are accepted', () => {
  it.each([
    ['github', { repository: 'acme/api' }],
    ['github', { repository_id: '100001', ref: 'refs/heads/main' }],
    ['github', { repository_owner_id: '200001' }],
    ['github', { workflow_ref: 'acme/api/.github/workflows/deploy.yml@refs/heads/main' }],
    ['github', { sub: 'repo:acme/api:environment:prod' }],
    ['github', { sub: 'repository_owner_id:200001:environment:prod' }],
    ['github', { job_workflow_ref: 'acme/shared/.github/workflows/deploy.yml@refs/heads/main', repository_owner_id: '200001' }],
    ['gitlab', { project_path: 'acme/infra', ref_protected: 'true' }],
    ['gitlab', { sub: 'project_path:acme/infra:ref_type:branch:ref:main' }],
    ['https://gitlab.example.com', { ref_protected: 'true' }],
  ])('%s %j', (issuer, claims) => {
    expect(refused(rule(issuer, claims))).toBe('accepted');
  });
});
