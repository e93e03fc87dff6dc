/**
 * `setup --ci-trust-file` (issue 14 §1): the CI part of the plan and its application. Three kinds of
 * step, after the machine steps (the machines' connection must exist first):
 *
 *   ci_user     one per `{"create": name}` rule whose service user does not exist yet: a user
 *               `ci-<name>` in the machines' connection (argued in docs/ci-oidc.md: username-only, no
 *               email — so no password-reset or verification mail can reach anyone —, sign-ups off,
 *               already enabled for the CLI application), with a random password nobody keeps;
 *   ci_action   the second Action (auth0-actions/ci_oidc_exchange.js) with CI_TRUST_POLICY, created,
 *               updated when its code or policy differ, built and deployed;
 *   ci_profile  the Token Exchange Profile `urn:omni-auth:ci-oidc` → that Action.
 *
 * Every user a rule names by id is looked up first (ci-users.ts): one that does not exist, is blocked,
 * or is a person's account without the rule's `"allow_person": true` is a blocker (exit 3), so nothing
 * is written; the plan shows each rule's user with its connection.
 *
 * Without the flag, nothing CI is planned or written: the deployed policy stays as it is (Auth0 hides
 * secret values; the marker in the Action's code is what `doctor` and the plan show).
 */
import { randomBytes } from 'node:crypto';
import { ExitCode, OmniAuthError } from '../util/errors.js';
import { deployAndWait, waitUntilBuilt, type PollOptions } from './action-deploy.js';
import type { ActionSource } from './action-bundle.js';
import {
  CI_ACTION_NAME, CI_PROFILE_NAME, CI_SUBJECT_TOKEN_TYPE, checkPolicySize, deployedRules, desiredCiAction, markerCiPolicy, ruleLines,
  serviceUsername, type DeployedRule, type TrustRule,
} from './ci-policy.js';
import { lookupRuleUsers, ruleUserError, ruleUserNote, ruleUserProblem, type RuleUserInfo } from './ci-users.js';
import type { ManagementClient } from './management-client.js';
import { ACTION_RUNTIME, CTE_TRIGGER, PROFILE_TYPE, type ActionRecord, type ProfileRecord } from './records.js';
import { readAction } from './snapshot.js';

const enc = encodeURIComponent;

export interface CiSnapshot {
  action?: ActionRecord;
  /** The profile holding `urn:omni-auth:ci-oidc`, if any. */
  profile?: ProfileRecord;
  /** Existing service users by create-name (only looked up with --ci-trust-file). */
  users: Map<string, string>;
  /** The users rules name by id, as GET /users/{id} found them (only with --ci-trust-file and read:users). */
  named?: Map<string, RuleUserInfo>;
  /** The machines' connection: where service users live (any other is a person's account). */
  connection?: string;
}

export interface CiPlan {
  /** The rules the tenant will run: `flag` (--ci-trust-file), `tenant` (kept), `none` (CI identity off). */
  from: 'flag' | 'tenant' | 'none';
  rules: (TrustRule | DeployedRule)[];
  lines: string[];
  snapshot: CiSnapshot;
  source?: ActionSource;
  /** Create-names of the service users to create. */
  create: string[];
  /** Rules whose named user cannot stand (missing, blocked, a person's without allow_person): blockers. */
  problems: OmniAuthError[];
}

interface UserRecord { user_id: string; username?: string; blocked?: boolean; identities?: { connection?: string }[] }

