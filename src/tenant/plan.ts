/**
 * The plan: what setup would change, computed from a snapshot of the tenant and the desired state —
 * one step per resource, each `create`, `update` (naming the fields that differ), `deploy` (the Action
 * is right but not live), `unchanged`, or `blocked` (setup cannot proceed; `blockers` says why).
 * Pure: no I/O, so every rule is testable on its own.
 */
import { ExitCode, OmniAuthError, UsageError } from '../util/errors.js';
import {
  deployedAllowedKeys, deployedIdentity, desiredAction, markerAllowedKeys, markerDigest, markerIdentity, stripMarker,
  type ActionSource, type DesiredAction, type IdentityPolicy,
} from './action-bundle.js';
import { ACTION_RUNTIME, PROFILE_TYPE, type ActionRecord, type ClientRecord, type Dependency } from './records.js';
import { MACHINES_CONNECTION, connectionOptionChanges } from './connection.js';
import { GRANT_SCOPES_AT } from './management-errors.js';
import { rbacChanges, roleMissing, type RbacInputs } from './rbac.js';
import type { TenantSnapshot } from './snapshot.js';
import { ciSteps, planCi, type CiPlan, type CiSnapshot } from './ci-setup.js';
import type { TrustRule } from './ci-policy.js';

export type Resource = 'api' | 'application' | 'action' | 'profile' | 'token_exchange' | 'connection' | 'rbac' | 'role' | 'ci_user' | 'ci_action' | 'ci_profile';
export type Change = 'create' | 'update' | 'deploy' | 'unchanged' | 'blocked';

export interface PlanStep {
  resource: Resource;
  /** What the step is about, for people: an identifier, a name (and id when known). */
  target: string;
  change: Change;
  /** The fields that differ (update), or the reason (deploy, blocked). */
  fields: string[];
}

export interface SetupInputs {
  /** Normalised origin. */
  domain: string;
  issuer: string;
  audience: string;
  clientId?: string;
  appName: string;
  connection: string;
  subjectTokenType: string;
  profileName: string;
  actionName: string;
  /** The Action file as shipped; the plan adds the secrets and the marker. */
  action: ActionSource;
  /** ALLOWED_KEYS thumbprints (--allowed-keys; [] clears the allow-list); absent: keep the tenant's. */
  allowedKeys?: string[];
  /** The IDENTITY policy (--identity); absent: keep the deployed Action's, `person` for a new one. */
  identity?: IdentityPolicy;
  /** `--rbac [--permissions] [--role]`: RBAC on the API, its permissions, a role; absent: RBAC untouched. */
  rbac?: RbacInputs;
  /** The CI trust policy (--ci-trust-file, ci-policy.ts) and the CI Action; absent: keep the tenant's. */
  ciTrust?: TrustRule[];
  ciAction?: ActionSource;
}

/** The allow-list the plan deploys, and where it comes from. */
export interface AllowedKeysPlan {
  keys: string[];
  /** `flag`: --allowed-keys; `tenant`: kept from the deployed Action's marker; `unknown`: a blocker. */
  from: 'flag' | 'tenant' | 'unknown';
}

/**
 * The identity policy the plan deploys, and where it comes from: `flag` (--identity), `new` (no Action
 * yet: `person`, closed by default), `tenant` (the deployed Action's marker), `legacy` (the deployed
 * Action has no IDENTITY secret: it runs today's key-is-user mode, kept as `machine` so no machine
 * stops working), `unknown` (an IDENTITY secret no marker records: a blocker).
 */
export interface IdentityPlan {
  policy: IdentityPolicy;
  from: 'flag' | 'new' | 'tenant' | 'legacy' | 'unknown';
}

export interface Plan {
  steps: PlanStep[];
  /** Why setup cannot apply the plan (a subject token type taken by another profile, an unknown allow-list, unreadable connection options). */
  blockers: OmniAuthError[];
  snapshot: TenantSnapshot;
  inputs: SetupInputs;
  /** The Action to deploy: the source with its secrets and marker. */
  action: DesiredAction;
  allowedKeys: AllowedKeysPlan;
  identity: IdentityPlan;
  /** Keyless CI identity (ci-setup.ts): the rules, where they come from, the service users to create. */
  ci: CiPlan;
}

