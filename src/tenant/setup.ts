/**
 * The `setup` use case: read the tenant, plan, check the credentials' scopes cover the plan's writes
 * (a gap is a blocker of the plan, so a dry run reports it too), show the plan, stop on a blocker (or
 * after the plan with --dry-run), apply, save the settings `login` reads, and hand back the one line
 * a teammate runs.
 */
import type { HomeFiles } from '../config/home.js';
import { resolveSettings, type SavedSettings } from '../config/settings.js';
import { saveSettings } from '../config/settings-write.js';
import { SUBJECT_TOKEN_TYPE } from '../identity/contract.js';
import { DEFAULT_POLL, type PollOptions } from './action-deploy.js';
import { applyPlan, type AppliedStep } from './apply.js';
import { ManagementClient, type ManagementCredentials, type ManagementOptions } from './management-client.js';
import { missingScopeError } from './management-errors.js';
import { hasChanges, planSetup, planView, scopesNeeded, type Plan, type PlanView, type SetupInputs } from './plan.js';
import { readSnapshot } from './snapshot.js';
import { applyM2m, m2mScopesNeeded, planM2m, readM2mSnapshot, type M2mInputs, type M2mStep } from './m2m.js';
import { readCiSnapshot } from './ci-setup.js';

export interface SetupRequest {
  inputs: SetupInputs;
  credentials: ManagementCredentials;
  dryRun: boolean;
  files: HomeFiles;
  env: NodeJS.ProcessEnv;
  saved: SavedSettings | undefined;
  /** The settings profile the result is saved under (issue 14 §3; default: as the env and file select). */
  profile?: string;
  /** Called once the plan is known, before anything is written (the CLI prints it). */
  onPlan: (plan: Plan) => void;
  progress: (line: string) => void;
  /** `--m2m`: also the machine-to-machine application with Private Key JWT and its client grant (src/tenant/m2m.ts). */
  m2m?: M2mInputs;
  /** Called with the --m2m steps once known, before anything is written. */
  onM2mPlan?: (steps: M2mStep[]) => void;
  management?: Omit<ManagementOptions, 'domain' | 'credentials'>;
  poll?: Partial<PollOptions>;
}

/** The `setup --json` document. */
export interface SetupResult {
  plan: PlanView;
  dry_run: boolean;
  /** Whether write requests were sent (with --dry-run: whether the plan would send any). */
  changed: boolean;
  applied?: AppliedStep[];
  settings?: { domain: string; client_id: string; audience: string; subject_token_type: string; file: string; profile: string };
  login_command?: string;
  /** With --m2m: its steps, and (applied) the application and credential ids — never a secret. */
  m2m?: { steps: M2mStep[]; client_id?: string; credential_id?: string };
}

export async function setup(req: SetupRequest): Promise<SetupResult> {
  const { inputs } = req;
  const mc = await ManagementClient.connect({ ...req.management, domain: inputs.domain, credentials: req.credentials });
  const snapshot = await readSnapshot(mc, {
    audience: inputs.audience,
    ...(inputs.clientId !== undefined ? { clientId: inputs.clientId } : {}),
    appName: inputs.appName,
    actionName: inputs.actionName,
    subjectTokenType: inputs.subjectTokenType,
    connection: inputs.connection,
    ...(inputs.rbac?.role !== undefined ? { role: inputs.rbac.role } : {}),
  });
  // Keyless CI identity: the CI Action and profile always (the plan shows the kept rules), the service users with --ci-trust-file.
  const ciSnapshot = await readCiSnapshot(mc, snapshot.profiles, inputs.ciTrust, inputs.connection);
  const plan = planSetup(snapshot, inputs, ciSnapshot);
  const m2mSnapshot = req.m2m ? await readM2mSnapshot(mc, req.m2m.appName, inputs.audience) : undefined;
  const m2mSteps = req.m2m && m2mSnapshot ? planM2m(m2mSnapshot, req.m2m, inputs.audience) : [];
  // Known only when the token shows its scopes (a JWT's `scope`); otherwise the API's 403 names them.
  const needed = [...new Set([...scopesNeeded(plan), ...m2mScopesNeeded(m2mSteps)])];
  const missing = mc.grantedScopes === undefined ? [] : needed.filter((s) => !mc.grantedScopes!.includes(s));
  if (missing.length > 0) plan.blockers.push(missingScopeError(missing, 'apply this plan; nothing was changed', req.credentials.kind === 'token'));
  req.onPlan(plan);
  if (req.m2m) req.onM2mPlan?.(m2mSteps);
  const m2mChanges = m2mSteps.some((s) => s.change !== 'unchanged');
  // A dry run fails as the real run would: same error, same exit code, nothing written either way.
  if (plan.blockers.length > 0) throw plan.blockers[0];
  if (req.dryRun) return { plan: planView(plan), dry_run: true, changed: hasChanges(plan) || m2mChanges, ...(req.m2m ? { m2m: { steps: m2mSteps } } : {}) };

  const applied = await applyPlan(plan, mc, req.progress, { ...DEFAULT_POLL, ...req.poll });
  const m2mApplied = req.m2m && m2mSnapshot ? await applyM2m(mc, m2mSnapshot, req.m2m, inputs.audience, m2mSteps, req.progress) : undefined;
  if (m2mApplied) {
    const { saveM2mRecord } = await import('../broker/m2m.js');
    await saveM2mRecord(req.files.m2m, { domain: inputs.domain, client_id: m2mApplied.clientId, audience: inputs.audience, credential_id: m2mApplied.credentialId });
  }
  const settings = resolveSettings(
    { ...(req.profile !== undefined ? { profile: req.profile } : {}), domain: inputs.domain, clientId: applied.clientId, audience: inputs.audience, subjectTokenType: inputs.subjectTokenType },
    req.env,
    req.saved,
  );
  await saveSettings(req.files, settings);
  return {
    plan: planView(plan),
    dry_run: false,
    changed: mc.writes > 0,
    applied: applied.steps,
    settings: { domain: settings.domain, client_id: settings.clientId, audience: settings.audience, subject_token_type: settings.subjectTokenType, file: req.files.settings, profile: settings.profile ?? 'default' },
    login_command: loginCommand(settings.domain, settings.clientId, settings.audience, settings.subjectTokenType, settings.profile),
    ...(m2mApplied ? { m2m: { steps: m2mSteps, client_id: m2mApplied.clientId, credential_id: m2mApplied.credentialId } } : {}),
  };
}

/** Quotes a value for a POSIX shell only when it needs it. */
const shellWord = (v: string): string => (/^[A-Za-z0-9_:/.@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** The line a teammate runs; an https domain is shown bare, as people type it. */
export function loginCommand(domain: string, clientId: string, audience: string, subjectTokenType: string, profile?: string): string {
  const shownDomain = domain.startsWith('https://') ? domain.slice('https://'.length) : domain;
  const parts = ['npx', 'omni-auth', 'login', ...(profile !== undefined && profile !== 'default' ? ['--profile', profile] : []), '--domain', shownDomain, '--client-id', clientId, '--audience', audience];
  if (subjectTokenType !== SUBJECT_TOKEN_TYPE) parts.push('--subject-token-type', subjectTokenType);
  return parts.map(shellWord).join(' ');
}
