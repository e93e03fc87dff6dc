/**
 * Applying a plan, in order: the API, the application, the Action (built, deployed, live), the Token
 * Exchange Profile, the application's token exchange permission, the connection. Unchanged steps send
 * nothing. Later steps use the ids earlier ones created.
 */
import { ExitCode, OmniAuthError } from '../util/errors.js';
import { deployAndWait, waitUntilBuilt, type PollOptions } from './action-deploy.js';
import type { ManagementClient } from './management-client.js';
import { ManagementApiError } from './management-errors.js';
import {
  API_SETTINGS, APP_SETTINGS, LOOPBACK_CALLBACKS, NEW_APP_GRANTS, applicationChanges, profileConflict, type Plan, type PlanStep, type Resource,
} from './plan.js';
import { CONNECTION_STRATEGY, desiredConnectionOptions } from './connection.js';
import {
  ACTION_RUNTIME, CTE_TRIGGER, PROFILE_TYPE, type ActionRecord, type ClientRecord, type ConnectionRecord, type ProfileRecord, type ResourceServerRecord,
} from './records.js';
import { readActionById, readProfiles } from './snapshot.js';
import { applyRbacSettings, applyRole, rbacChanges, roleMissing } from './rbac.js';
import { applyCiStep, ciApplyState, type CiStep } from './ci-setup.js';

export interface AppliedStep extends PlanStep {
  /** The id of the object the step is about, once known. */
  id?: string;
}

export interface ApplyResult {
  steps: AppliedStep[];
  clientId: string;
  actionId: string;
}

interface Ids {
  apiId?: string;
  clientId?: string;
  actionId?: string;
}

const enc = encodeURIComponent;

export async function applyPlan(plan: Plan, mc: ManagementClient, progress: (line: string) => void, poll: PollOptions): Promise<ApplyResult> {
  const { snapshot } = plan;
  const ids: Ids = {
    ...(snapshot.api ? { apiId: snapshot.api.id } : {}),
    ...(snapshot.client ? { clientId: snapshot.client.client_id } : {}),
    ...(snapshot.action ? { actionId: snapshot.action.id } : {}),
  };
  const out: AppliedStep[] = [];
  const ci = ciApplyState(plan.ci);
  const ciCtx = { issuer: plan.inputs.issuer, connection: plan.inputs.connection, progress, poll };
  const ciWriter = (s: PlanStep) => applyCiStep(s as CiStep, plan.ci, ci, mc, ciCtx);
  const writers: Record<Resource, (s: PlanStep) => Promise<string | undefined>> = {
    api: async (s) => (ids.apiId = await applyApi(plan, mc, s)),
    application: async (s) => (ids.clientId = await applyApplication(plan, mc, s)),
    action: async (s) => (ids.actionId = await applyAction(plan, mc, s, progress, poll)),
    profile: (s) => applyProfile(plan, mc, s, need(ids.actionId, 'action')),
    token_exchange: (s) => applyTokenExchange(plan, mc, s, need(ids.clientId, 'application')),
    connection: (s) => applyConnection(plan, mc, s, need(ids.clientId, 'application')),
    rbac: async (s) => {
      const apiId = need(ids.apiId, 'API');
      if (s.change === 'update') await applyRbacSettings(mc, apiId, rbacChanges(plan.snapshot.api, plan.inputs.rbac!));
      return apiId;
    },
    role: async (s) => {
      const { rbac, audience } = plan.inputs;
      const existing = plan.snapshot.role?.role;
      if (s.change === 'unchanged') return existing?.id;
      return applyRole(mc, rbac!.role!, existing, audience, roleMissing(plan.snapshot.role ?? { permissions: [] }, audience, rbac!));
    },
    ci_user: ciWriter,
    ci_action: ciWriter,
    ci_profile: ciWriter,
  };
  for (const s of plan.steps) {
    if (s.change !== 'unchanged') progress(`${verb(s)} ${label(s.resource)} ${s.target}`);
    const id = await writers[s.resource](s);
    out.push({ ...s, ...(id !== undefined ? { id } : {}) });
  }
  return { steps: out, clientId: need(ids.clientId, 'application'), actionId: need(ids.actionId, 'action') };
}

function need(id: string | undefined, what: string): string {
  if (id === undefined) {
    throw new OmniAuthError('setup_internal', `setup lost track of the ${what} id`, {
      hint: 'a bug in omni-auth: run setup again (it reads the tenant first and picks up where it stopped), and report this with the output of `omni-auth setup --dry-run --json`',
      exitCode: ExitCode.internal,
    });
  }
  return id;
}

const verb = (s: PlanStep): string => ({ create: 'creating', update: 'updating', deploy: 'deploying', unchanged: '', blocked: '' })[s.change];
export const label = (r: Resource): string => ({
  api: 'API', application: 'application', action: 'Action', profile: 'profile', token_exchange: 'token exchange', connection: 'connection',
  rbac: 'RBAC', role: 'role',
  ci_user: 'CI service user', ci_action: 'CI Action', ci_profile: 'CI profile',
})[r];

