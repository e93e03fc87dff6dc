/** The RBAC steps of setup's plan (issue 12 §3), on snapshots built by hand: fields, idempotence, scopes, and the API PATCH body. */
import { describe, expect, it } from 'vitest';
import type { ActionSource } from '../../src/tenant/action-bundle.js';
import { planSetup, scopesNeeded, type SetupInputs } from '../../src/tenant/plan.js';
import { parsePermissions, rbacChanges, rbacReport } from '../../src/tenant/rbac.js';
import type { TenantSnapshot } from '../../src/tenant/snapshot.js';

const ACTION: ActionSource = { code: "exports.onExecuteCustomTokenExchange = async () => {};\n", dependencies: [] };
const INPUTS: SetupInputs = {
  domain: 'https://t.example.com', issuer: 'https://t.example.com/', audience: 'https://api.example.com', clientId: 'cli',
  appName: 'omni-auth', connection: 'Username-Password-Authentication', subjectTokenType: 'urn:omnispindle:local-auth',
  profileName: 'p', actionName: 'a', action: ACTION, allowedKeys: [], identity: 'both',
};
const RBAC = { permissions: ['tool:echo', 'tool:add'], role: 'mcp-tools' };
const snapshot = (api: TenantSnapshot['api'], role?: TenantSnapshot['role']): TenantSnapshot => ({
  ...(api ? { api } : {}), clientFoundBy: 'none', profiles: [], connectionEnabled: false, ...(role ? { role } : {}),
});
const rbacOf = (s: TenantSnapshot, inputs: SetupInputs) => planSetup(s, inputs).steps.filter((x) => x.resource === 'rbac' || x.resource === 'role');

describe('setup --rbac plan', () => {
  it('without --rbac: no RBAC step at all (plans stay as they were)', () => {
    expect(rbacOf(snapshot({ id: 'rs', identifier: INPUTS.audience }), INPUTS)).toEqual([]);
  });

  it('an API without RBAC: turn it on, dialect and scopes; a new role; the scopes needed', () => {
    const plan = planSetup(snapshot({ id: 'rs', identifier: INPUTS.audience, scopes: [{ value: 'read:x' }] }), { ...INPUTS, rbac: RBAC });
    expect(plan.steps.filter((s) => s.resource === 'rbac' || s.resource === 'role')).toEqual([
      { resource: 'rbac', target: INPUTS.audience, change: 'update', fields: ['enforce_policies', 'token_dialect', 'scopes'] },
      { resource: 'role', target: 'mcp-tools', change: 'create', fields: ['name', 'permissions'] },
    ]);
    expect(scopesNeeded(plan)).toEqual(expect.arrayContaining(['update:resource_servers', 'create:roles', 'update:roles']));
  });

  it('all in place: unchanged, and no RBAC scope needed', () => {
    const api = { id: 'rs', identifier: INPUTS.audience, enforce_policies: true, token_dialect: 'access_token_authz', scopes: [{ value: 'tool:add' }, { value: 'tool:echo' }] };
    const role = { role: { id: 'rol_1', name: 'mcp-tools' }, permissions: RBAC.permissions.map((permission_name) => ({ resource_server_identifier: INPUTS.audience, permission_name })) };
    const plan = planSetup(snapshot(api, role), { ...INPUTS, rbac: RBAC });
    expect(rbacOf(snapshot(api, role), { ...INPUTS, rbac: RBAC }).map((s) => s.change)).toEqual(['unchanged', 'unchanged']);
    expect(scopesNeeded(plan)).not.toEqual(expect.arrayContaining(['update:roles']));
  });

  it('a role holding the permission for ANOTHER API still lacks it for this one', () => {
    const api = { id: 'rs', identifier: INPUTS.audience, enforce_policies: true, token_dialect: 'access_token_authz', scopes: [{ value: 'tool:echo' }, { value: 'tool:add' }] };
    const role = { role: { id: 'rol_1', name: 'mcp-tools' }, permissions: [{ resource_server_identifier: 'https://other', permission_name: 'tool:echo' }, { resource_server_identifier: INPUTS.audience, permission_name: 'tool:add' }] };
    expect(rbacOf(snapshot(api, role), { ...INPUTS, rbac: RBAC })[1]).toMatchObject({ change: 'update', fields: ['permissions'] });
  });

  it('the PATCH body adds the missing scopes after the API\'s own, and keeps an rfc9068 profile', () => {
    expect(rbacChanges({ id: 'rs', identifier: 'x', token_dialect: 'rfc9068_profile', enforce_policies: true, scopes: [{ value: 'read:x', description: 'mine' }, { value: 'tool:echo' }] }, RBAC)).toEqual({
      token_dialect: 'rfc9068_profile_authz',
      scopes: [{ value: 'read:x', description: 'mine' }, { value: 'tool:echo' }, { value: 'tool:add', description: 'omni-auth: call the tool add' }],
    });
  });

  it('parses --permissions and refuses names with spaces', () => {
    expect(parsePermissions(' tool:a, tool:b ,tool:a,')).toEqual(['tool:a', 'tool:b']);
    expect(() => parsePermissions('tool a')).toThrow(/not a permission name/);
    expect(() => parsePermissions(',')).toThrow(/names no permission/);
  });

  it('doctor\'s report: RBAC on only with enforce_policies; the claim only with an _authz dialect', () => {
    expect(rbacReport({ id: 'r', identifier: 'x' })).toEqual({ on: false, claim: false, dialect: 'access_token', permissions: [] });
    expect(rbacReport({ id: 'r', identifier: 'x', enforce_policies: true, token_dialect: 'access_token', scopes: [{ value: 'a' }] })).toMatchObject({ on: true, claim: false, permissions: ['a'] });
    expect(rbacReport({ id: 'r', identifier: 'x', enforce_policies: false, token_dialect: 'access_token_authz' })).toMatchObject({ on: false, claim: false });
    expect(rbacReport({ id: 'r', identifier: 'x', enforce_policies: true, token_dialect: 'rfc9068_profile_authz' })).toMatchObject({ on: true, claim: true });
  });
});
