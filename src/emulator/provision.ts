/**
 * What `omni-auth emulator --provisioned` does: the tenant setup omni-auth's own provisioning makes
 * on a real tenant, applied directly through the Management API's services (so with the same
 * validation), with the Action built and deployed at once instead of after buildMs / deployMs:
 * the machines' connection (enabled for the CLI client; `seed.connection` then names it, and so
 * does the Action's CONNECTION secret), the Action (with its IDENTITY secret), its profile, the
 * client (token exchange; the CLI's loopback callbacks, authorization_code + refresh_token, and
 * `Username-Password-Authentication` enabled for browser sign-in) and the API.
 */
import { randomBytes } from 'node:crypto';
import { OmniAuthError } from '../util/errors.js';
import { desiredAction } from '../tenant/action-bundle.js';
import { CI_ACTION_NAME, CI_PROFILE_NAME, CI_SUBJECT_TOKEN_TYPE, desiredCiAction, serviceUsername } from '../tenant/ci-policy.js';
import { createUser } from './management/users.js';
import { buildStatus, createAction, deployAction } from './management/actions.js';
import { patchClient } from './management/clients.js';
import { connectionByName, createConnection, setConnectionClients } from './management/connections.js';
import { ManagementError } from './management/errors.js';
import { createProfile } from './management/profiles.js';
import { patchResourceServer } from './management/resource-servers.js';
import { CTE_TRIGGER, DEFAULT_ACTION_RUNTIME, PROFILE_TYPE } from './management/rules.js';
import { DEFAULT_CONNECTION, type Tenant } from './state.js';

export const PROVISION_DEFAULTS = {
  subjectTokenType: 'urn:omnispindle:local-auth',
  profileName: 'omnispindle-local-auth',
  actionName: 'omni-auth-custom-token-exchange',
} as const;

/**
 * The machines' connection (CONTRACTS.md §1): a database connection with Flexible Identifiers,
 * username the only identifier (required, 1–64 characters, not email- or phone-shaped), sign-ups
 * disabled, enabled for the CLI client only. `setup` creates the same on a real tenant.
 */
export const MACHINES_CONNECTION = {
  name: 'omni-auth-machines',
  strategy: 'auth0',
  options: {
    attributes: {
      username: {
        identifier: { active: true },
        profile_required: true,
        signup: { status: 'required' },
        validation: { min_length: 1, max_length: 64, allowed_types: { email: false, phone_number: false } },
      },
    },
    disable_signup: true,
  },
} as const;

/** The Action's IDENTITY secret (CONTRACTS-10 §6): who a key's token is for. */
export type IdentityPolicy = 'person' | 'machine' | 'both';
export const IDENTITY_POLICIES: readonly IdentityPolicy[] = ['person', 'machine', 'both'];
/** The emulator's default: `both`, so headless demos and tests keep working without a browser. */
export const DEFAULT_EMULATOR_IDENTITY: IdentityPolicy = 'both';

/** The CLI's loopback callbacks (default port 8765), both spellings, as `setup` registers them. */
export const CLI_CALLBACKS = ['http://127.0.0.1:8765/callback', 'http://localhost:8765/callback'] as const;
const CLI_GRANTS = ['authorization_code', 'refresh_token'] as const;

export interface ProvisionOptions {
  subjectTokenType?: string;
  profileName?: string;
  actionName?: string;
  identity?: IdentityPolicy;
}

