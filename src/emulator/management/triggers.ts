/**
 * Triggers and their bindings: `GET /api/v2/actions/triggers`,
 * `GET|PATCH /api/v2/actions/triggers/{triggerId}/bindings`. A PATCH replaces the trigger's whole
 * ordered list: each entry refers to an Action by `action_id` or `action_name` (a new binding), or to
 * a binding already there by `binding_id` (kept, with its id and creation time). Only deployed
 * Actions that support the trigger can be bound. Custom Token Exchange Actions are attached by
 * Token Exchange Profiles instead (binding_policy entity-bound). The emulator runs the bound
 * post-login Actions after an exchange (action-runtime, CONTRACTS.md §5).
 */
import { randomUUID } from 'node:crypto';
import { nowIso, type Action, type Tenant, type TriggerBinding } from '../state.js';
import { actionView } from './actions.js';
import { fail } from './errors.js';
import { offsetOf, pageOf } from './list.js';
import { json, type Route } from './router.js';
import { ACTION_TRIGGERS, BINDING_REF_TYPES, ENTITY_BOUND_TRIGGER, NO_TRIGGER, bindingRefused } from './rules.js';
import { BodyReader } from './validate.js';

const DISPLAY_NAME_MAX = 255;

function triggerOf(id: string): (typeof ACTION_TRIGGERS)[number] {
  const trigger = ACTION_TRIGGERS.find((t) => t.id === id);
  if (!trigger) throw fail(NO_TRIGGER);
  return trigger;
}

export function bindingsOf(tenant: Tenant, triggerId: string): TriggerBinding[] {
  return tenant.triggerBindings.get(triggerId) ?? [];
}

function bindingView(tenant: Tenant, triggerId: string, b: TriggerBinding): Record<string, unknown> {
  const action = tenant.actions.get(b.action_id);
  return {
    id: b.id,
    trigger_id: triggerId,
    display_name: b.display_name,
    ...(action === undefined ? {} : { action: actionView(tenant, action) }),
    created_at: b.created_at,
    updated_at: b.updated_at,
  };
}

function findBindable(tenant: Tenant, triggerId: string, type: string, value: string): Action {
  const action = type === 'action_id'
    ? tenant.actions.get(value)
    : [...tenant.actions.values()].find((a) => a.name === value);
  if (!action) throw fail(bindingRefused(`The action ${value} does not exist.`));
  if (!action.supported_triggers.some((t) => t.id === triggerId)) {
    throw fail(bindingRefused(`The action ${action.name} does not support the ${triggerId} trigger.`));
  }
  if (action.deployed_version?.deployed !== true) {
    throw fail(bindingRefused(`The action ${action.name} must be deployed before it can be bound.`));
  }
  return action;
}

/** Replaces the trigger's bindings with the body's list, in its order; all or nothing. */
export function updateBindings(tenant: Tenant, triggerId: string, body: unknown): TriggerBinding[] {
  const trigger = triggerOf(triggerId);
  if (trigger.binding_policy === 'entity-bound') throw fail(ENTITY_BOUND_TRIGGER);
  const r = new BodyReader(body, ['bindings']);
  const entries = r.objects('bindings', ['ref', 'display_name', 'secrets'], { required: true })!;
  const current = bindingsOf(tenant, triggerId);
  const now = nowIso();
  const next: TriggerBinding[] = entries.map((entry) => {
    const ref = entry.object('ref', ['type', 'value']);
    if (ref === undefined) throw entry.problem('ref', 'Missing required property: ref');
    const type = ref.oneOf('type', BINDING_REF_TYPES, true)!;
    const value = ref.string('value', { min: 1, required: true });
    const displayName = entry.string('display_name', { min: 1, max: DISPLAY_NAME_MAX });
    entry.array('secrets'); // accepted; binding-level secrets are not modelled
    if (type === 'binding_id') {
      const kept = current.find((b) => b.id === value);
      if (!kept) throw fail(bindingRefused(`The binding ${value} does not exist on the ${triggerId} trigger.`));
      return { ...kept, ...(displayName === undefined ? {} : { display_name: displayName, updated_at: now }) };
    }
    const action = findBindable(tenant, triggerId, type, value);
    return { id: randomUUID(), action_id: action.id, display_name: displayName ?? action.name, created_at: now, updated_at: now };
  });
  const seen = new Set<string>();
  for (const b of next) {
    if (seen.has(b.action_id)) throw fail(bindingRefused(`The action ${b.action_id} is bound twice.`));
    seen.add(b.action_id);
  }
  tenant.triggerBindings.set(triggerId, next);
  return next;
}

export const triggerRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/actions/triggers', scope: 'read:actions',
    handle: () => json(200, {
      triggers: ACTION_TRIGGERS.map((t) => ({
        id: t.id, version: t.version, status: 'CURRENT', runtimes: ['node18', 'node22'], default_runtime: 'node22',
        compatible_triggers: [], binding_policy: t.binding_policy,
      })),
    }),
  },
  {
    method: 'GET', pattern: '/api/v2/actions/triggers/:triggerId/bindings', scope: 'read:actions',
    handle: ({ tenant, req, params }) => {
      const triggerId = triggerOf(params.triggerId!).id;
      const all = bindingsOf(tenant, triggerId);
      const offset = offsetOf(req.query);
      return json(200, {
        bindings: pageOf(all, offset).map((b) => bindingView(tenant, triggerId, b)),
        total: all.length,
        page: offset.page,
        per_page: offset.perPage,
      });
    },
  },
  {
    method: 'PATCH', pattern: '/api/v2/actions/triggers/:triggerId/bindings', scope: 'update:actions',
    handle: ({ tenant, req, params }) => {
      const bindings = updateBindings(tenant, params.triggerId!, req.body);
      return json(200, { bindings: bindings.map((b) => bindingView(tenant, params.triggerId!, b)) });
    },
  },
];
