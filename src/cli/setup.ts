/** `omni-auth setup`: resolve the inputs, run the use case, print the plan and the line for teammates. */
import { issuerOf, normalizeDomain } from '../config/domain.js';
import { pickSetting, readSavedSettings, selectedValues, selectProfile, type SavedSettings, type SettingsFlags } from '../config/settings.js';
import { SUBJECT_TOKEN_TYPE } from '../identity/contract.js';
import {
  label, parseAllowedKeys, parseIdentity, parsePermissions, planView, readActionSource, readCiActionSource, readTrustFile, setup, type Plan, type PlanStep, type SetupInputs,
} from '../tenant/index.js';
import { UsageError, isOmniAuthError } from '../util/errors.js';
import { managementCredentials, type ManagementFlags } from './admin-options.js';
import { homeContext } from './context.js';
import { dim, green, info, red, yellow } from './output.js';

export interface SetupFlags extends SettingsFlags, ManagementFlags {
  connection: string;
  profileName: string;
  allowedKeys?: string;
  identity?: string;
  dryRun?: boolean;
  json?: boolean;
  actionDir?: string;
  rbac?: boolean;
  permissions?: string;
  role?: string;
  /** Issue 12 §4: the machine-to-machine application with Private Key JWT (src/tenant/m2m.ts). */
  m2m?: boolean;
  ciTrustFile?: string;
}

export const ACTION_NAME = 'omni-auth-custom-token-exchange';
/** The name of the application setup creates when no --client-id is given (and finds again next time). */
export const APP_NAME = 'omni-auth';

export async function runSetup(flags: SetupFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const files = homeContext(env);
  const saved = await readSavedSettings(files.settings);
  const inputs = await setupInputs(flags, env, saved);
  const credentials = managementCredentials(flags, env);
  if (!credentials) {
    throw new UsageError('mgmt_credentials_missing', 'setup needs Management API credentials', {
      hint: 'set AUTH0_MGMT_CLIENT_ID and AUTH0_MGMT_CLIENT_SECRET (a machine-to-machine application authorized for the Auth0 Management API), or AUTH0_MGMT_TOKEN',
    });
  }
  let plan: Plan | undefined;
  const m2m = flags.m2m ? await m2mInputs(files, env, Boolean(flags.dryRun)) : undefined;
  try {
    const result = await setup({
      inputs, credentials, dryRun: Boolean(flags.dryRun), files, env, saved, profile: selectProfile(flags, env, saved).name,
      ...(m2m ? { m2m, onM2mPlan: (steps: { resource: string; target: string; change: PlanStep['change']; fields: string[] }[]) => { if (!flags.json) printM2mPlan(steps); } } : {}),
      onPlan: (p) => {
        plan = p;
        if (!flags.json) printPlan(p);
      },
      progress: info,
    });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    if (result.dry_run) {
      info(result.changed ? dim('dry run: nothing was changed') : 'nothing to change');
      return;
    }
    info(result.changed ? `${green('✓')} tenant ${inputs.domain} is set up` : 'nothing to change: the tenant is already set up');
    info(`  settings saved to ${result.settings!.file}`);
    if (result.m2m?.client_id) {
      info(`  machine-to-machine application ${result.m2m.client_id}: Private Key JWT with ${files.clientKey} (no secret)`);
      info('  services on this machine run: omni-auth token --grant client-credentials');
    }
    info('  teammates run:');
    process.stdout.write(`${result.login_command}\n`);
  } catch (e) {
    if (flags.json && isOmniAuthError(e)) {
      process.stdout.write(`${JSON.stringify({ ...(plan ? { plan: planView(plan) } : {}), dry_run: Boolean(flags.dryRun), error: e.toJSON() })}\n`);
    }
    throw e;
  }
}

/**
 * The --m2m inputs: this home's client key (created now, 0600, unless a dry run — which plans with the
 * key only if it already exists) and the names setup finds its objects by.
 */