function steps(tenant: Tenant, action: { code: string; dependencies: { name: string; version: string }[] }, o: Required<ProvisionOptions>): void {
  // The default database connection stays, as on every real tenant; the machines get their own.
  if (!connectionByName(tenant, DEFAULT_CONNECTION)) {
    throw new OmniAuthError('emulator.provisionFailed', `the seeded connection ${DEFAULT_CONNECTION} is missing`);
  }
  const machines = connectionByName(tenant, MACHINES_CONNECTION.name) ?? createConnection(tenant, structuredClone(MACHINES_CONNECTION));
  setConnectionClients(tenant, machines.id, [{ client_id: tenant.seed.cliClientId, status: true }]);
  tenant.seed.connection = machines.name;
  // Exactly what `omni-auth setup` deploys (secrets and the marker lines that record them, since
  // Auth0 hides secret values), so a later `setup` against this tenant reads its policy back.
  const desired = desiredAction(action, tenant.issuer, tenant.seed.connection, [], o.identity);
  const created = createAction(tenant, {
    name: o.actionName,
    supported_triggers: [{ ...CTE_TRIGGER }],
    code: desired.code,
    runtime: DEFAULT_ACTION_RUNTIME,
    dependencies: action.dependencies,
    secrets: desired.secrets,
  }, { instant: true });
  if (buildStatus(tenant, created) === 'failed') {
    throw new OmniAuthError('emulator.provisionBuildFailed', `the Action did not build: ${created.build_error}`, {
      hint: 'check auth0-actions/custom_token_exchange.js and its package.json dependencies',
    });
  }
  deployAction(tenant, created.id, { instant: true });
  createProfile(tenant, { name: o.profileName, subject_token_type: o.subjectTokenType, action_id: created.id, type: PROFILE_TYPE });
  // Browser sign-in: the loopback callbacks, the code and refresh grants, and the people's connection.
  const cli = tenant.clients.get(tenant.seed.cliClientId)!;
  patchClient(tenant, cli.client_id, {
    token_exchange: { allow_any_profile_of_type: [PROFILE_TYPE] },
    callbacks: [...new Set([...cli.callbacks, ...CLI_CALLBACKS])],
    grant_types: [...new Set([...cli.grant_types, ...CLI_GRANTS])],
  });
  setConnectionClients(tenant, connectionByName(tenant, DEFAULT_CONNECTION)!.id, [{ client_id: cli.client_id, status: true }]);
  tenant.seed.identity = o.identity;
  patchResourceServer(tenant, tenant.seed.audience, { skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true });
}

export async function provisionTenant(
  tenant: Tenant,
  action: { code: string; dependencies: { name: string; version: string }[] },
  options: ProvisionOptions = {},
): Promise<void> {
  try {
    steps(tenant, action, {
      subjectTokenType: options.subjectTokenType ?? PROVISION_DEFAULTS.subjectTokenType,
      profileName: options.profileName ?? PROVISION_DEFAULTS.profileName,
      actionName: options.actionName ?? PROVISION_DEFAULTS.actionName,
      identity: options.identity ?? DEFAULT_EMULATOR_IDENTITY,
    });
  } catch (e) {
    if (!(e instanceof ManagementError)) throw e;
    throw new OmniAuthError('emulator.provisionFailed', `could not provision the emulated tenant: ${e.message}`, { cause: e });
  }
}

/** The demo's CI trust rule (issue 14 §1): the stand-in issuer's default job (acme/api on main). */
export const DEMO_CI_RULE = { claims: { repository: 'acme/api', ref: 'refs/heads/main' }, user: 'acme-api' } as const;

/**
 * Keyless CI identity, provisioned: a service user `ci-acme-api` in the machines' connection, the CI
 * Action (auth0-actions/ci_oidc_exchange.js) with a policy trusting the emulator's stand-in issuer
 * for repository acme/api on refs/heads/main, and its profile for `urn:omni-auth:ci-oidc`. Runs
 * after provisionTenant (the machines' connection must exist).
 */
export async function provisionCi(
  tenant: Tenant,
  action: { code: string; dependencies: { name: string; version: string }[] },
  ciIssuer: string,
): Promise<void> {
  try {
    const user = await createUser(tenant, {
      connection: tenant.seed.connection,
      username: serviceUsername(DEMO_CI_RULE.user),
      // Nobody knows it: the service user signs in only through the CI Action's setUserById.
      password: `${randomBytes(24).toString('base64url')}Aa1!`,
    });
    const desired = desiredCiAction(action, tenant.issuer, [{ issuer: ciIssuer, claims: { ...DEMO_CI_RULE.claims }, user: user.user_id }]);
    const created = createAction(tenant, {
      name: CI_ACTION_NAME,
      supported_triggers: [{ ...CTE_TRIGGER }],
      code: desired.code,
      runtime: DEFAULT_ACTION_RUNTIME,
      dependencies: action.dependencies,
      secrets: desired.secrets,
    }, { instant: true });
    if (buildStatus(tenant, created) === 'failed') {
      throw new OmniAuthError('emulator.provisionBuildFailed', `the CI Action did not build: ${created.build_error}`, {
        hint: 'check auth0-actions/ci_oidc_exchange.js and its package.json dependencies',
      });
    }
    deployAction(tenant, created.id, { instant: true });
    createProfile(tenant, { name: CI_PROFILE_NAME, subject_token_type: CI_SUBJECT_TOKEN_TYPE, action_id: created.id, type: PROFILE_TYPE });
    tenant.seed.ciUser = user.user_id;
  } catch (e) {
    if (!(e instanceof ManagementError)) throw e;
    throw new OmniAuthError('emulator.provisionFailed', `could not provision CI identity: ${e.message}`, { cause: e });
  }
}
