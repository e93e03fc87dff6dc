/**
 * Doctor's checks through the Management API (only with credentials): the Action bound to the
 * profile for the subject token type is deployed, and its identity policy (reported); the API skips
 * consent; the application may use Custom Token Exchange, and allows the browser sign-in (loopback
 * callbacks, authorization_code and refresh_token grants); the machines' connection exists, identifies users by username and is enabled
 * for the application; post-login Actions (they run after every exchange) skip token exchanges.
 * Reads only.
 */
import type { Settings } from '../config/settings.js';
import { loadActionSource } from '../emulator/action-source.js';
import { ExitCode } from '../util/errors.js';
import { markerIdentity, stripMarker, type IdentityPolicy } from './action-bundle.js';
import { MACHINES_CONNECTION, usernameIsIdentifier } from './connection.js';
import { fail, failFrom, pass, skip, warn, type Check } from './doctor-check.js';
import { APP_SETTINGS, LOOPBACK_CALLBACKS, REQUIRED_GRANTS, isLive } from './plan.js';
import type { ManagementClient } from './management-client.js';
import { ManagementApiError } from './management-errors.js';
import { rbacReport } from './rbac.js';
import { PROFILE_TYPE, type ActionRecord } from './records.js';
import { connectionEnabledFor, readActionById, readApi, readClient, readConnection, readProfiles } from './snapshot.js';

const SETUP = 'run `omni-auth setup` to fix it';

export async function checkAction(mc: ManagementClient, settings: Settings, actionDir?: string): Promise<Check> {
  const title = 'Action and profile';
  const profile = (await readProfiles(mc)).find((p) => p.subject_token_type === settings.subjectTokenType);
  if (!profile) return fail('action', title, `no Token Exchange Profile for ${settings.subjectTokenType}`, SETUP, ExitCode.refused);
  const action = await readActionById(mc, profile.action_id);
  const bound = `profile "${profile.name}"`;
  if (!action) return fail('action', title, `${bound} runs the Action ${profile.action_id}, which does not exist`, SETUP, ExitCode.refused);
  const named = `the Action "${action.name}"`;
  if (action.deployed_version?.deployed !== true) {
    return fail('action', title, `${named} (bound to ${bound}) is not deployed`, `${SETUP} (it waits for the build and deploys), or deploy it in Dashboard → Actions → Library`, ExitCode.refused);
  }
  const version = action.deployed_version.number !== undefined ? ` version ${action.deployed_version.number}` : '';
  if (!isLive(action)) {
    return fail('action', title, `${named}${version} is deployed and bound to ${bound}, but has undeployed changes: exchanges run an older version`,
      `${SETUP} (it deploys the latest draft), or deploy it in Dashboard → Actions → Library`, ExitCode.refused);
  }
  const shipped = await loadActionSource(actionDir).then((s) => s.code, () => undefined);
  if (shipped !== undefined && stripMarker(action.code ?? '') !== stripMarker(shipped)) {
    return fail('action', title, `${named}${version} is deployed and bound to ${bound}, but its code is not the Action this omni-auth ships`,
      `${SETUP}: it deploys omni-auth's Action in its place`, ExitCode.refused);
  }
  return pass('action', title, `${named}${version} is deployed and bound to ${bound}`);
}

export async function checkApi(mc: ManagementClient, settings: Settings): Promise<Check> {
  const title = 'API consent';
  const api = await readApi(mc, settings.audience);
  if (!api) return fail('api', title, `the tenant has no API with identifier ${settings.audience}`, `check --audience, or ${SETUP} (it creates the API)`, ExitCode.refused);
  if (api.skip_consent_for_verifiable_first_party_clients !== true) {
    return fail('api', title, `the API ${settings.audience} does not allow skipping user consent: exchanges fail with consent_required`,
      `${SETUP}, or turn on "Allow Skipping User Consent" (Dashboard → Applications → APIs → the API → Settings)`, ExitCode.refused);
  }
  if (api.allow_offline_access !== true) {
    return fail('api', title, `the API ${settings.audience} skips consent but does not allow offline access: no refresh tokens, so every renewal is a new exchange`,
      `${SETUP}, or turn on "Allow Offline Access" (Dashboard → Applications → APIs → the API → Settings)`, ExitCode.refused);
  }
  return pass('api', title, `the API ${settings.audience} skips consent and allows offline access`);
}

