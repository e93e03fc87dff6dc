/**
 * Actions: create, update, build, deploy and delete — the services behind the Actions routes and
 * provisionTenant. A build's status is derived from the time it started: `pending` for the first
 * third of `settings.buildMs`, `building` until it has elapsed, then `built` (or `failed`). A deploy
 * adds a version (`current_version` at once, `deployed: false`) that goes live after
 * `settings.deployMs`; until then the previous live version stays `deployed_version`, and is what the
 * exchange runs (no outage on redeploy; docs/emulator-management.md, choice 10).
 */
import { randomUUID } from 'node:crypto';
import { buildAction } from '../action-runtime.js';
import { nowIso, type Action, type ActionBuildStatus, type ActionSecret, type ActionVersion, type Tenant } from '../state.js';
import { fail } from './errors.js';
import {
  ACTION_BOUND, ACTION_IN_USE, ACTION_NAME_MAX, ACTION_RUNTIMES, ACTION_TRIGGERS, BUILD_ERROR_ID, DEFAULT_ACTION_RUNTIME,
  DEPLOY_NOT_BUILT, DUPLICATE_ACTION_NAME, NO_ACTION, SECRET_NAME_MAX, SECRET_VALUE_MAX,
} from './rules.js';
import { BodyReader } from './validate.js';

/** Settle the build or the deploy at once instead of after buildMs / deployMs (provisioning). */
export interface Timing {
  instant?: boolean;
}

type Dependency = Action['dependencies'][number];

interface ActionFields {
  name?: string;
  supported_triggers?: Action['supported_triggers'];
  code?: string;
  runtime?: string;
  dependencies?: Dependency[];
  secrets?: { name: string; value: string }[];
}

const WRITABLE = ['name', 'supported_triggers', 'code', 'runtime', 'dependencies', 'secrets'] as const;
/** Fields whose change makes a new build. */
const BUILD_INPUTS = ['supported_triggers', 'code', 'runtime', 'dependencies', 'secrets'] as const;

function unique(r: BodyReader, key: string, names: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw r.problem(key, `Duplicate name: ${name}`);
    seen.add(name);
  }
}

function readActionFields(body: unknown, creating: boolean): ActionFields {
  const r = new BodyReader(body, WRITABLE);
  const fields: ActionFields = {};
  const name = r.string('name', { min: 1, max: ACTION_NAME_MAX, required: creating });
  if (name !== undefined) fields.name = name;
  const triggers = r.objects('supported_triggers', ['id', 'version'], { min: 1, max: 1, required: creating });
  if (triggers !== undefined) {
    fields.supported_triggers = triggers.map((t) => {
      const id = t.string('id', { min: 1, required: true });
      const version = t.string('version', { min: 1, required: true });
      // The emulator runs these triggers only (custom-token-exchange v1, post-login v3).
      if (!ACTION_TRIGGERS.some((t) => t.id === id && t.version === version)) {
        const known = ACTION_TRIGGERS.map((t) => `${t.id}@${t.version}`).join(', ');
        throw r.problem('supported_triggers', `Unsupported trigger ${id}@${version}; the emulator supports ${known}`);
      }
      return { id, version };
    });
  }
  const code = r.string('code');
  if (code !== undefined) fields.code = code;
  const runtime = r.oneOf('runtime', ACTION_RUNTIMES);
  if (runtime !== undefined) fields.runtime = runtime;
  const dependencies = r.objects('dependencies', ['name', 'version']);
  if (dependencies !== undefined) {
    fields.dependencies = dependencies.map((d) => ({
      name: d.string('name', { min: 1, max: 214, required: true }),
      version: d.string('version', { min: 1, max: 256, required: true }),
    }));
    unique(r, 'dependencies', fields.dependencies.map((d) => d.name));
  }
  const secrets = r.objects('secrets', ['name', 'value']);
  if (secrets !== undefined) {
    fields.secrets = secrets.map((s) => ({
      name: s.string('name', { min: 1, max: SECRET_NAME_MAX, required: true }),
      value: s.string('value', { max: SECRET_VALUE_MAX, required: true }),
    }));
    unique(r, 'secrets', fields.secrets.map((s) => s.name));
  }
  return fields;
}

