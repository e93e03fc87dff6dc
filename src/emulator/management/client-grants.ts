/**
 * Client grants (`GET|POST /api/v2/client-grants`, `PATCH|DELETE /api/v2/client-grants/{id}`): which
 * application may get client-credentials tokens for which API, with which scopes. The
 * client_credentials grant (grants.ts) refuses an audience without one.
 */
import { newId, type ClientGrant, type Tenant } from '../state.js';
import { findClient } from './clients.js';
import { fail } from './errors.js';
import { offsetList } from './list.js';
import { json, noContent, type Route } from './router.js';
import { CLIENT_GRANT_NO_API, DUPLICATE_CLIENT_GRANT, NO_CLIENT_GRANT } from './rules.js';
import { BodyReader } from './validate.js';

function scopesOf(r: BodyReader, required: boolean): string[] | undefined {
  const scope = r.strings('scope');
  if (scope === undefined && required) throw r.problem('scope', 'Missing required property: scope');
  return scope === undefined ? undefined : [...new Set(scope)];
}

export function createClientGrant(tenant: Tenant, body: unknown): ClientGrant {
  const r = new BodyReader(body, ['client_id', 'audience', 'scope']);
  const clientId = r.string('client_id', { min: 1, required: true });
  const audience = r.string('audience', { min: 1, required: true });
  const scope = scopesOf(r, true)!;
  findClient(tenant, clientId);
  if (![...tenant.resourceServers.values()].some((rs) => rs.identifier === audience)) throw fail(CLIENT_GRANT_NO_API);
  if (tenant.clientGrants.some((g) => g.client_id === clientId && g.audience === audience)) throw fail(DUPLICATE_CLIENT_GRANT);
  const grant: ClientGrant = { id: newId('cgr_'), client_id: clientId, audience, scope };
  tenant.clientGrants.push(grant);
  return grant;
}

function findGrant(tenant: Tenant, id: string): ClientGrant {
  const grant = tenant.clientGrants.find((g) => g.id === id);
  if (!grant) throw fail(NO_CLIENT_GRANT);
  return grant;
}

export const clientGrantRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/client-grants', scope: 'read:client_grants',
    handle: ({ tenant, req }) => {
      const clientId = req.query.get('client_id');
      const audience = req.query.get('audience');
      const found = tenant.clientGrants.filter((g) => (clientId === null || g.client_id === clientId) && (audience === null || g.audience === audience));
      return json(200, offsetList('client_grants', found, req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/client-grants', scope: 'create:client_grants',
    handle: ({ tenant, req }) => json(201, createClientGrant(tenant, req.body)),
  },
  {
    method: 'PATCH', pattern: '/api/v2/client-grants/:id', scope: 'update:client_grants',
    handle: ({ tenant, req, params }) => {
      const grant = findGrant(tenant, params.id!);
      const scope = scopesOf(new BodyReader(req.body, ['scope']), false);
      if (scope !== undefined) grant.scope = scope;
      return json(200, grant);
    },
  },
  {
    method: 'DELETE', pattern: '/api/v2/client-grants/:id', scope: 'delete:client_grants',
    handle: ({ tenant, params }) => {
      const grant = findGrant(tenant, params.id!);
      tenant.clientGrants.splice(tenant.clientGrants.indexOf(grant), 1);
      return noContent();
    },
  },
];