export async function readCiSnapshot(mc: ManagementClient, profiles: readonly ProfileRecord[], rules: readonly TrustRule[] | undefined, connection: string): Promise<CiSnapshot> {
  const action = await readAction(mc, CI_ACTION_NAME);
  const profile = profiles.find((p) => p.subject_token_type === CI_SUBJECT_TOKEN_TYPE);
  const users = new Map<string, string>();
  // The existing service users found for {"create": …} rules, by id: a blocked one is refused too.
  const found = new Map<string, RuleUserInfo>();
  // A token whose `scope` shows no read:users cannot look: every service user is planned as new, and
  // scopesNeeded's read:users makes the plan's missing-scope blocker, before anything is written.
  if (mc.grantedScopes !== undefined && !mc.grantedScopes.includes('read:users')) return { ...(action ? { action } : {}), ...(profile ? { profile } : {}), users, connection };
  for (const rule of rules ?? []) {
    if (typeof rule.user === 'string' || users.has(rule.user.create)) continue;
    const username = serviceUsername(rule.user.create);
    const answer = await mc.get<UserRecord[] | { users?: UserRecord[] }>('/users', { q: `username:"${username}"`, search_engine: 'v3' });
    const list = Array.isArray(answer) ? answer : answer.users ?? [];
    const user = list.find((u) => u.username === username && (u.identities ?? []).some((i) => i.connection === connection));
    if (user) {
      users.set(rule.user.create, user.user_id);
      found.set(user.user_id, { exists: true, blocked: user.blocked === true, connection });
    }
  }
  const named = rules === undefined ? undefined : new Map([...found, ...await lookupRuleUsers(mc, rules.flatMap((r) => (typeof r.user === 'string' ? [r.user] : [])))]);
  return { ...(action ? { action } : {}), ...(profile ? { profile } : {}), users, connection, ...(named ? { named } : {}) };
}

export function planCi(snapshot: CiSnapshot, rules: readonly TrustRule[] | undefined, source: ActionSource | undefined): CiPlan {
  if (rules === undefined || source === undefined) {
    const kept = markerCiPolicy(snapshot.action?.code);
    return kept && kept.length > 0
      ? { from: 'tenant', rules: kept, lines: ruleLines(kept), snapshot, create: [], problems: [] }
      : { from: 'none', rules: [], lines: [], snapshot, create: [], problems: [] };
  }
  const create = [...new Set(rules.flatMap((r) => (typeof r.user === 'string' || snapshot.users.has(r.user.create) ? [] : [r.user.create])))];
  // Known ids now, placeholders for the users still to create: the size check must hold for both.
  const placeholder = new Map([...snapshot.users, ...create.map((n) => [n, `auth0|${'x'.repeat(24)}`] as const)]);
  checkPolicySize(deployedRules(rules, placeholder));
  const shown = rules.map((r) => (typeof r.user === 'string' || !snapshot.users.has(r.user.create) ? r : { ...r, user: snapshot.users.get(r.user.create)! }));
  const machines = snapshot.connection;
  const problems: OmniAuthError[] = [];
  const notes = rules.map((r, i) => {
    if (machines === undefined) return undefined;
    const id = typeof r.user === 'string' ? r.user : snapshot.users.get(r.user.create);
    if (id === undefined) return machines;
    const info = snapshot.named?.get(id);
    const problem = ruleUserProblem(i, id, info, machines, r.allowPerson === true);
    if (problem) problems.push(ruleUserError(problem));
    return ruleUserNote(info, machines, r.allowPerson === true);
  });
  return { from: 'flag', rules: [...rules], lines: ruleLines(shown, notes), snapshot, source, create, problems };
}

export interface CiStep { resource: 'ci_user' | 'ci_action' | 'ci_profile'; target: string; change: 'create' | 'update' | 'unchanged' | 'blocked'; fields: string[] }