export const API_SETTINGS = { skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true } as const;
export const APP_SETTINGS = { app_type: 'native', is_first_party: true, oidc_conformant: true, token_endpoint_auth_method: 'none' } as const;
/**
 * The grants the CLI application needs: refresh_token (the broker renews tokens with refresh tokens)
 * and authorization_code (the browser sign-in, `omni-auth login --browser`). Merged into the
 * application's own grants, never replacing them.
 */
export const REQUIRED_GRANTS = ['authorization_code', 'refresh_token'] as const;
export const NEW_APP_GRANTS = [...REQUIRED_GRANTS];
/** The browser sign-in's loopback redirect URIs (CONTRACTS-10 §1, the default --callback-port 8765). */
export const CALLBACK_PORT = 8765;
export const LOOPBACK_CALLBACKS = [`http://127.0.0.1:${CALLBACK_PORT}/callback`, `http://localhost:${CALLBACK_PORT}/callback`] as const;

const step = (resource: Resource, target: string, change: Change, fields: string[] = []): PlanStep => ({ resource, target, change, fields });

export function planSetup(snapshot: TenantSnapshot, inputs: SetupInputs, ciSnapshot: CiSnapshot = { users: new Map() }): Plan {
  const blockers: OmniAuthError[] = [];
  const allowedKeys = allowedKeysPlan(snapshot, inputs, blockers);
  const identity = identityPlan(snapshot, inputs, blockers);
  const action = desiredAction(inputs.action, inputs.issuer, inputs.connection, allowedKeys.keys, identity.policy);
  const unknown = [...(allowedKeys.from === 'unknown' ? ['ALLOWED_KEYS unknown'] : []), ...(identity.from === 'unknown' ? ['IDENTITY unknown'] : [])];
  const steps = [
    apiStep(snapshot, inputs),
    applicationStep(snapshot.client, inputs),
    unknown.length > 0 ? step('action', actionLabel(snapshot.action, inputs), 'blocked', unknown) : actionStep(snapshot.action, inputs, action),
    profileStep(snapshot, inputs, blockers),
    tokenExchangeStep(snapshot.client, inputs),
    connectionStep(snapshot, inputs, blockers),
    ...rbacSteps(snapshot, inputs),
  ];
  const ci = planCi(ciSnapshot, inputs.ciTrust, inputs.ciAction);
  steps.push(...ciSteps(ci, inputs.issuer, blockers));
  return { steps, blockers, snapshot, inputs, action, allowedKeys, identity, ci };
}

/**
 * The identity policy: --identity when given; else a new Action gets `person` (closed by default);
 * an Action deployed without the IDENTITY secret keeps working as it does, `machine`; one with it
 * keeps the value its marker records. An IDENTITY secret whose value setup cannot read back blocks:
 * guessing would either lock the machines out or let any key in.
 */
function identityPlan(snapshot: TenantSnapshot, inputs: SetupInputs, blockers: OmniAuthError[]): IdentityPlan {
  if (inputs.identity !== undefined) return { policy: inputs.identity, from: 'flag' };
  const deployed = deployedIdentity(snapshot.action);
  if (deployed === undefined) return { policy: 'person', from: 'new' };
  if (deployed === 'unknown') {
    blockers.push(new UsageError('identity_unknown',
      `the Action ${actionLabel(snapshot.action, inputs)} has an IDENTITY secret whose value setup cannot read back (Auth0 never shows secret values, and its code records none)`, {
        hint: 'say which policy to keep: --identity person (only keys bound to a person by `omni-auth login --browser`), --identity machine (every key is its own user) or --identity both',
      }));
    return { policy: 'person', from: 'unknown' };
  }
  // No IDENTITY secret: the Action predates the policy and makes every key its own user.
  if (!(snapshot.action?.secrets ?? []).some((s) => s.name === 'IDENTITY')) return { policy: deployed, from: 'legacy' };
  return { policy: deployed, from: 'tenant' };
}

/**
 * The allow-list: --allowed-keys when given, else the one the deployed Action's marker records — a
 * run without the flag must not drop it (the Action would then accept any key). When the Action has
 * an ALLOWED_KEYS secret no marker records, setup cannot know it and asks for the flag.
 */
