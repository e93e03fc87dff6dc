/**
 * Connections: `GET /api/v2/connections[?name=&strategy=]`, `GET /api/v2/connections/{id}`, and the
 * clients a connection is enabled for, `GET|PATCH /api/v2/connections/{id}/clients`.
 */
import type { Connection, Tenant } from '../state.js';
import { findClient } from './clients.js';
import { fail, invalidBody } from './errors.js';
import { checkpointList, offsetList, selectFields } from './list.js';
import { json, noContent, type Route } from './router.js';
import { CONNECTION_CLIENTS_PATCH_MAX, NO_CONNECTION } from './rules.js';
import { BodyReader, jsonType } from './validate.js';

function connectionView(c: Connection): Record<string, unknown> {
  return { id: c.id, name: c.name, strategy: c.strategy, is_domain_connection: false, enabled_clients: [...c.enabled_clients], realms: [c.name] };
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
    handle: ({ tenant, req }) => json(200, offsetList('connections', listConnections(tenant, req.query).map((c) => selectFields(connectionView(c), req.query)), req.query)),
  },
  {
    method: 'GET', pattern: '/api/v2/connections/:id', scope: 'read:connections',
    handle: ({ tenant, req, params }) => json(200, selectFields(connectionView(findConnection(tenant, params.id!)), req.query)),
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