/** The application may use Custom Token Exchange: first-party, OIDC-conformant, `custom_authentication` allowed. */
export async function checkApplication(mc: ManagementClient, settings: Settings): Promise<Check> {
  const title = 'application';
  const client = await readClient(mc, settings.clientId);
  const named = `the application ${client.name ? `"${client.name}" ` : ''}(${settings.clientId})`;
  const wrong = (['is_first_party', 'oidc_conformant'] as const).filter((k) => client[k] !== APP_SETTINGS[k]);
  if (wrong.length > 0) {
    return fail('application', title, `${named} is not ${wrong.map((k) => (k === 'is_first_party' ? 'first-party' : 'OIDC-conformant')).join(' or ')}: Custom Token Exchange refuses it`,
      SETUP, ExitCode.refused);
  }
  if (!(client.token_exchange?.allow_any_profile_of_type ?? []).includes(PROFILE_TYPE)) {
    return fail('application', title, `${named} is not allowed to use Custom Token Exchange (token_exchange.allow_any_profile_of_type lacks ${PROFILE_TYPE})`,
      SETUP, ExitCode.refused);
  }
  return pass('application', title, `${named} is first-party, OIDC-conformant and allowed to use Custom Token Exchange`);
}

export async function checkConnection(mc: ManagementClient, settings: Settings, name: string): Promise<Check> {
  const title = 'connection';
  const connection = await readConnection(mc, name);
  const setupCreates = name === MACHINES_CONNECTION ? `${SETUP} (it creates ${name})` : `run \`omni-auth setup\` without --connection: it creates ${MACHINES_CONNECTION}, the machines' own connection`;
  if (!connection) return fail('connection', title, `the tenant has no connection named ${name}`, setupCreates, ExitCode.refused);
  // Auth0 shows `options` only to a caller with read:connections_options: then this part cannot be told.
  const optionsUnknown = connection.options === undefined;
  if (!optionsUnknown && !usernameIsIdentifier(connection)) {
    return fail('connection', title, `the connection ${name} does not have username as an active identifier: the machines' users (a username, no email) `
      + 'can be refused where an email is required', name === MACHINES_CONNECTION ? SETUP : setupCreates, ExitCode.refused);
  }
  if (!(await connectionEnabledFor(mc, connection.id, settings.clientId))) {
    return fail('connection', title, `the connection ${name} is not enabled for the application ${settings.clientId}: users cannot be created`,
      `${SETUP}, or enable it (Dashboard → Authentication → Database → ${name} → Applications)`, ExitCode.refused);
  }
  if (optionsUnknown) {
    return warn('connection', title, `${name} is enabled for the application; its options were not shown, so whether the username is its identifier is unknown`,
      'grant read:connections_options to the Management API application (Auth0 shows a connection\'s options only with it)');
  }
  return pass('connection', title, `${name} identifies users by username and is enabled for the application`);
}

const POST_LOGIN = 'post-login';
/** What a post-login Action must test to leave token exchanges alone. */
export const CTE_PROTOCOL = 'oauth2-token-exchange';
const PER_PAGE = 50;

interface Binding {
  id?: string;
  display_name?: string;
  action?: { id?: string; name?: string };
}

async function readPostLoginBindings(mc: ManagementClient): Promise<Binding[] | undefined> {
  const out: Binding[] = [];
  for (let page = 0; ; page++) {
    const got = await mc.find<{ bindings?: Binding[] }>(`/actions/triggers/${POST_LOGIN}/bindings`, { page, per_page: PER_PAGE });
    if (got === undefined) return page === 0 ? undefined : out;
    const bindings = got.bindings ?? [];
    out.push(...bindings);
    if (bindings.length < PER_PAGE) return out;
  }
}

/** The code that runs: the deployed version's when the API shows it, else the Action's. */
const runningCode = (action: ActionRecord & { deployed_version?: { code?: string } }): string => action.deployed_version?.code ?? action.code ?? '';

/**
 * Post-login Actions run after every successful exchange (Auth0: Custom Token Exchange trigger page),
 * and one that denies, requires MFA or redirects breaks the machines' exchanges. A heuristic: an Action
 * whose code does not mention `oauth2-token-exchange` is assumed not to skip them. Never fails: it
 * warns. Without read:actions it says it could not look.
 */