function allowedKeysPlan(snapshot: TenantSnapshot, inputs: SetupInputs, blockers: OmniAuthError[]): AllowedKeysPlan {
  if (inputs.allowedKeys !== undefined) return { keys: [...new Set(inputs.allowedKeys)].sort(), from: 'flag' };
  const kept = deployedAllowedKeys(snapshot.action);
  if (kept !== undefined) return { keys: kept, from: 'tenant' };
  blockers.push(new UsageError('allowed_keys_unknown',
    `the Action ${actionLabel(snapshot.action, inputs)} has an ALLOWED_KEYS secret whose value setup cannot read back (Auth0 never shows secret values, and its code records none)`, {
      hint: 'pass the allow-list to keep: --allowed-keys <thumbprint>,<thumbprint> (`omni-auth status` prints a machine\'s thumbprint), or --allowed-keys \'\' to accept any key',
    }));
  return { keys: [], from: 'unknown' };
}

const actionLabel = (action: ActionRecord | undefined, inputs: SetupInputs): string => (action ? `${action.name} (${action.id})` : inputs.actionName);

function apiStep({ api }: TenantSnapshot, inputs: SetupInputs): PlanStep {
  if (!api) return step('api', inputs.audience, 'create', Object.keys(API_SETTINGS));
  const fields = (Object.keys(API_SETTINGS) as (keyof typeof API_SETTINGS)[]).filter((k) => api[k] !== API_SETTINGS[k]);
  return step('api', inputs.audience, fields.length > 0 ? 'update' : 'unchanged', fields);
}

export function clientLabel(client: ClientRecord | undefined, inputs: SetupInputs): string {
  return client ? `${client.name ?? '(unnamed)'} (${client.client_id})` : inputs.appName;
}

/** The application fields that differ from what a CLI needs. */
export function applicationChanges(client: ClientRecord): Partial<ClientRecord> {
  const out: Partial<ClientRecord> = {};
  for (const k of Object.keys(APP_SETTINGS) as (keyof typeof APP_SETTINGS)[]) {
    if (client[k] !== APP_SETTINGS[k]) (out as Record<string, unknown>)[k] = APP_SETTINGS[k];
  }
  const grants = client.grant_types ?? [];
  const missingGrants = REQUIRED_GRANTS.filter((g) => !grants.includes(g));
  if (missingGrants.length > 0) out.grant_types = [...grants, ...missingGrants];
  // The tenant's own callbacks stay: ours are added after them (PATCH replaces the list).
  const callbacks = client.callbacks ?? [];
  const missingCallbacks = LOOPBACK_CALLBACKS.filter((c) => !callbacks.includes(c));
  if (missingCallbacks.length > 0) out.callbacks = [...callbacks, ...missingCallbacks];
  return out;
}

function applicationStep(client: ClientRecord | undefined, inputs: SetupInputs): PlanStep {
  if (!client) return step('application', inputs.appName, 'create', [...Object.keys(APP_SETTINGS), 'grant_types', 'callbacks']);
  const fields = Object.keys(applicationChanges(client));
  return step('application', clientLabel(client, inputs), fields.length > 0 ? 'update' : 'unchanged', fields);
}

const depKey = (deps: readonly Dependency[] | undefined): string =>
  (deps ?? []).map((d) => `${d.name}@${d.version}`).sort().join(',');
const secretNames = (names: readonly { name: string }[] | undefined): string => (names ?? []).map((s) => s.name).sort().join(',');

/** The Action's fields that differ from the desired Action ("secrets" when the marker or the names differ). */
export function actionChanges(action: ActionRecord, desired: DesiredAction): string[] {
  const fields: string[] = [];
  if (stripMarker(action.code ?? '') !== stripMarker(desired.code)) fields.push('code');
  if (action.runtime !== ACTION_RUNTIME) fields.push('runtime');
  if (depKey(action.dependencies) !== depKey(desired.dependencies)) fields.push('dependencies');
  const recordedKeys = markerAllowedKeys(action.code)?.join(',');
  if (secretNames(action.secrets) !== secretNames(desired.secrets) || markerDigest(action.code) !== desired.secretsDigest
    || recordedKeys !== desired.allowedKeys.join(',') || markerIdentity(action.code) !== desired.identity) fields.push('secrets');
  // A failed draft is rebuilt by sending it again.
  if (fields.length === 0 && action.status === 'failed') fields.push('build failed');
  return fields;
}

/** Live: the deployed version is deployed and holds every change (Auth0's `all_changes_deployed`). */
export const isLive = (action: ActionRecord): boolean => action.deployed_version?.deployed === true && action.all_changes_deployed !== false;

