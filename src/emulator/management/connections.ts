/**
 * Connections: `GET|POST /api/v2/connections[?name=&strategy=]`, `GET|PATCH /api/v2/connections/{id}`,
 * and the clients a connection is enabled for, `GET|PATCH /api/v2/connections/{id}/clients`.
 * Only database connections (strategy `auth0`) can be created; their `options` are read by
 * connection-options.ts. A PATCH with `options` replaces the options as a whole, as on Auth0.
 *
 * "Migrate to Management API Connection Options Scopes": answers carry `options` only for a caller
 * with read:connections_options, and a PATCH whose body holds `options` needs update:connections_options.
 * CHOICE (Auth0 names only the GET and PATCH routes): POST with `options` needs create:connections
 * alone, and its 201 answer shows `options` under the same read rule (the OpenAPI schema's
 * ConnectionOptions: "In order to return options in the response, the read:connections_options scope
 * must be present").
 */
import { newId, type Connection, type Tenant } from '../state.js';
import { findClient } from './clients.js';
import { readConnectionOptions } from './connection-options.js';
import { fail, invalidBody } from './errors.js';
import { checkpointList, offsetList, selectFields } from './list.js';
import { json, noContent, type Route } from './router.js';
import {
  CONNECTION_CLIENTS_PATCH_MAX, CONNECTION_NAME_MAX, CONNECTION_OPTIONS_SCOPES, CONNECTION_OPTIONS_UPDATE_SCOPE, CONNECTION_NAME_PATTERN, CONNECTION_STRATEGIES, DUPLICATE_CONNECTION, NO_CONNECTION,
} from './rules.js';
import { BodyReader, jsonType } from './validate.js';

const COMMON = ['display_name', 'options', 'enabled_clients', 'is_domain_connection', 'realms', 'metadata', 'show_as_button'] as const;
const CREATE_KEYS = ['name', 'strategy', ...COMMON] as const;

/** A connection as the API shows it; `options` only to a caller with read:connections_options. */
function connectionView(c: Connection, scopes: readonly string[]): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    display_name: c.display_name ?? c.name,
    strategy: c.strategy,
    ...(scopes.includes(CONNECTION_OPTIONS_SCOPES.read) ? { options: structuredClone(c.options ?? {}) } : {}),
    is_domain_connection: c.is_domain_connection ?? false,
    enabled_clients: [...c.enabled_clients],
    realms: c.realms ?? [c.name],
    ...(c.metadata === undefined ? {} : { metadata: { ...c.metadata } }),
  };
}

function findConnection(tenant: Tenant, id: string): Connection {
  const found = tenant.connections.get(id);
  if (!found) throw fail(NO_CONNECTION);
  return found;
}

export const connectionByName = (tenant: Tenant, name: string): Connection | undefined =>
  [...tenant.connections.values()].find((c) => c.name === name);

/** Body `[{client_id, status}]`, at most 50 items: `status` true enables, false disables. */
export function setConnectionClients(tenant: Tenant, connectionId: string, body: unknown): void {
  const connection = findConnection(tenant, connectionId);
  if (!Array.isArray(body)) throw invalidBody(`'Expected type array but found type ${jsonType(body)}'.`);
  if (body.length < 1 || body.length > CONNECTION_CLIENTS_PATCH_MAX) {
    throw invalidBody(`'Array must hold 1 to ${CONNECTION_CLIENTS_PATCH_MAX} items (found ${body.length})'.`);
  }
  const changes = body.map((item, i) => {
    const r = new BodyReader(item, ['client_id', 'status'], `[${i}]`);
    const clientId = r.string('client_id', { min: 1, required: true });
    const status = r.boolean('status');
    if (status === undefined) throw invalidBody(`'Missing required property: status' on property [${i}].`);
    return { clientId, status };
  });
  // All or nothing: every client must exist before any change is made.
  for (const { clientId } of changes) findClient(tenant, clientId);
  const enabled = new Set(connection.enabled_clients);
  for (const { clientId, status } of changes) {
    if (status) enabled.add(clientId);
    else enabled.delete(clientId);
  }
  connection.enabled_clients = [...enabled];
}

type ConnectionFields = Partial<Pick<Connection, 'display_name' | 'options' | 'enabled_clients' | 'is_domain_connection' | 'realms' | 'metadata'>>;

