/**
 * `setup --rbac [--permissions tool:a,tool:b] [--role NAME]` (issue 12 §3): RBAC on for the API
 * ("Enable RBAC" = `enforce_policies`, "Add Permissions in the Access Token" = an `_authz` token
 * dialect), the permissions defined as the API's scopes (added; the API's other scopes stay), and
 * a role holding them, created or reused by name. Plan steps (pure) and their writes; doctor's report.
 */
import { UsageError } from '../util/errors.js';
import type { ManagementClient } from './management-client.js';
import type { ResourceServerRecord } from './records.js';

export interface RbacInputs {
  /** Permissions to define on the API (and give the role), e.g. `tool:echo`. */
  permissions: string[];
  /** The role to create or reuse, by name. */
  role?: string;
}

export interface RoleRecord {
  id: string;
  name: string;
  description?: string;
}

export interface PermissionRecord {
  resource_server_identifier: string;
  permission_name: string;
}

/** What the role step reads: the role by name, and its permissions. */
export interface RoleSnapshot {
  role?: RoleRecord;
  permissions: PermissionRecord[];
}

export const ROLE_DESCRIPTION = 'omni-auth: permissions of the MCP server\'s tools';
/** Auth0's dashboard toggle moves `access_token` to `access_token_authz` and `rfc9068_profile` to `rfc9068_profile_authz`. */
const AUTHZ_DIALECTS = ['access_token_authz', 'rfc9068_profile_authz'];

/** `--permissions tool:a,tool:b` → the names; Auth0 scope values have no spaces and at most 280 characters. */
export function parsePermissions(value: string): string[] {
  const names = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const n of names) {
    if (/\s/.test(n) || n.length > 280) {
      throw new UsageError('invalid_permission', `--permissions: "${n}" is not a permission name (no spaces, at most 280 characters)`, {
        hint: 'e.g. --permissions tool:echo,tool:add',
      });
    }
  }
  if (names.length === 0) throw new UsageError('invalid_permission', '--permissions names no permission', { hint: 'e.g. --permissions tool:echo,tool:add' });
  return names;
}

export const desiredDialect = (api: ResourceServerRecord | undefined): string =>
  api?.token_dialect?.startsWith('rfc9068_profile') ? 'rfc9068_profile_authz' : 'access_token_authz';

/** The API fields that differ from RBAC on, permissions in the token, and the permissions defined. */
export function rbacChanges(api: ResourceServerRecord | undefined, rbac: RbacInputs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (api?.enforce_policies !== true) out.enforce_policies = true;
  if (!AUTHZ_DIALECTS.includes(api?.token_dialect ?? '')) out.token_dialect = desiredDialect(api);
  const scopes = api?.scopes ?? [];
  const missing = rbac.permissions.filter((p) => !scopes.some((s) => s.value === p));
  // PATCH replaces the list: the API's own scopes go back first, ours after them.
  if (missing.length > 0) out.scopes = [...scopes, ...missing.map((value) => ({ value, description: `omni-auth: call the tool ${value.replace(/^tool:/, '')}` }))];
  return out;
}

/** The permissions the role lacks for this API. */
export const roleMissing = (snapshot: RoleSnapshot, audience: string, rbac: RbacInputs): string[] =>
  rbac.permissions.filter((p) => !snapshot.permissions.some((q) => q.resource_server_identifier === audience && q.permission_name === p));

/** The role with exactly this name, and its permissions (GET /roles?name_filter=…, GET /roles/{id}/permissions). */
export async function readRole(mc: ManagementClient, name: string): Promise<RoleSnapshot> {
  let role: RoleRecord | undefined;
  for (let page = 0; role === undefined; page++) {
    const roles = await mc.get<RoleRecord[]>('/roles', { name_filter: name, page, per_page: 100 });
    role = roles.find((r) => r.name === name);
    if (roles.length < 100) break;
  }
  if (!role) return { permissions: [] };
  const permissions: PermissionRecord[] = [];
  for (let page = 0; ; page++) {
    const got = await mc.get<PermissionRecord[]>(`/roles/${encodeURIComponent(role.id)}/permissions`, { page, per_page: 100 });
    permissions.push(...got);
    if (got.length < 100) break;
  }
  return { role, permissions };
}

export async function applyRbacSettings(mc: ManagementClient, apiId: string, changes: Record<string, unknown>): Promise<void> {
  if (Object.keys(changes).length > 0) await mc.patch(`/resource-servers/${encodeURIComponent(apiId)}`, changes);
}

/** Creates the role when missing, then gives it the permissions it lacks; answers its id. */
export async function applyRole(mc: ManagementClient, name: string, existing: RoleRecord | undefined, audience: string, missing: string[]): Promise<string> {
  const id = existing?.id ?? (await mc.post<RoleRecord>('/roles', { name, description: ROLE_DESCRIPTION })).id;
  if (missing.length > 0) {
    await mc.post(`/roles/${encodeURIComponent(id)}/permissions`, {
      permissions: missing.map((permission_name) => ({ resource_server_identifier: audience, permission_name })),
    });
  }
  return id;
}

/** Doctor: whether tokens for the API carry `permissions`, and which permissions the API defines. */
export function rbacReport(api: ResourceServerRecord): { on: boolean; claim: boolean; dialect: string; permissions: string[] } {
  const dialect = api.token_dialect ?? 'access_token';
  const on = api.enforce_policies === true;
  return { on, claim: on && AUTHZ_DIALECTS.includes(dialect), dialect, permissions: (api.scopes ?? []).map((s) => s.value) };
}