async function m2mInputs(files: ReturnType<typeof homeContext>, env: NodeJS.ProcessEnv, dryRun: boolean) {
  const { loadOrCreateClientKey, readClientKey } = await import('../identity/client-key.js');
  const { M2M_APP_NAME, credentialNameOf } = await import('../tenant/m2m.js');
  const key = dryRun ? await readClientKey(files.clientKey, env) : await loadOrCreateClientKey(files.clientKey, env);
  if (key && 'created' in key && key.created) info(`created the client key ${files.clientKey} (RSA, 0600): its public half becomes the application's credential`);
  return {
    appName: M2M_APP_NAME,
    credentialName: key ? credentialNameOf(key.fingerprint) : 'omni-auth-<new client key>',
    ...(key ? { publicPem: key.publicPem } : {}),
    scopes: [],
  };
}

function printM2mPlan(steps: { resource: string; target: string; change: PlanStep['change']; fields: string[] }[]): void {
  const names: Record<string, string> = { m2m_application: 'M2M application', m2m_credential: 'M2M credential', m2m_client_grant: 'client grant' };
  for (const s of steps) {
    const what = s.fields.length > 0 && s.change !== 'create' ? `${s.change}: ${s.fields.join(', ')}` : s.change;
    info(`  ${MARK[s.change]((names[s.resource] ?? s.resource).padEnd(16))}  ${s.target}  ${dim(what)}`);
  }
}

function required(value: { value: string } | undefined, message: string, hint: string): string {
  if (!value) throw new UsageError('settings_missing', message, { hint });
  return value.value;
}

async function setupInputs(flags: SetupFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined): Promise<SetupInputs> {
  const domainSetting = pickSetting('domain', flags, env, saved);
  const domain = normalizeDomain(required(domainSetting, 'setup needs --domain', 'pass the tenant domain, e.g. --domain tenant.eu.auth0.com'), domainSetting!.label);
  // Saved settings of another tenant say nothing about this one (those of the profile being set up).
  const mine = selectedValues(flags, env, saved);
  const sameTenant = mine?.domain !== undefined && sameDomain(mine.domain, domain) ? saved : undefined;
  const audience = required(pickSetting('audience', flags, env, sameTenant), 'setup needs --audience',
    'pass the identifier of the API the MCP server accepts, e.g. --audience https://mcp.example.com (it is created when missing)');
  const clientId = pickSetting('clientId', flags, env, sameTenant)?.value;
  const subjectTokenType = pickSetting('subjectTokenType', flags, env, sameTenant)?.value ?? SUBJECT_TOKEN_TYPE;
  if (!/^(https:\/\/|urn:)/.test(subjectTokenType)) {
    throw new UsageError('invalid_subject_token_type', `--subject-token-type "${subjectTokenType}" must start with https:// or urn:`, { hint: `the default is ${SUBJECT_TOKEN_TYPE}` });
  }
  const issuer = issuerOf(domain);
  // No --allowed-keys: keep the tenant's allow-list (the plan reads it back); --allowed-keys '' clears it.
  const allowedKeys = flags.allowedKeys === undefined ? undefined : parseAllowedKeys(flags.allowedKeys);
  // No --identity: keep the deployed Action's policy (person on a new Action; the plan says which).
  const identity = flags.identity === undefined ? undefined : parseIdentity(flags.identity);
  const actionDir = flags.actionDir ?? (env.OMNI_AUTH_ACTION_DIR?.trim() || undefined);
  const rbac = rbacInputs(flags);
  // No --ci-trust-file: the tenant's CI policy (if any) is kept untouched.
  const ci = flags.ciTrustFile === undefined ? undefined : { ciTrust: await readTrustFile(flags.ciTrustFile), ciAction: await readCiActionSource(actionDir) };
  return {
    ...(ci ?? {}),
    domain, issuer, audience,
    ...(clientId !== undefined ? { clientId } : {}),
    appName: APP_NAME,
    connection: flags.connection,
    subjectTokenType,
    profileName: flags.profileName,
    actionName: ACTION_NAME,
    action: await readActionSource(actionDir),
    ...(allowedKeys !== undefined ? { allowedKeys } : {}),
    ...(identity !== undefined ? { identity } : {}),
    ...(rbac !== undefined ? { rbac } : {}),
  };
}

