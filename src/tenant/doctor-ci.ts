/**
 * doctor's line for keyless CI identity (issue 14 §1): the CI trust rules the tenant runs, as the CI
 * Action's marker records them (Auth0 never shows the CI_TRUST_POLICY secret's value), and whether the
 * profile `urn:omni-auth:ci-oidc` runs that Action. No CI Action is a pass: closed by default.
 * Each rule's user is looked up (GET /users/{id}, ci-users.ts): one that no longer exists or is now
 * blocked is a warning naming the rule and the fix (its CI jobs get no token); each line shows the
 * user's connection. Without read:users the rules are listed unchecked, and the detail says so.
 */
import { ExitCode } from '../util/errors.js';
import { fail, pass, warn, type Check } from './doctor-check.js';
import { CI_SUBJECT_TOKEN_TYPE, markerCiPolicy, ruleLines } from './ci-policy.js';
import { lookupRuleUsers, ruleUserNote, ruleUserProblem, type RuleUserInfo } from './ci-users.js';
import type { ManagementClient } from './management-client.js';
import { ManagementApiError } from './management-errors.js';
import { readActionById, readProfiles } from './snapshot.js';

const TITLE = 'CI trust policy';
const SETUP = 'run `omni-auth setup --ci-trust-file <rules.json>` (docs/ci-oidc.md)';

export async function checkCiTrust(mc: ManagementClient, machines = 'omni-auth-machines'): Promise<Check> {
  // The profile is what binds: no profile for the CI type, no CI identity (whatever Actions exist).
  const profile = (await readProfiles(mc)).find((p) => p.subject_token_type === CI_SUBJECT_TOKEN_TYPE);
  if (!profile) return pass('ci_trust', TITLE, `none: CI identity is off (no Token Exchange Profile for ${CI_SUBJECT_TOKEN_TYPE}; closed by default)`);
  const action = await readActionById(mc, profile.action_id);
  if (!action) return fail('ci_trust', TITLE, `the profile ${profile.name} (${profile.id}) runs an Action that does not exist (${profile.action_id})`, SETUP, ExitCode.refused);
  if (action.deployed_version?.deployed !== true) return fail('ci_trust', TITLE, `the CI Action ${action.name} (${action.id}) is not deployed`, SETUP, ExitCode.refused);
  const rules = markerCiPolicy(action.code);
  if (rules === undefined) return warn('ci_trust', TITLE, `the CI Action ${action.name} (${action.id}) records no policy setup can read (deployed by hand?)`, SETUP);
  if (rules.length === 0) return pass('ci_trust', TITLE, 'no rules: CI identity is off');
  let users: Map<string, RuleUserInfo> | undefined;
  try {
    users = await lookupRuleUsers(mc, rules.map((r) => r.user).filter((u): u is string => typeof u === 'string'));
  } catch (e) {
    if (!(e instanceof ManagementApiError && e.status === 403)) throw e;
  }
  // A deployed person's account was opted in (setup refuses it otherwise): only missing or blocked warns.
  const notes = rules.map((r) => ruleUserNote(users?.get(r.user), machines, true));
  const listed = `${rules.length} rule${rules.length === 1 ? '' : 's'} (first match wins): ${ruleLines(rules, notes).join('; ')}`;
  if (users === undefined) return pass('ci_trust', TITLE, `${listed} (users not checked: the credentials lack read:users)`);
  const problems = rules.flatMap((r, i) => {
    const p = ruleUserProblem(i, r.user, users.get(r.user), machines, true);
    return p ? [p] : [];
  });
  if (problems.length === 0) return pass('ci_trust', TITLE, listed);
  return warn('ci_trust', TITLE, `${problems.map((p) => p.message).join('; ')}. ${listed}`,
    `${problems[0]!.hint}, then run \`omni-auth setup --ci-trust-file <rules.json>\` with the rule fixed (docs/ci-oidc.md)`);
}
