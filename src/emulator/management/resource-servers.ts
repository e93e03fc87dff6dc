/** APIs: `GET|POST /api/v2/resource-servers`, `GET|PATCH /api/v2/resource-servers/{id or identifier}`. */
import { forgetRemovedScopes } from '../rbac.js';
import { TOKEN_DIALECTS, newId, type ResourceServer, type Tenant } from '../state.js';
import { fail } from './errors.js';
import { offsetList, selectFields } from './list.js';
import { json, type Route } from './router.js';
import { DUPLICATE_RESOURCE_SERVER, NO_RESOURCE_SERVER } from './rules.js';
import { BodyReader } from './validate.js';

/** Auth0's bounds for an API's access token lifetime (seconds). */
const TOKEN_LIFETIME = { min: 1, max: 2_592_000 } as const;
const FLAGS = ['skip_consent_for_verifiable_first_party_clients', 'allow_offline_access', 'enforce_policies'] as const;
const UPDATABLE = ['name', 'token_lifetime', 'scopes', 'signing_alg', 'token_dialect', ...FLAGS] as const;

/** By `id`, or — as Auth0 also accepts — by `identifier` (URL-encoded in the path). */
export function findResourceServer(tenant: Tenant, idOrIdentifier: string): ResourceServer {
  const found = tenant.resourceServers.get(idOrIdentifier)
    ?? [...tenant.resourceServers.values()].find((rs) => rs.identifier === idOrIdentifier);
  if (!found) throw fail(NO_RESOURCE_SERVER);
  return found;
}

function readFields(r: BodyReader): Partial<ResourceServer> {
  const fields: Partial<ResourceServer> = {};
  const name = r.string('name', { min: 1, max: 200 });
  if (name !== undefined) fields.name = name;
  const lifetime = r.integer('token_lifetime', TOKEN_LIFETIME);
  if (lifetime !== undefined) fields.token_lifetime = lifetime;
  // The emulator signs with its one RS256 key only.
  const alg = r.oneOf('signing_alg', ['RS256'] as const);
  if (alg !== undefined) fields.signing_alg = alg;
  const dialect = r.oneOf('token_dialect', TOKEN_DIALECTS);
  if (dialect !== undefined) fields.token_dialect = dialect;
  for (const flag of FLAGS) {
    const value = r.boolean(flag);
    if (value !== undefined) fields[flag] = value;
  }
  const scopes = r.objects('scopes', ['value', 'description']);
  if (scopes !== undefined) {
    fields.scopes = scopes.map((s) => {
      const value = s.string('value', { min: 1, max: 280, required: true });
      const description = s.string('description', { max: 500 });
      return description === undefined ? { value } : { value, description };
    });
  }
  return fields;
}

export function patchResourceServer(tenant: Tenant, idOrIdentifier: string, body: unknown): ResourceServer {
  const rs = findResourceServer(tenant, idOrIdentifier);
  const before = rs.scopes.map((s) => s.value);
  Object.assign(rs, readFields(new BodyReader(body, UPDATABLE)));
  // A scope removed from the API is a permission deleted: no role or user keeps it.
  forgetRemovedScopes(tenant, rs, before);
  return rs;
}

export function createResourceServer(tenant: Tenant, body: unknown): ResourceServer {
  const r = new BodyReader(body, ['identifier', ...UPDATABLE]);
  const identifier = r.string('identifier', { min: 1, max: 600, required: true });
  const fields = readFields(r);
  if ([...tenant.resourceServers.values()].some((rs) => rs.identifier === identifier)) throw fail(DUPLICATE_RESOURCE_SERVER);
  const rs: ResourceServer = {
    id: newId(''),
    name: identifier,
    identifier,
    signing_alg: 'RS256',
    token_lifetime: 86_400,
    skip_consent_for_verifiable_first_party_clients: false,
    allow_offline_access: false,
    scopes: [],
    enforce_policies: false,
    token_dialect: 'access_token',
    ...fields,
  };
  tenant.resourceServers.set(rs.id, rs);
  return rs;
}

export const resourceServerRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/resource-servers', scope: 'read:resource_servers',
    handle: ({ tenant, req }) => json(200, offsetList('resource_servers', [...tenant.resourceServers.values()].map((rs) => selectFields(rs, req.query)), req.query)),
  },
  {
    method: 'GET', pattern: '/api/v2/resource-servers/:id', scope: 'read:resource_servers',
    handle: ({ tenant, req, params }) => json(200, selectFields(findResourceServer(tenant, params.id!), req.query)),
  },
  {
    method: 'PATCH', pattern: '/api/v2/resource-servers/:id', scope: 'update:resource_servers',
    handle: ({ tenant, req, params }) => json(200, patchResourceServer(tenant, params.id!, req.body)),
  },
  {
    method: 'POST', pattern: '/api/v2/resource-servers', scope: 'create:resource_servers',
    handle: ({ tenant, req }) => json(201, createResourceServer(tenant, req.body)),
  },
];