export async function checkPostLogin(mc: ManagementClient): Promise<Check> {
  const title = 'post-login Actions';
  let bindings: Binding[] | undefined;
  try {
    bindings = await readPostLoginBindings(mc);
  } catch (e) {
    if (e instanceof ManagementApiError && e.errorCode === 'insufficient_scope') {
      return skip('post_login', title, 'not checked: the Management API credentials lack read:actions');
    }
    throw e;
  }
  // No such trigger on the tenant (404): nothing can be bound to it.
  if (bindings === undefined || bindings.length === 0) return pass('post_login', title, 'none bound: nothing runs after the exchange');
  const unsure: string[] = [];
  for (const b of bindings) {
    const label = `"${b.display_name ?? b.action?.name ?? b.id ?? '(unnamed)'}"`;
    const action = b.action?.id ? await readActionById(mc, b.action.id) : undefined;
    if (!action || !runningCode(action).includes(CTE_PROTOCOL)) unsure.push(label);
  }
  const n = bindings.length;
  if (unsure.length === 0) return pass('post_login', title, `${n} bound; each mentions ${CTE_PROTOCOL} (read from their code)`);
  return warn('post_login', title,
    `${unsure.join(', ')} run${unsure.length === 1 ? 's' : ''} after every token exchange and ${unsure.length === 1 ? 'its code does' : 'their code does'} not mention ${CTE_PROTOCOL} `
      + '(a heuristic: it reads the code): if one denies, requires MFA or redirects, the machines\' exchanges fail',
    `in each, return early for token exchanges: \`if (event.transaction.protocol === '${CTE_PROTOCOL}') return;\` (Dashboard → Actions → Library)`);
}

const POLICY_MEANS: Record<IdentityPolicy, string> = {
  person: 'only machine keys a person bound with `omni-auth login --browser` get tokens, for that person',
  machine: 'every machine key is its own user',
  both: 'a key bound to a person gets tokens for that person, any other key for its own machine user',
};

/** The Action's identity policy as far as the Management API shows it (`unknown`: set, value not recorded). */
export interface IdentityReport {
  check: Check;
  policy?: IdentityPolicy | 'unknown';
}

/**
 * The identity policy the Action bound to the profile runs with (its IDENTITY secret, read back from
 * the marker setup writes: Auth0 never shows secret values). Reported, never a failure: which policy
 * is right is the admin's choice. Without the secret, the Action's own default applies — `person` for
 * an Action that knows the policy, `machine` for one deployed before it.
 */
export async function checkIdentity(mc: ManagementClient, settings: Settings): Promise<IdentityReport> {
  const title = 'identity policy';
  const profile = (await readProfiles(mc)).find((p) => p.subject_token_type === settings.subjectTokenType);
  const action = profile ? await readActionById(mc, profile.action_id) : undefined;
  if (!action) return { check: skip('identity', title, 'skipped: no Action is bound to the profile') };
  const code = runningCode(action);
  const hasSecret = (action.secrets ?? []).some((s) => s.name === 'IDENTITY');
  if (hasSecret) {
    const policy = markerIdentity(code);
    if (policy === undefined) {
      return {
        check: warn('identity', title, 'the Action has an IDENTITY secret whose value cannot be read back (Auth0 never shows secret values, and its code records none)',
          'run `omni-auth setup --identity person|machine|both`: it sets the secret and records it'),
        policy: 'unknown',
      };
    }
    return { check: pass('identity', title, `${policy}: ${POLICY_MEANS[policy]} (the Action's IDENTITY secret)`), policy };
  }
  const knowsPolicy = stripMarker(code).includes('IDENTITY');
  const policy: IdentityPolicy = knowsPolicy ? 'person' : 'machine';
  return {
    check: pass('identity', title, `${policy}: ${POLICY_MEANS[policy]} (no IDENTITY secret: ${knowsPolicy ? 'the Action\'s default' : 'the Action predates the policy'}; \`omni-auth setup --identity …\` sets it)`),
    policy,
  };
}

/**
 * What the browser sign-in (`omni-auth login --browser`) needs on the application: the loopback
 * callback URLs and the authorization_code and refresh_token grants. A failure when persons must sign
 * in (policy person or both, or unknown); under `machine` nobody needs to, so a warning.
 */