function readCommon(tenant: Tenant, r: BodyReader): ConnectionFields {
  const fields: ConnectionFields = {};
  const displayName = r.string('display_name', { min: 1, max: CONNECTION_NAME_MAX });
  if (displayName !== undefined) fields.display_name = displayName;
  const options = readConnectionOptions(r);
  if (options !== undefined) fields.options = options;
  const clients = r.strings('enabled_clients');
  if (clients !== undefined) {
    for (const id of clients) findClient(tenant, id);
    fields.enabled_clients = [...new Set(clients)];
  }
  const domain = r.boolean('is_domain_connection');
  if (domain !== undefined) fields.is_domain_connection = domain;
  r.boolean('show_as_button');
  const realms = r.strings('realms');
  if (realms !== undefined && realms.length > 0) fields.realms = realms;
  const metadata = r.map('metadata');
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw r.problem('metadata', `Expected type string but found type ${jsonType(v)} for key ${k}`);
    }
    fields.metadata = metadata as Record<string, string>;
  }
  return fields;
}

/** `POST /api/v2/connections`: a database connection (strategy `auth0`) with a unique, well-formed name. */
export function createConnection(tenant: Tenant, body: unknown): Connection {
  const r = new BodyReader(body, CREATE_KEYS);
  const name = r.string('name', { min: 1, max: CONNECTION_NAME_MAX, required: true });
  if (!CONNECTION_NAME_PATTERN.test(name)) {
    throw r.problem('name', 'String does not match pattern ^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$');
  }
  const strategy = r.oneOf('strategy', CONNECTION_STRATEGIES, true)!;
  const fields = readCommon(tenant, r);
  if (connectionByName(tenant, name)) throw fail(DUPLICATE_CONNECTION);
  const connection: Connection = { id: newId('con_'), name, strategy, enabled_clients: [], options: {}, ...fields };
  tenant.connections.set(connection.id, connection);
  return connection;
}

/**
 * `PATCH /api/v2/connections/{id}`: the fields given replace the stored ones — `options` as a whole
 * ("Update a connection": if you use the options parameter, the entire options object is overridden).
 * `name` and `strategy` cannot change.
 */
export function patchConnection(tenant: Tenant, id: string, body: unknown, scopes: readonly string[]): Connection {
  const connection = findConnection(tenant, id);
  const r = new BodyReader(body, COMMON);
  if (r.keys().includes('options') && !scopes.includes(CONNECTION_OPTIONS_SCOPES.update)) throw fail(CONNECTION_OPTIONS_UPDATE_SCOPE);
  if (r.keys().length === 0) throw invalidBody("'Too few properties defined (0), minimum 1'.");
  Object.assign(connection, readCommon(tenant, r));
  return connection;
}

function listConnections(tenant: Tenant, query: URLSearchParams): Connection[] {
  const name = query.get('name');
  const strategies = query.getAll('strategy').flatMap((s) => s.split(',')).filter((s) => s !== '');
  return [...tenant.connections.values()].filter(
    (c) => (name === null || c.name === name) && (strategies.length === 0 || strategies.includes(c.strategy)),
  );
}

export const connectionRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/connections', scope: 'read:connections',
    handle: ({ tenant, req, scopes }) => {
      const views = listConnections(tenant, req.query).map((c) => selectFields(connectionView(c, scopes), req.query));
      // `take`/`from` ask for checkpoint paging (`{connections, next}`; the official SDK v5 sends take=50).
      if (req.query.has('take') || req.query.has('from')) return json(200, checkpointList('connections', views, (c) => String(c.id), req.query));
      return json(200, offsetList('connections', views, req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/connections', scope: 'create:connections',
    handle: ({ tenant, req, scopes }) => json(201, connectionView(createConnection(tenant, req.body), scopes)),
  },
  {
    method: 'GET', pattern: '/api/v2/connections/:id', scope: 'read:connections',
    handle: ({ tenant, req, params, scopes }) => json(200, selectFields(connectionView(findConnection(tenant, params.id!), scopes), req.query)),
  },
  {
    method: 'PATCH', pattern: '/api/v2/connections/:id', scope: 'update:connections',
    handle: ({ tenant, req, params, scopes }) => json(200, connectionView(patchConnection(tenant, params.id!, req.body, scopes), scopes)),
  },
  {
    method: 'GET', pattern: '/api/v2/connections/:id/clients', scope: 'read:connections',
    handle: ({ tenant, req, params }) => {
      const ids = findConnection(tenant, params.id!).enabled_clients;
      return json(200, checkpointList('clients', ids.map((client_id) => ({ client_id })), (c) => c.client_id, req.query));
    },
  },
  {
    method: 'PATCH', pattern: '/api/v2/connections/:id/clients', scope: 'update:connections',
    handle: ({ tenant, req, params }) => {
      setConnectionClients(tenant, params.id!, req.body);
      return noContent();
    },
  },
];
