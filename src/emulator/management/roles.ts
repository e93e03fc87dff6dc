/**
 * RBAC through the Management API: roles (`/api/v2/roles`), a role's permissions and users, a user's
 * roles and direct permissions (`/api/v2/users/{id}/roles|permissions`). A permission is a scope the
 * API defines (`resource_server_identifier` + `permission_name`); tokens carry them (src/emulator/rbac.ts).
 * Scopes per route: Auth0's Management API v2 reference ("expected any of" the listed ones).
 */
import { addPermissions, removePermissions } from '../rbac.js';
import { newId, type Permission, type Role, type Tenant } from '../state.js';
import { fail, invalidBody } from './errors.js';
import { checkpointList, offsetList } from './list.js';
import { json, noContent, type Route } from './router.js';
import { DUPLICATE_ROLE, NO_ROLE, NO_USER, ROLE_DESCRIPTION_MAX, ROLE_NAME_MAX, ROLE_PERMISSIONS_MAX, noPermission } from './rules.js';
import { BodyReader } from './validate.js';

function findRole(tenant: Tenant, id: string): Role {
  const role = tenant.roles.get(id);
  if (!role) throw fail(NO_ROLE);
  return role;
}

function requireUser(tenant: Tenant, id: string): void {
  if (!tenant.users.has(id)) throw fail(NO_USER);
}

function readRole(body: unknown, create: boolean): Partial<Role> {
  const r = new BodyReader(body, ['name', 'description']);
  const name = r.string('name', { min: 1, max: ROLE_NAME_MAX, required: create });
  const description = r.string('description', { max: ROLE_DESCRIPTION_MAX });
  return { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) };
}

export function createRole(tenant: Tenant, body: unknown): Role {
  const fields = readRole(body, true);
  if ([...tenant.roles.values()].some((r) => r.name === fields.name)) throw fail(DUPLICATE_ROLE);
  const role: Role = { id: newId('rol_'), name: fields.name!, ...(fields.description !== undefined ? { description: fields.description } : {}) };
  tenant.roles.set(role.id, role);
  tenant.rolePermissions.set(role.id, []);
  return role;
}

function patchRole(tenant: Tenant, id: string, body: unknown): Role {
  const role = findRole(tenant, id);
  const fields = readRole(body, false);
  if (fields.name !== undefined && [...tenant.roles.values()].some((r) => r.id !== id && r.name === fields.name)) throw fail(DUPLICATE_ROLE);
  Object.assign(role, fields);
  return role;
}

/** Deleting a role removes it from every user who held it ("Delete Roles"). */
function deleteRole(tenant: Tenant, id: string): void {
  findRole(tenant, id);
  tenant.roles.delete(id);
  tenant.rolePermissions.delete(id);
  for (const roles of tenant.userRoles.values()) roles.delete(id);
}

/** `{"permissions": [{resource_server_identifier, permission_name}]}`, each a scope the API defines. */
function readPermissions(tenant: Tenant, body: unknown): Permission[] {
  const r = new BodyReader(body, ['permissions']);
  const items = r.objects('permissions', ['resource_server_identifier', 'permission_name'], { min: 1, max: ROLE_PERMISSIONS_MAX, required: true })!;
  return items.map((p) => {
    const resource_server_identifier = p.string('resource_server_identifier', { min: 1, required: true });
    const permission_name = p.string('permission_name', { min: 1, required: true });
    const api = [...tenant.resourceServers.values()].find((rs) => rs.identifier === resource_server_identifier);
    if (!api || !api.scopes.some((s) => s.value === permission_name)) throw fail(noPermission(permission_name, resource_server_identifier));
    return { resource_server_identifier, permission_name };
  });
}

/** `{"<key>": ["id", ...]}` (at least one). */
function readIds(body: unknown, key: 'roles' | 'users'): string[] {
  const r = new BodyReader(body, [key]);
  const ids = r.strings(key);
  if (ids === undefined) throw invalidBody(`'Missing required property: ${key}'.`);
  if (ids.length === 0) throw invalidBody(`'Array is too short (0), minimum 1' on property ${key}.`);
  return ids;
}

/** A permission as the lists show it: with the API's name and the scope's description. */
function permissionView(tenant: Tenant, p: Permission): Record<string, unknown> {
  const api = [...tenant.resourceServers.values()].find((rs) => rs.identifier === p.resource_server_identifier);
  const description = api?.scopes.find((s) => s.value === p.permission_name)?.description;
  return {
    permission_name: p.permission_name,
    ...(description !== undefined ? { description } : {}),
    resource_server_name: api?.name ?? p.resource_server_identifier,
    resource_server_identifier: p.resource_server_identifier,
  };
}

const roleView = (role: Role): Record<string, unknown> => ({ id: role.id, name: role.name, ...(role.description !== undefined ? { description: role.description } : {}) });

function userRoleSet(tenant: Tenant, userId: string): Set<string> {
  let set = tenant.userRoles.get(userId);
  if (!set) {
    set = new Set();
    tenant.userRoles.set(userId, set);
  }
  return set;
}

function assignRoles(tenant: Tenant, userIds: readonly string[], roleIds: readonly string[]): void {
  for (const id of roleIds) findRole(tenant, id);
  for (const id of userIds) requireUser(tenant, id);
  for (const userId of userIds) for (const roleId of roleIds) userRoleSet(tenant, userId).add(roleId);
}