export function findAction(tenant: Tenant, id: string): Action {
  const action = tenant.actions.get(id);
  if (!action) throw fail(NO_ACTION);
  return action;
}

function checkNameFree(tenant: Tenant, name: string, self?: Action): void {
  for (const other of tenant.actions.values()) {
    if (other !== self && other.name === name) throw fail(DUPLICATE_ACTION_NAME);
  }
}

/** Starts a build now: the outcome is decided at once and shown when buildMs has elapsed. */
function startBuild(tenant: Tenant, action: Action, timing: Timing): void {
  action.build_started_at = Date.now() - (timing.instant ? tenant.settings.buildMs : 0);
  const forced = tenant.settings.failNextBuild;
  if (forced !== undefined) {
    delete tenant.settings.failNextBuild;
    action.build_error = forced;
    return;
  }
  const result = buildAction(action.code, action.dependencies, action.runtime);
  if (result.ok) delete action.build_error;
  else action.build_error = result.error;
}

export function buildStatus(tenant: Tenant, action: Action): ActionBuildStatus {
  const elapsed = Date.now() - action.build_started_at;
  const { buildMs } = tenant.settings;
  if (elapsed < buildMs / 3) return 'pending';
  if (elapsed < buildMs) return 'building';
  return action.build_error === undefined ? 'built' : 'failed';
}

const withTimestamp = (secrets: { name: string; value: string }[], at: string): ActionSecret[] =>
  secrets.map(({ name, value }) => ({ name, value, updated_at: at }));

export function createAction(tenant: Tenant, body: unknown, timing: Timing = {}): Action {
  const fields = readActionFields(body, true);
  checkNameFree(tenant, fields.name!);
  const now = nowIso();
  const action: Action = {
    id: randomUUID(),
    name: fields.name!,
    supported_triggers: fields.supported_triggers!,
    code: fields.code ?? '',
    runtime: fields.runtime ?? DEFAULT_ACTION_RUNTIME,
    dependencies: fields.dependencies ?? [],
    secrets: withTimestamp(fields.secrets ?? [], now),
    created_at: now,
    updated_at: now,
    build_started_at: 0,
    versions: [],
  };
  startBuild(tenant, action, timing);
  tenant.actions.set(action.id, action);
  return action;
}

/**
 * PATCH: the fields given replace the stored ones; `secrets`, when given, is the whole new list
 * (secrets left out are removed). Any change but the name starts a new build.
 */
export function updateAction(tenant: Tenant, id: string, body: unknown): Action {
  const action = findAction(tenant, id);
  const fields = readActionFields(body, false);
  if (fields.name !== undefined) checkNameFree(tenant, fields.name, action);
  const now = nowIso();
  const { secrets, ...rest } = fields;
  Object.assign(action, rest, secrets === undefined ? {} : { secrets: withTimestamp(secrets, now) });
  action.updated_at = now;
  if (BUILD_INPUTS.some((k) => fields[k] !== undefined)) startBuild(tenant, action, {});
  return action;
}

/**
 * Makes `version` the live one, in place of the previous live version — unless a later version went
 * live first (a deploy with a shorter deployMs, or an instant one, overtook it).
 */
function goLive(action: Action, version: ActionVersion): void {
  const previous = action.deployed_version;
  if (previous && previous.number > version.number) return;
  if (previous) previous.deployed = false;
  version.deployed = true;
  version.deployed_at = nowIso();
  action.deployed_version = version;
}