export async function checkSignIn(mc: ManagementClient, settings: Settings, policy: IdentityPolicy | 'unknown' | undefined): Promise<Check> {
  const title = 'browser sign-in';
  const client = await readClient(mc, settings.clientId);
  const named = `the application ${client.name ? `"${client.name}" ` : ''}(${settings.clientId})`;
  const callbacks = LOOPBACK_CALLBACKS.filter((c) => !(client.callbacks ?? []).includes(c));
  const grants = REQUIRED_GRANTS.filter((g) => !(client.grant_types ?? []).includes(g));
  if (callbacks.length === 0 && grants.length === 0) {
    return pass('sign_in', title, `${named} allows the loopback callbacks (port 8765) and the authorization_code and refresh_token grants`);
  }
  const lacks = [
    ...(callbacks.length > 0 ? [`the callback URL${callbacks.length > 1 ? 's' : ''} ${callbacks.join(', ')}`] : []),
    ...(grants.length > 0 ? [`the grant${grants.length > 1 ? 's' : ''} ${grants.join(', ')}`] : []),
  ].join(' and ');
  const fix = `${SETUP} (it adds them and keeps the application's own), or add them in Dashboard → Applications → the application → Settings `
    + '(Allowed Callback URLs; Advanced Settings → Grant Types)';
  if (policy === 'machine') {
    return warn('sign_in', title, `${named} lacks ${lacks}: \`omni-auth login --browser\` cannot sign anyone in (not needed under the machine policy)`, fix);
  }
  return fail('sign_in', title, `${named} lacks ${lacks}: \`omni-auth login --browser\` cannot sign anyone in, so no key can be bound to a person`, fix, ExitCode.refused);
}

/** Runs each check; a Management API failure (a missing scope, say) becomes that check's failure. */
/**
 * Whether access tokens for the API will carry `permissions` (RBAC on, an `_authz` dialect), and which
 * permissions the API defines. A report: RBAC is optional, so only "on without the claim" warns (a
 * server checking `permissions` would refuse every tool).
 */
export async function checkRbac(mc: ManagementClient, settings: Settings): Promise<Check> {
  const title = 'RBAC permissions';
  const api = await readApi(mc, settings.audience);
  if (!api) return skip('rbac', title, `skipped: the tenant has no API with identifier ${settings.audience}`);
  const r = rbacReport(api);
  const defined = r.permissions.length > 0 ? `permissions defined: ${r.permissions.join(', ')}` : 'no permissions defined';
  const RBAC = '`omni-auth setup --rbac --permissions tool:<name>,… --role <name>`, or Dashboard → Applications → APIs → the API → RBAC Settings';
  if (!r.on) return pass('rbac', title, `RBAC is off for ${settings.audience}: tokens carry no permissions claim (${defined}); per-tool permissions need ${RBAC}`);
  if (!r.claim) {
    return warn('rbac', title, `RBAC is on for ${settings.audience} but the token dialect ${r.dialect} leaves permissions out of access tokens (${defined})`,
      `turn on "Add Permissions in the Access Token": run ${RBAC}`);
  }
  return pass('rbac', title, `RBAC is on for ${settings.audience} and tokens carry permissions (token dialect ${r.dialect}); ${defined}`);
}

export async function managementChecks(mc: ManagementClient, settings: Settings, connection: string, actionDir?: string): Promise<Check[]> {
  const guarded = async (id: string, title: string, run: () => Promise<Check>): Promise<Check> =>
    run().catch((e: unknown) => failFrom(id, title, e, 'check the Management API credentials'));
  let policy: IdentityPolicy | 'unknown' | undefined;
  return [
    await guarded('action', 'Action and profile', () => checkAction(mc, settings, actionDir)),
    await guarded('identity', 'identity policy', async () => {
      const r = await checkIdentity(mc, settings);
      policy = r.policy;
      return r.check;
    }),
    await guarded('api', 'API consent', () => checkApi(mc, settings)),
    await guarded('rbac', 'RBAC permissions', () => checkRbac(mc, settings)),
    await guarded('application', 'application', () => checkApplication(mc, settings)),
    await guarded('sign_in', 'browser sign-in', () => checkSignIn(mc, settings, policy)),
    await guarded('connection', 'connection', () => checkConnection(mc, settings, connection)),
    await guarded('post_login', 'post-login Actions', () => checkPostLogin(mc)),
  ];
}