async function applyApi(plan: Plan, mc: ManagementClient, s: PlanStep): Promise<string | undefined> {
  const { api } = plan.snapshot;
  if (s.change === 'create') {
    const created = await mc.post<ResourceServerRecord>('/resource-servers', { identifier: plan.inputs.audience, name: plan.inputs.audience, ...API_SETTINGS });
    return created.id;
  }
  if (s.change === 'update' && api) {
    await mc.patch(`/resource-servers/${enc(api.id)}`, Object.fromEntries(s.fields.map((f) => [f, API_SETTINGS[f as keyof typeof API_SETTINGS]])));
  }
  return api?.id;
}

async function applyApplication(plan: Plan, mc: ManagementClient, s: PlanStep): Promise<string | undefined> {
  const { client } = plan.snapshot;
  if (s.change === 'create') {
    const created = await mc.post<ClientRecord>('/clients', {
      name: plan.inputs.appName, ...APP_SETTINGS, grant_types: NEW_APP_GRANTS, callbacks: [...LOOPBACK_CALLBACKS],
    });
    return created.client_id;
  }
  if (s.change === 'update' && client) await mc.patch(`/clients/${enc(client.client_id)}`, applicationChanges(client));
  return client?.client_id;
}

async function applyAction(plan: Plan, mc: ManagementClient, s: PlanStep, progress: (line: string) => void, poll: PollOptions): Promise<string | undefined> {
  const { action: existing } = plan.snapshot;
  const desired = plan.action;
  const body = { code: desired.code, runtime: ACTION_RUNTIME, dependencies: desired.dependencies, secrets: desired.secrets };
  let id = existing?.id;
  if (s.change === 'create') {
    id = (await mc.post<ActionRecord>('/actions/actions', { name: plan.inputs.actionName, supported_triggers: [{ ...CTE_TRIGGER }], ...body })).id;
  } else if (s.change === 'update' && id !== undefined) {
    // PATCH replaces the whole secrets list, values included: Auth0 cannot keep values it never shows.
    await mc.patch(`/actions/actions/${enc(id)}`, body);
  }
  if (s.change !== 'unchanged' && id !== undefined) {
    await waitUntilBuilt(mc, id, progress, poll);
    await deployAndWait(mc, id, progress, poll);
  }
  return id;
}

/**
 * The subject token type taken since the plan was made: a POST answers 409, a PATCH 400 (Auth0's
 * Management API reference). Name who holds it.
 */
async function explainConflict(plan: Plan, mc: ManagementClient, e: unknown, patched?: string): Promise<never> {
  if (!(e instanceof ManagementApiError) || !(e.status === 409 || e.status === 400)) throw e;
  const holder = (await readProfiles(mc)).find((p) => p.subject_token_type === plan.inputs.subjectTokenType);
  // A 400 with nobody else holding the type is some other refusal: shown as the API said it.
  if (!holder || holder.id === patched) throw e;
  throw profileConflict(plan.inputs.subjectTokenType, holder, await readActionById(mc, holder.action_id));
}

async function applyProfile(plan: Plan, mc: ManagementClient, s: PlanStep, actionId: string): Promise<string | undefined> {
  const { inputs, snapshot } = plan;
  const existing = snapshot.profiles.find((p) => p.subject_token_type === inputs.subjectTokenType)
    ?? snapshot.profiles.find((p) => p.name === inputs.profileName && p.action_id === actionId);
  try {
    if (s.change === 'create') {
      const created = await mc.post<ProfileRecord>('/token-exchange-profiles', {
        name: inputs.profileName, subject_token_type: inputs.subjectTokenType, action_id: actionId, type: PROFILE_TYPE,
      });
      return created.id;
    }
    if (s.change === 'update' && existing) {
      await mc.patch(`/token-exchange-profiles/${enc(existing.id)}`, { name: inputs.profileName, subject_token_type: inputs.subjectTokenType });
    }
  } catch (e) {
    return explainConflict(plan, mc, e, s.change === 'update' ? existing?.id : undefined);
  }
  return existing?.id;
}

async function applyTokenExchange(plan: Plan, mc: ManagementClient, s: PlanStep, clientId: string): Promise<string> {
  if (s.change === 'update') {
    const current = plan.snapshot.client?.token_exchange?.allow_any_profile_of_type ?? [];
    await mc.patch(`/clients/${enc(clientId)}`, { token_exchange: { allow_any_profile_of_type: [...new Set([...current, PROFILE_TYPE])] } });
  }
  return clientId;
}

async function applyConnection(plan: Plan, mc: ManagementClient, s: PlanStep, clientId: string): Promise<string | undefined> {
  let connection = plan.snapshot.connection;
  if (s.change === 'create') {
    connection = await mc.post<ConnectionRecord>('/connections', {
      name: plan.inputs.connection, strategy: CONNECTION_STRATEGY, options: desiredConnectionOptions(undefined),
    });
  } else if (s.change === 'update' && connection && s.fields.some((f) => f.startsWith('options.'))) {
    // PATCH replaces `options` as a whole: the current options go back with ours merged in.
    await mc.patch(`/connections/${enc(connection.id)}`, { options: desiredConnectionOptions(connection) });
  }
  if ((s.change === 'create' || s.fields.includes('enabled_clients')) && connection) {
    await mc.patch(`/connections/${enc(connection.id)}/clients`, [{ client_id: clientId, status: true }]);
  }
  return connection?.id;
}