/** Snapshots the built draft into a new version and deploys it (live after deployMs). */
export function deployAction(tenant: Tenant, id: string, timing: Timing = {}): ActionVersion {
  const action = findAction(tenant, id);
  if (buildStatus(tenant, action) !== 'built') throw fail(DEPLOY_NOT_BUILT);
  const version: ActionVersion = {
    id: randomUUID(),
    number: action.versions.length + 1,
    action_id: action.id,
    code: action.code,
    runtime: action.runtime,
    dependencies: action.dependencies.map((d) => ({ ...d })),
    secrets: action.secrets.map((s) => ({ ...s })),
    status: 'built',
    deployed: false,
    created_at: nowIso(),
  };
  action.versions.push(version);
  if (timing.instant || tenant.settings.deployMs <= 0) goLive(action, version);
  else setTimeout(() => goLive(action, version), tenant.settings.deployMs).unref();
  return version;
}

/**
 * Refused while a token exchange profile uses the Action, and while a trigger binds it unless
 * `force` (Auth0's `?force=true` detaches the bindings).
 */
export function deleteAction(tenant: Tenant, id: string, force = false): void {
  findAction(tenant, id);
  if ([...tenant.profiles.values()].some((p) => p.action_id === id)) throw fail(ACTION_IN_USE);
  const bound = [...tenant.triggerBindings.values()].some((list) => list.some((b) => b.action_id === id));
  if (bound && !force) throw fail(ACTION_BOUND);
  for (const [trigger, list] of tenant.triggerBindings) tenant.triggerBindings.set(trigger, list.filter((b) => b.action_id !== id));
  tenant.actions.delete(id);
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const secretPairs = (secrets: ActionSecret[]): string[][] => secrets.map((s) => [s.name, s.value]).sort();

function allChangesDeployed(action: Action): boolean {
  const v = action.deployed_version;
  return v !== undefined && v.deployed && v.code === action.code && v.runtime === action.runtime
    && sameJson(v.dependencies, action.dependencies) && sameJson(secretPairs(v.secrets), secretPairs(action.secrets));
}

// ---- JSON as the API shows it: secrets by name only, never their values ----

const secretView = ({ name, updated_at }: ActionSecret): Record<string, string> => ({ name, updated_at });

export function versionView(version: ActionVersion, action: Action): Record<string, unknown> {
  return {
    id: version.id,
    action_id: version.action_id,
    code: version.code,
    dependencies: version.dependencies,
    deployed: version.deployed,
    number: version.number,
    built_at: version.created_at,
    secrets: version.secrets.map(secretView),
    status: version.status,
    created_at: version.created_at,
    updated_at: version.deployed_at ?? version.created_at,
    runtime: version.runtime,
    supported_triggers: action.supported_triggers,
  };
}

/** The deploy answer: the new version with a summary of its Action. */
export function deployedView(version: ActionVersion, action: Action): Record<string, unknown> {
  const { id, name, supported_triggers, created_at, updated_at } = action;
  return { ...versionView(version, action), action: { id, name, supported_triggers, created_at, updated_at, all_changes_deployed: allChangesDeployed(action) } };
}

export function actionView(tenant: Tenant, action: Action): Record<string, unknown> {
  const status = buildStatus(tenant, action);
  const latest = action.versions.at(-1);
  return {
    id: action.id,
    name: action.name,
    supported_triggers: action.supported_triggers,
    created_at: action.created_at,
    updated_at: action.updated_at,
    code: action.code,
    dependencies: action.dependencies,
    runtime: action.runtime,
    status,
    secrets: action.secrets.map(secretView),
    ...(status === 'built' ? { built_at: new Date(action.build_started_at + tenant.settings.buildMs).toISOString() } : {}),
    ...(status === 'failed' ? { errors: [{ id: BUILD_ERROR_ID, msg: action.build_error }] } : {}),
    ...(latest === undefined ? {} : {
      current_version: {
        id: latest.id, code: latest.code, runtime: latest.runtime, status: 'BUILT', number: latest.number,
        build_time: latest.created_at, created_at: latest.created_at, updated_at: latest.deployed_at ?? latest.created_at,
      },
    }),
    ...(action.deployed_version === undefined ? {} : { deployed_version: versionView(action.deployed_version, action) }),
    all_changes_deployed: allChangesDeployed(action),
  };
}