/** The CI steps of a plan (none without --ci-trust-file); a profile held by another Action is a blocker. */
export function ciSteps(ci: CiPlan, issuer: string, blockers: OmniAuthError[]): CiStep[] {
  if (ci.from !== 'flag') return [];
  // A rule's user that cannot stand comes first: the run stops on it before any write.
  blockers.push(...ci.problems);
  const steps: CiStep[] = ci.create.map((name) => ({ resource: 'ci_user', target: serviceUsername(name), change: 'create', fields: ['connection', 'username'] }));
  const { action, profile } = ci.snapshot;
  if (!action) steps.push({ resource: 'ci_action', target: CI_ACTION_NAME, change: 'create', fields: ['code', 'secrets'] });
  else if (ci.create.length > 0 || desiredCiAction(ci.source!, issuer, deployedRules(ci.rules as TrustRule[], ci.snapshot.users)).code !== action.code
    || action.deployed_version?.deployed !== true || action.all_changes_deployed === false) {
    steps.push({ resource: 'ci_action', target: `${action.name} (${action.id})`, change: 'update', fields: ['code', 'secrets'] });
  } else steps.push({ resource: 'ci_action', target: `${action.name} (${action.id})`, change: 'unchanged', fields: [] });
  if (!profile) steps.push({ resource: 'ci_profile', target: CI_PROFILE_NAME, change: 'create', fields: ['name', 'subject_token_type', 'action_id', 'type'] });
  else if (action && profile.action_id === action.id) steps.push({ resource: 'ci_profile', target: `${profile.name} (${profile.id})`, change: 'unchanged', fields: [] });
  else {
    blockers.push(new OmniAuthError('profile_conflict', `the subject token type ${CI_SUBJECT_TOKEN_TYPE} is already used by the Token Exchange Profile "${profile.name}" (${profile.id}), which runs another Action (${profile.action_id})`, {
      hint: `if "${profile.name}" is stale, delete it (DELETE /api/v2/token-exchange-profiles/${profile.id}) and run setup again`,
      exitCode: ExitCode.refused,
    }));
    steps.push({ resource: 'ci_profile', target: `${profile.name} (${profile.id})`, change: 'blocked', fields: [`${CI_SUBJECT_TOKEN_TYPE} is taken`] });
  }
  return steps;
}

export interface CiApplyState {
  users: Map<string, string>;
  actionId?: string;
}

export function ciApplyState(ci: CiPlan): CiApplyState {
  return { users: new Map(ci.snapshot.users), ...(ci.snapshot.action ? { actionId: ci.snapshot.action.id } : {}) };
}

export async function applyCiStep(
  step: CiStep, ci: CiPlan, state: CiApplyState, mc: ManagementClient, ctx: { issuer: string; connection: string; progress: (l: string) => void; poll: PollOptions },
): Promise<string | undefined> {
  switch (step.resource) {
    case 'ci_user': {
      const name = ci.create.find((n) => serviceUsername(n) === step.target)!;
      const created = await mc.post<{ user_id: string }>('/users', {
        connection: ctx.connection, username: step.target,
        // Never shown or kept: the service user gets tokens only through the CI Action's setUserById.
        password: `${randomBytes(24).toString('base64url')}Aa1!`,
      });
      state.users.set(name, created.user_id);
      return created.user_id;
    }
    case 'ci_action': {
      if (step.change === 'unchanged') return state.actionId;
      const desired = desiredCiAction(ci.source!, ctx.issuer, deployedRules(ci.rules as TrustRule[], state.users));
      const body = { code: desired.code, runtime: ACTION_RUNTIME, dependencies: desired.dependencies, secrets: desired.secrets };
      if (step.change === 'create') {
        state.actionId = (await mc.post<ActionRecord>('/actions/actions', { name: CI_ACTION_NAME, supported_triggers: [{ ...CTE_TRIGGER }], ...body })).id;
      } else await mc.patch(`/actions/actions/${enc(state.actionId!)}`, body);
      await waitUntilBuilt(mc, state.actionId!, ctx.progress, ctx.poll);
      await deployAndWait(mc, state.actionId!, ctx.progress, ctx.poll);
      return state.actionId;
    }
    case 'ci_profile':
      if (step.change === 'create') {
        return (await mc.post<ProfileRecord>('/token-exchange-profiles', {
          name: CI_PROFILE_NAME, subject_token_type: CI_SUBJECT_TOKEN_TYPE, action_id: state.actionId, type: PROFILE_TYPE,
        })).id;
      }
      return ci.snapshot.profile?.id;
  }
}
