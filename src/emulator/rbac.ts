/**
 * Role-based access control as Auth0's "API Authorization Core" applies it to access tokens
 * ("Enable Role-Based Access Control for APIs"): with `enforce_policies` on, the API scopes a user is
 * granted are the requested ones the user holds as permissions (through roles or directly); with an
 * `_authz` token dialect the token carries every permission the user holds for the API in
 * `permissions`. Client-credentials tokens carry the client grant's scopes there instead.
 */
import type { Permission, ResourceServer, Tenant } from './state.js';

/** Dialects whose tokens carry the `permissions` claim. */
export const withPermissionsClaim = (api: ResourceServer): boolean =>
  api.enforce_policies === true && (api.token_dialect === 'access_token_authz' || api.token_dialect === 'rfc9068_profile_authz');

/** RFC 9068 dialects (`typ: at+jwt`, `client_id`). */
export const isRfc9068 = (api: ResourceServer): boolean =>
  api.token_dialect === 'rfc9068_profile' || api.token_dialect === 'rfc9068_profile_authz';

export const samePermission = (a: Permission, b: Permission): boolean =>
  a.resource_server_identifier === b.resource_server_identifier && a.permission_name === b.permission_name;

/** Adds permissions to a list, once each (assigning one twice is not an error in Auth0). */
export function addPermissions(list: Permission[], add: readonly Permission[]): void {
  for (const p of add) {
    if (!list.some((q) => samePermission(p, q))) list.push({ resource_server_identifier: p.resource_server_identifier, permission_name: p.permission_name });
  }
}

export function removePermissions(list: Permission[], remove: readonly Permission[]): Permission[] {
  return list.filter((p) => !remove.some((q) => samePermission(p, q)));
}

/** Every permission a user holds for an API: the union of their roles' permissions and their direct ones. */
export function userPermissionsFor(tenant: Tenant, userId: string, identifier: string): string[] {
  const out = new Set<string>();
  const collect = (list: readonly Permission[] | undefined): void => {
    for (const p of list ?? []) if (p.resource_server_identifier === identifier) out.add(p.permission_name);
  };
  for (const roleId of tenant.userRoles.get(userId) ?? []) collect(tenant.rolePermissions.get(roleId));
  collect(tenant.userPermissions.get(userId));
  return [...out];
}

/**
 * The scopes a user's token gets and its `permissions` claim (undefined: no claim). `scopes` are
 * those granted without RBAC (OIDC scopes, offline_access, the API's requested scopes).
 */
export function applyRbac(tenant: Tenant, api: ResourceServer, userId: string, scopes: readonly string[]): { scopes: string[]; permissions?: string[] } {
  if (api.enforce_policies !== true) return { scopes: [...scopes] };
  const held = userPermissionsFor(tenant, userId, api.identifier);
  const apiScopes = new Set(api.scopes.map((s) => s.value));
  const granted = scopes.filter((s) => !apiScopes.has(s) || held.includes(s));
  return withPermissionsClaim(api) ? { scopes: granted, permissions: held } : { scopes: granted };
}

/**
 * An API lost scopes: Auth0 removes the permissions from every role and user that held them
 * ("Delete Permissions": deleting a permission removes it from roles and users).
 */
export function forgetRemovedScopes(tenant: Tenant, api: ResourceServer, before: readonly string[]): void {
  const now = new Set(api.scopes.map((s) => s.value));
  const gone = before.filter((s) => !now.has(s)).map((permission_name) => ({ resource_server_identifier: api.identifier, permission_name }));
  if (gone.length === 0) return;
  for (const [id, list] of tenant.rolePermissions) tenant.rolePermissions.set(id, removePermissions(list, gone));
  for (const [id, list] of tenant.userPermissions) tenant.userPermissions.set(id, removePermissions(list, gone));
}