function actionStep(action: ActionRecord | undefined, inputs: SetupInputs, desired: DesiredAction): PlanStep {
  if (!action) return step('action', inputs.actionName, 'create', ['code', 'runtime', 'dependencies', 'secrets']);
  const target = actionLabel(action, inputs);
  const fields = actionChanges(action, desired);
  if (fields.length > 0) return step('action', target, 'update', fields);
  if (!isLive(action)) return step('action', target, 'deploy', [action.deployed_version ? 'undeployed changes' : 'never deployed']);
  return step('action', target, 'unchanged');
}

/** The conflict when another Action's profile holds the subject token type (Auth0 allows one per type). */
export function profileConflict(subjectTokenType: string, holder: { id: string; name: string; action_id: string }, holderAction?: { name: string }): OmniAuthError {
  const runs = holderAction ? `the Action "${holderAction.name}" (${holder.action_id})` : `the Action ${holder.action_id}`;
  return new OmniAuthError('profile_conflict',
    `the subject token type ${subjectTokenType} is already used by the Token Exchange Profile "${holder.name}" (${holder.id}), which runs ${runs}`, {
      hint: `choose another --subject-token-type (teammates then log in with the same one), or, if "${holder.name}" is stale, delete it `
        + `(DELETE /api/v2/token-exchange-profiles/${holder.id}) and run setup again`,
      exitCode: ExitCode.refused,
      details: { profile_id: holder.id, profile_name: holder.name, action_id: holder.action_id },
    });
}

function profileStep(snapshot: TenantSnapshot, inputs: SetupInputs, blockers: OmniAuthError[]): PlanStep {
  const ours = snapshot.action?.id;
  const holder = snapshot.profiles.find((p) => p.subject_token_type === inputs.subjectTokenType);
  if (holder) {
    const target = `${holder.name} (${holder.id})`;
    if (ours === undefined || holder.action_id !== ours) {
      blockers.push(profileConflict(inputs.subjectTokenType, holder, snapshot.profileHolderAction));
      return step('profile', target, 'blocked', [`${inputs.subjectTokenType} is taken`]);
    }
    return holder.name === inputs.profileName ? step('profile', target, 'unchanged') : step('profile', target, 'update', ['name']);
  }
  // Our profile under another subject token type (the type was changed): re-point it.
  const renamed = snapshot.profiles.find((p) => p.name === inputs.profileName && p.action_id === ours);
  if (renamed) return step('profile', `${renamed.name} (${renamed.id})`, 'update', ['subject_token_type']);
  return step('profile', inputs.profileName, 'create', ['name', 'subject_token_type', 'action_id', 'type']);
}

function tokenExchangeStep(client: ClientRecord | undefined, inputs: SetupInputs): PlanStep {
  const allowed = client?.token_exchange?.allow_any_profile_of_type ?? [];
  return allowed.includes(PROFILE_TYPE)
    ? step('token_exchange', clientLabel(client, inputs), 'unchanged')
    : step('token_exchange', clientLabel(client, inputs), 'update', ['allow_any_profile_of_type']);
}

/**
 * The machines' connection: created when missing (with the Flexible Identifiers options of
 * `connection.ts`), its options brought in line when it is the dedicated `omni-auth-machines`
 * connection, and enabled for the application. A connection named by --connection that exists and is
 * not the dedicated one (say the tenant's own user database) is only enabled: its options serve other
 * users, so setup never rewrites them; doctor says whether it can hold the machines' users.
 */
function connectionStep(snapshot: TenantSnapshot, inputs: SetupInputs, blockers: OmniAuthError[]): PlanStep {
  const { connection } = snapshot;
  if (!connection) return step('connection', inputs.connection, 'create', ['strategy', 'options.attributes', 'options.disable_signup', 'enabled_clients']);
  const target = `${connection.name} (${connection.id})`;
  // Auth0 leaves `options` out of its answer unless the caller has read:connections_options: setup
  // cannot compare them, and a PATCH built without them would wipe the tenant's other options.
  if (managesOptions(connection.name) && connection.options === undefined) {
    blockers.push(new OmniAuthError('connection_options_unreadable',
      `the tenant did not show the options of the connection ${target}, so setup cannot check that the username is its only identifier`, {
        hint: `grant read:connections_options and update:connections_options to the machine-to-machine application (${GRANT_SCOPES_AT}); `
          + 'Auth0 shows and changes a connection\'s options only with these scopes',
        exitCode: ExitCode.refused,
        details: { missing_scopes: ['read:connections_options'] },
      }));
    return step('connection', target, 'blocked', ['options unreadable']);
  }
  const fields = [
    ...(managesOptions(connection.name) ? connectionOptionChanges(connection) : []),
    ...(snapshot.connectionEnabled ? [] : ['enabled_clients']),
  ];
  return step('connection', target, fields.length > 0 ? 'update' : 'unchanged', fields);
}