/** `--rbac [--permissions a,b] [--role NAME]`; the two others mean nothing without --rbac. */
function rbacInputs(flags: SetupFlags): SetupInputs['rbac'] {
  if (!flags.rbac) {
    if (flags.permissions !== undefined || flags.role !== undefined) {
      throw new UsageError('rbac_flag_missing', `${flags.permissions !== undefined ? '--permissions' : '--role'} needs --rbac`, {
        hint: 'e.g. omni-auth setup --rbac --permissions tool:echo,tool:add --role mcp-tools',
      });
    }
    return undefined;
  }
  const permissions = flags.permissions === undefined ? [] : parsePermissions(flags.permissions);
  const role = flags.role?.trim();
  if (flags.role !== undefined && !role) throw new UsageError('invalid_role', '--role needs a name', { hint: 'e.g. --role mcp-tools' });
  if (role !== undefined && permissions.length === 0) {
    throw new UsageError('rbac_permissions_missing', '--role needs --permissions: the permissions the role holds', { hint: 'e.g. --rbac --permissions tool:echo,tool:add --role mcp-tools' });
  }
  return { permissions, ...(role !== undefined ? { role } : {}) };
}

function sameDomain(saved: string, origin: string): boolean {
  try {
    return normalizeDomain(saved) === origin;
  } catch {
    return false;
  }
}

const MARK: Record<PlanStep['change'], (s: string) => string> = {
  create: (s) => green(`+ ${s}`), update: (s) => yellow(`~ ${s}`), deploy: (s) => yellow(`↑ ${s}`), unchanged: (s) => dim(`= ${s}`), blocked: (s) => red(`✗ ${s}`),
};

function printPlan(plan: Plan): void {
  info(`Plan for ${plan.inputs.domain}:`);
  const width = Math.max(...plan.steps.map((s) => label(s.resource).length));
  const targetWidth = Math.max(...plan.steps.map((s) => s.target.length));
  for (const s of plan.steps) {
    const what = s.fields.length > 0 && s.change !== 'create' ? `${s.change}: ${s.fields.join(', ')}` : s.change;
    info(`  ${MARK[s.change](label(s.resource).padEnd(width))}  ${s.target.padEnd(targetWidth)}  ${dim(what)}`);
  }
  info(dim(`  identity policy: ${identityText(plan)}`));
  info(dim(`  allowed keys: ${allowedKeysText(plan)}`));
  if (plan.inputs.rbac) info(dim(`  RBAC: tokens for ${plan.inputs.audience} carry the person's permissions${plan.inputs.rbac.permissions.length > 0 ? ` (defined: ${plan.inputs.rbac.permissions.join(', ')})` : ''}`));
  info(dim(`  CI trust policy: ${ciText(plan)}`));
  for (const line of plan.ci.lines) info(dim(`    ${line}`));
  // The first blocker is the error the command ends with; the others would otherwise go unseen.
  for (const b of plan.blockers.slice(1)) info(`  ${red('✗')} ${b.message}${b.hint ? ` ${dim(`(${b.hint})`)}` : ''}`);
}

const POLICY_MEANS: Record<Plan['identity']['policy'], string> = {
  person: 'only machine keys a person bound with `omni-auth login --browser` get tokens, for that person',
  machine: 'every machine key is its own user',
  both: 'a bound key gets tokens for its person, any other key for its own machine user',
};

function identityText({ identity: { policy, from } }: Plan): string {
  if (from === 'unknown') return 'unknown (see below)';
  const source = {
    flag: '', new: ' (a new Action: closed by default; --identity changes it)', tenant: ' (kept from the tenant; --identity changes it)',
    legacy: ' (kept: the deployed Action predates the policy and makes every key its own user; --identity person closes it)',
  }[from];
  return `${policy}: ${POLICY_MEANS[policy]}${source}`;
}

function ciText({ ci }: Plan): string {
  if (ci.from === 'none') return 'none: CI identity is off (--ci-trust-file turns it on)';
  const n = `${ci.rules.length} rule${ci.rules.length === 1 ? '' : 's'}`;
  return ci.from === 'tenant' ? `${n} (kept from the tenant; --ci-trust-file replaces them)` : `${n}, first match wins`;
}

function allowedKeysText({ allowedKeys: { keys, from } }: Plan): string {
  if (from === 'unknown') return 'unknown (see below)';
  const list = keys.length > 0 ? keys.join(', ') : 'none, any machine key is accepted';
  return from === 'tenant' ? `${list} (kept from the tenant; --allowed-keys changes it)` : list;
}