function roleMembers(tenant: Tenant, roleId: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [userId, roles] of tenant.userRoles) {
    const user = tenant.users.get(userId);
    if (!roles.has(roleId) || !user) continue;
    out.push({ user_id: user.user_id, ...(user.email !== undefined ? { email: user.email } : {}), ...(user.name !== undefined ? { name: user.name } : {}), ...(user.picture !== undefined ? { picture: user.picture } : {}) });
  }
  return out;
}

const byName = (q: URLSearchParams) => (role: Role): boolean => {
  const filter = q.get('name_filter');
  return filter === null || filter === '' || role.name.toLowerCase().includes(filter.toLowerCase());
};

export const roleRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/roles', scope: 'read:roles',
    handle: ({ tenant, req }) => json(200, offsetList('roles', [...tenant.roles.values()].filter(byName(req.query)).map(roleView), req.query)),
  },
  { method: 'POST', pattern: '/api/v2/roles', scope: 'create:roles', handle: ({ tenant, req }) => json(200, roleView(createRole(tenant, req.body))) },
  { method: 'GET', pattern: '/api/v2/roles/:id', scope: 'read:roles', handle: ({ tenant, params }) => json(200, roleView(findRole(tenant, params.id!))) },
  { method: 'PATCH', pattern: '/api/v2/roles/:id', scope: 'update:roles', handle: ({ tenant, req, params }) => json(200, roleView(patchRole(tenant, params.id!, req.body))) },
  {
    method: 'DELETE', pattern: '/api/v2/roles/:id', scope: 'delete:roles',
    handle: ({ tenant, params }) => {
      deleteRole(tenant, params.id!);
      return noContent();
    },
  },
  {
    method: 'GET', pattern: '/api/v2/roles/:id/permissions', scope: 'read:roles',
    handle: ({ tenant, req, params }) => {
      findRole(tenant, params.id!);
      const list = (tenant.rolePermissions.get(params.id!) ?? []).map((p) => permissionView(tenant, p));
      return json(200, offsetList('permissions', list, req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/roles/:id/permissions', scope: 'update:roles',
    handle: ({ tenant, req, params }) => {
      findRole(tenant, params.id!);
      const add = readPermissions(tenant, req.body);
      const list = tenant.rolePermissions.get(params.id!) ?? [];
      addPermissions(list, add);
      tenant.rolePermissions.set(params.id!, list);
      return json(201, undefined);
    },
  },
  {
    method: 'DELETE', pattern: '/api/v2/roles/:id/permissions', scope: 'update:roles',
    handle: ({ tenant, req, params }) => {
      findRole(tenant, params.id!);
      const remove = readPermissions(tenant, req.body);
      tenant.rolePermissions.set(params.id!, removePermissions(tenant.rolePermissions.get(params.id!) ?? [], remove));
      return noContent();
    },
  },
  {
    method: 'GET', pattern: '/api/v2/roles/:id/users', scope: ['read:users', 'read:roles', 'read:role_members'],
    handle: ({ tenant, req, params }) => {
      findRole(tenant, params.id!);
      const members = roleMembers(tenant, params.id!);
      // Checkpoint pagination with `from`/`take`, else offset pagination.
      if (req.query.has('from') || req.query.has('take')) return json(200, checkpointList('users', members, (u) => String(u.user_id), req.query));
      return json(200, offsetList('users', members, req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/roles/:id/users', scope: ['update:roles', 'create:role_members'],
    handle: ({ tenant, req, params }) => {
      assignRoles(tenant, readIds(req.body, 'users'), [params.id!]);
      return json(200, undefined);
    },
  },
  {
    method: 'GET', pattern: '/api/v2/users/:id/roles', scope: ['read:users', 'read:roles', 'read:role_members'],
    handle: ({ tenant, req, params }) => {
      requireUser(tenant, params.id!);
      const roles = [...(tenant.userRoles.get(params.id!) ?? [])].map((id) => tenant.roles.get(id)).filter((r): r is Role => r !== undefined);
      return json(200, offsetList('roles', roles.map(roleView), req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/users/:id/roles', scope: ['update:users', 'create:role_members'],
    handle: ({ tenant, req, params }) => {
      assignRoles(tenant, [params.id!], readIds(req.body, 'roles'));
      return noContent();
    },
  },
  {
    method: 'DELETE', pattern: '/api/v2/users/:id/roles', scope: ['update:users', 'delete:role_members'],
    handle: ({ tenant, req, params }) => {
      requireUser(tenant, params.id!);
      const ids = readIds(req.body, 'roles');
      for (const id of ids) tenant.userRoles.get(params.id!)?.delete(id);
      return noContent();
    },
  },
  {
    method: 'GET', pattern: '/api/v2/users/:id/permissions', scope: 'read:users',
    handle: ({ tenant, req, params }) => {
      requireUser(tenant, params.id!);
      const list = (tenant.userPermissions.get(params.id!) ?? []).map((p) => permissionView(tenant, p));
      return json(200, offsetList('permissions', list, req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/users/:id/permissions', scope: 'update:users',
    handle: ({ tenant, req, params }) => {
      requireUser(tenant, params.id!);
      const list = tenant.userPermissions.get(params.id!) ?? [];
      addPermissions(list, readPermissions(tenant, req.body));
      tenant.userPermissions.set(params.id!, list);
      return json(201, undefined);
    },
  },
  {
    method: 'DELETE', pattern: '/api/v2/users/:id/permissions', scope: 'update:users',
    handle: ({ tenant, req, params }) => {
      requireUser(tenant, params.id!);
      tenant.userPermissions.set(params.id!, removePermissions(tenant.userPermissions.get(params.id!) ?? [], readPermissions(tenant, req.body)));
      return noContent();
    },
  },
];