/** With --rbac: the API's RBAC settings and permissions, and the role (with --role). */
function rbacSteps(snapshot: TenantSnapshot, inputs: SetupInputs): PlanStep[] {
  const { rbac } = inputs;
  if (!rbac) return [];
  const fields = Object.keys(rbacChanges(snapshot.api, rbac));
  const steps = [step('rbac', inputs.audience, fields.length > 0 ? 'update' : 'unchanged', fields)];
  if (rbac.role !== undefined) {
    const role = snapshot.role?.role;
    if (!role) steps.push(step('role', rbac.role, 'create', ['name', 'permissions']));
    else {
      const missing = roleMissing(snapshot.role!, inputs.audience, rbac);
      steps.push(step('role', `${role.name} (${role.id})`, missing.length > 0 ? 'update' : 'unchanged', missing.length > 0 ? ['permissions'] : []));
    }
  }
  return steps;
}

/** Setup owns the options of the dedicated connection only (and of any connection it creates). */
export const managesOptions = (name: string): boolean => name === MACHINES_CONNECTION;

export const hasChanges = (plan: Plan): boolean => plan.steps.some((s) => s.change !== 'unchanged');

/** The Management API scopes the plan's writes need (Auth0's scope for deploy is `create:actions`). */
export function scopesNeeded(plan: Plan): string[] {
  const need = new Set<string>();
  for (const s of plan.steps) {
    if (s.change === 'unchanged' || s.change === 'blocked') continue;
    const create = s.change === 'create';
    switch (s.resource) {
      case 'api': need.add(create ? 'create:resource_servers' : 'update:resource_servers'); break;
      case 'application': need.add(create ? 'create:clients' : 'update:clients'); break;
      case 'action':
        need.add('create:actions');
        if (s.change === 'update') need.add('update:actions');
        break;
      case 'profile': need.add(create ? 'create:token_exchange_profiles' : 'update:token_exchange_profiles'); break;
      case 'token_exchange': need.add('update:clients'); break;
      case 'connection':
        need.add(create ? 'create:connections' : 'update:connections');
        // Enabling the new connection for the application is a PATCH of its clients.
        if (create) need.add('update:connections');
        // Auth0 refuses a PATCH carrying `options` without this scope.
        if (!create && s.fields.some((f) => f.startsWith('options.'))) need.add('update:connections_options');
        break;
      case 'rbac': need.add('update:resource_servers'); break;
      // A new role is created, then given its permissions (POST /roles/{id}/permissions: update:roles).
      case 'role':
        if (create) need.add('create:roles');
        need.add('update:roles');
        break;
      // The service user is looked up first (GET /users: read:users — readCiSnapshot), then created.
      case 'ci_user':
        need.add('read:users');
        need.add('create:users');
        break;
      case 'ci_action':
        need.add('create:actions');
        if (s.change === 'update') need.add('update:actions');
        break;
      case 'ci_profile': need.add('create:token_exchange_profiles'); break;
    }
  }
  // Every user a rule names by id is looked up before any write (GET /users/{id}: read:users — ci-users.ts).
  if (plan.ci?.from === 'flag' && plan.ci.rules.some((r) => typeof r.user === 'string')) need.add('read:users');
  return [...need];
}

/** The plan as `--json` shows it. */
export interface PlanView {
  steps: PlanStep[];
  blockers: Record<string, unknown>[];
  allowed_keys: { keys: string[]; from: AllowedKeysPlan['from'] };
  /** The IDENTITY policy the Action will run with (`unknown`: see the blockers). */
  identity: { policy: IdentityPolicy | 'unknown'; from: IdentityPlan['from'] };
  /** The CI trust rules the tenant will run, one line each (`from`: flag, tenant = kept, none = CI identity off). */
  ci_trust: { from: CiPlan['from']; rules: string[] };
}

export function planView(plan: Plan): PlanView {
  return {
    steps: plan.steps,
    blockers: plan.blockers.map((b) => b.toJSON()),
    allowed_keys: { keys: plan.allowedKeys.keys, from: plan.allowedKeys.from },
    identity: { policy: plan.identity.from === 'unknown' ? 'unknown' : plan.identity.policy, from: plan.identity.from },
    ci_trust: { from: plan.ci.from, rules: plan.ci.lines },
  };
}
