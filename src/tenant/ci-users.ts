/**
 * The users the CI trust rules name by id (issue 14 §1): the CI Action calls
 * `api.authentication.setUserById(rule.user)`, and Auth0 issues no token for a user that does not
 * exist ("This must be an existing user", Custom Token Exchange "API Object") or is blocked. So
 * `setup --ci-trust-file` looks every such user up (GET /api/v2/users/{id}, read:users) before any
 * write and refuses those, and `doctor` warns about deployed rules whose user has since gone or been
 * blocked. A user outside the machines' connection is a person's account (a database login, a social
 * login): mapping a CI job to it lets every job the rule matches act as that person, so setup refuses
 * it unless the rule says `"allow_person": true` (docs/ci-oidc.md).
 */
import { ExitCode, OmniAuthError } from '../util/errors.js';
import type { ManagementClient } from './management-client.js';

/** What GET /api/v2/users/{id} said: absent (404), or the user's state and primary connection. */
export type RuleUserInfo = { exists: false } | { exists: true; blocked: boolean; connection: string | undefined };

interface UserRecord { user_id: string; blocked?: boolean; identities?: { connection?: string }[] }

/** Looks each distinct id up once (404 is "does not exist"; any other error propagates). */
export async function lookupRuleUsers(mc: ManagementClient, ids: Iterable<string>): Promise<Map<string, RuleUserInfo>> {
  const out = new Map<string, RuleUserInfo>();
  for (const id of ids) {
    if (out.has(id)) continue;
    const user = await mc.find<UserRecord>(`/users/${encodeURIComponent(id)}`);
    // identities[0] is the user's own (primary) identity: the connection the user_id belongs to.
    out.set(id, user ? { exists: true, blocked: user.blocked === true, connection: user.identities?.[0]?.connection } : { exists: false });
  }
  return out;
}

export type RuleUserProblemKind = 'missing' | 'blocked' | 'person';

export interface RuleUserProblem { kind: RuleUserProblemKind; message: string; hint: string }

/**
 * Why rule `index`'s user cannot stand, or undefined. `allowPerson`: the rule's explicit opt-in for
 * a user outside `machines` (setup); doctor passes true (a deployed person rule was opted in).
 */
export function ruleUserProblem(index: number, id: string, info: RuleUserInfo | undefined, machines: string, allowPerson: boolean): RuleUserProblem | undefined {
  if (info === undefined) return undefined;
  if (!info.exists) {
    return {
      kind: 'missing',
      message: `rule ${index}: the user ${id} does not exist on this tenant: Auth0 refuses setUserById of a user that does not exist, so every CI job the rule matches would fail`,
      hint: `put the user id of an existing service user in the rule (GET /api/v2/users/{id} must find it), or {"create": "<name>"} to have setup create one in ${machines}`,
    };
  }
  if (info.blocked) {
    return {
      kind: 'blocked',
      message: `rule ${index}: the user ${id} is blocked: Auth0 issues no token for a blocked user, so every CI job the rule matches would fail`,
      hint: `unblock the user if the block was a mistake (PATCH /api/v2/users/{id} {"blocked": false}), or name another service user or {"create": "<name>"}`,
    };
  }
  if (info.connection !== machines && !allowPerson) {
    return {
      kind: 'person',
      message: `rule ${index}: the user ${id} is in the connection ${info.connection ?? '(unknown)'}, not ${machines}: a person's account (a database or social login), and every CI job the rule matches would act as that person`,
      hint: `name a service user ({"create": "<name>"} makes one in ${machines}); if CI must act as this person, say so in the rule with "allow_person": true (docs/ci-oidc.md)`,
    };
  }
  return undefined;
}

/** setup's refusal for a problem: exit 3, before any write. */
export function ruleUserError(problem: RuleUserProblem): OmniAuthError {
  return new OmniAuthError(`ci_user_${problem.kind}`, `--ci-trust-file: ${problem.message}`, {
    hint: `${problem.hint}; nothing was changed`,
    exitCode: ExitCode.refused,
  });
}

/** The note after a rule's user in the plan and in doctor: its connection, and what is wrong or allowed. */
export function ruleUserNote(info: RuleUserInfo | undefined, machines: string, allowPerson: boolean): string | undefined {
  if (info === undefined) return undefined;
  if (!info.exists) return 'does not exist';
  const where = info.connection ?? 'unknown connection';
  const person = info.connection !== machines ? `: a person's account${allowPerson ? ', allowed by allow_person' : ''}` : '';
  return `${where}${person}${info.blocked ? ', blocked' : ''}`;
}
