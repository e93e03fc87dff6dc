/** The Actions routes under `/api/v2/actions/actions`. */
import type { Action, Tenant } from '../state.js';
import {
  actionView, createAction, deleteAction, deployAction, deployedView, findAction, updateAction, versionView,
} from './actions.js';
import { offsetOf, pageOf } from './list.js';
import { json, noContent, type Route } from './router.js';
import { queryBoolean } from './validate.js';

function listActions(tenant: Tenant, query: URLSearchParams): Record<string, unknown> {
  const triggerId = query.get('triggerId');
  const actionName = query.get('actionName');
  const deployed = queryBoolean(query, 'deployed');
  queryBoolean(query, 'installed'); // validated; the emulator has no marketplace integrations
  const matches = [...tenant.actions.values()].filter((a: Action) =>
    (triggerId === null || a.supported_triggers.some((t) => t.id === triggerId))
    && (actionName === null || a.name === actionName)
    && (deployed === undefined || (a.deployed_version?.deployed === true) === deployed));
  const offset = offsetOf(query);
  return {
    actions: pageOf(matches, offset).map((a) => actionView(tenant, a)),
    total: matches.length,
    page: offset.page,
    per_page: offset.perPage,
  };
}

const BASE = '/api/v2/actions/actions';

export const actionRoutes: Route[] = [
  { method: 'GET', pattern: BASE, scope: 'read:actions', handle: ({ tenant, req }) => json(200, listActions(tenant, req.query)) },
  {
    method: 'POST', pattern: BASE, scope: 'create:actions',
    handle: ({ tenant, req }) => json(201, actionView(tenant, createAction(tenant, req.body))),
  },
  {
    method: 'GET', pattern: `${BASE}/:id`, scope: 'read:actions',
    handle: ({ tenant, params }) => json(200, actionView(tenant, findAction(tenant, params.id!))),
  },
  {
    method: 'PATCH', pattern: `${BASE}/:id`, scope: 'update:actions',
    handle: ({ tenant, req, params }) => json(200, actionView(tenant, updateAction(tenant, params.id!, req.body))),
  },
  {
    method: 'DELETE', pattern: `${BASE}/:id`, scope: 'delete:actions',
    handle: ({ tenant, req, params }) => {
      deleteAction(tenant, params.id!, queryBoolean(req.query, 'force') === true);
      return noContent();
    },
  },
  {
    // Recorded Auth0 traffic answers 200 (the published OpenAPI says 202).
    method: 'POST', pattern: `${BASE}/:id/deploy`, scope: 'create:actions',
    handle: ({ tenant, params }) => {
      const version = deployAction(tenant, params.id!);
      return json(200, deployedView(version, findAction(tenant, params.id!)));
    },
  },
  {
    method: 'GET', pattern: `${BASE}/:id/versions`, scope: 'read:actions',
    handle: ({ tenant, req, params }) => {
      const action = findAction(tenant, params.id!);
      const newestFirst = [...action.versions].reverse();
      const offset = offsetOf(req.query);
      return json(200, {
        versions: pageOf(newestFirst, offset).map((v) => versionView(v, action)),
        total: newestFirst.length,
        page: offset.page,
        per_page: offset.perPage,
      });
    },
  },
];
