/**
 * Puts a deployed Action, and its post-login binding, straight into the emulated tenant's state —
 * what the Management API does with create, deploy and PATCH /actions/triggers/post-login/bindings.
 */
import { randomUUID } from 'node:crypto';
import type { Action, ActionVersion, Tenant } from '../../src/emulator/state.js';

export interface DeployedActionSpec {
  name: string;
  code: string;
  trigger?: { id: string; version: string };
  dependencies?: { name: string; version: string }[];
  secrets?: Record<string, string>;
}

export function addDeployedAction(tenant: Tenant, spec: DeployedActionSpec): Action {
  const now = new Date().toISOString();
  const id = randomUUID();
  const secrets = Object.entries(spec.secrets ?? {}).map(([name, value]) => ({ name, value, updated_at: now }));
  const version: ActionVersion = {
    id: randomUUID(), number: 1, action_id: id, code: spec.code, runtime: 'node22', dependencies: spec.dependencies ?? [],
    secrets, status: 'built', deployed: true, created_at: now, deployed_at: now,
  };
  const action: Action = {
    id, name: spec.name, supported_triggers: [spec.trigger ?? { id: 'post-login', version: 'v3' }], code: spec.code,
    runtime: 'node22', dependencies: version.dependencies, secrets, created_at: now, updated_at: now, build_started_at: 0,
    deployed_version: version, versions: [version],
  };
  tenant.actions.set(id, action);
  return action;
}

/** Replaces the post-login bindings with these Actions, in this order. */
export function bindPostLogin(tenant: Tenant, actions: Action[]): void {
  const now = new Date().toISOString();
  tenant.triggerBindings.set('post-login', actions.map((a) => ({ id: randomUUID(), action_id: a.id, display_name: a.name, created_at: now, updated_at: now })));
}
