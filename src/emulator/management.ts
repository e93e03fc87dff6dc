/**
 * The emulated Management API v2: the subset omni-auth provisions a tenant with (Actions, trigger
 * bindings, Token Exchange Profiles, clients, APIs, connections, users, roles and permissions, attack protection). Each request is matched
 * to a route, then authorized (Bearer token for `{issuer}api/v2/` with the route's scope), then
 * handled; failures answer in Auth0's `{statusCode, error, message, errorCode}` shape.
 * Modules: src/emulator/management/*; limits and undocumented choices: management/rules.ts.
 */
import type { Handler } from './http-types.js';
import { actionRoutes } from './management/action-routes.js';
import { attackProtectionRoutes } from './management/attack-protection.js';
import { authorize } from './management/auth.js';
import { clientGrantRoutes } from './management/client-grants.js';
import { clientRoutes } from './management/clients.js';
import { credentialRoutes } from './management/credentials.js';
import { connectionRoutes } from './management/connections.js';
import { ManagementError, fail } from './management/errors.js';
import { profileRoutes } from './management/profiles.js';
import { resourceServerRoutes } from './management/resource-servers.js';
import { roleRoutes } from './management/roles.js';
import { triggerRoutes } from './management/triggers.js';
import { findRoute, type Route } from './management/router.js';
import { NO_ROUTE } from './management/rules.js';
import { userRoutes } from './management/users.js';
import type { Tenant } from './state.js';

const ROUTES: readonly Route[] = [
  ...clientRoutes, ...resourceServerRoutes, ...connectionRoutes, ...actionRoutes, ...triggerRoutes, ...profileRoutes,
  ...userRoutes, ...attackProtectionRoutes, ...roleRoutes, ...credentialRoutes, ...clientGrantRoutes,
];

const isManagementPath = (path: string): boolean => path === '/api/v2' || path.startsWith('/api/v2/');

export function managementHandler(tenant: Tenant): Handler {
  return async (req) => {
    if (!isManagementPath(req.path)) return undefined;
    try {
      // Like Auth0 (hapi), an unknown route is a 404 before any authentication.
      const match = findRoute(ROUTES, req.method, req.path);
      if (!match) throw fail(NO_ROUTE);
      const scopes = await authorize(tenant, req.headers, match.route.scope);
      return await match.route.handle({ tenant, req, params: match.params, scopes });
    } catch (e) {
      if (e instanceof ManagementError) return e.reply();
      throw e;
    }
  };
}
