/**
 * Token Exchange Profiles: `GET|POST /api/v2/token-exchange-profiles`,
 * `GET|PATCH|DELETE /api/v2/token-exchange-profiles/{id}`. Each maps one subject_token_type to a
 * deployed custom-token-exchange Action.
 */
import type { Tenant, TokenExchangeProfile } from '../state.js';
import { newId, nowIso } from '../state.js';
import { subjectTokenTypeProblem } from '../subject-token-type.js';
import { fail } from './errors.js';
import { checkpointList } from './list.js';
import { json, noContent, type Route } from './router.js';
import {
  CTE_TRIGGER, MAX_PROFILES, NO_PROFILE, PROFILE_ACTION_ID_MAX, PROFILE_NAME_LENGTH, PROFILE_TYPE,
  SUBJECT_TOKEN_TYPE_LENGTH, TOO_MANY_PROFILES, duplicateSubjectTokenType, duplicateSubjectTokenTypeOnUpdate, profileActionRefused,
} from './rules.js';
import { BodyReader } from './validate.js';

export function findProfile(tenant: Tenant, id: string): TokenExchangeProfile {
  const profile = tenant.profiles.get(id);
  if (!profile) throw fail(NO_PROFILE);
  return profile;
}

function readName(r: BodyReader, required: boolean): string | undefined {
  return r.string('name', { ...PROFILE_NAME_LENGTH, required });
}

/** Length, then the namespace rule shared with the token endpoint (subject-token-type.ts). */
function readSubjectTokenType(r: BodyReader, required: boolean): string | undefined {
  const value = r.string('subject_token_type', { ...SUBJECT_TOKEN_TYPE_LENGTH, required });
  if (value === undefined) return undefined;
  const problem = subjectTokenTypeProblem(value);
  if (problem === 'reserved') throw r.problem('subject_token_type', `The value uses a reserved namespace: ${value}`);
  if (problem === 'not-a-namespace') throw r.problem('subject_token_type', 'The value must be a URI starting with https:// or urn:');
  if (value.toLowerCase().startsWith('https://') && !URL.canParse(value)) {
    throw r.problem('subject_token_type', `The value is not a valid URL: ${value}`);
  }
  return value;
}

function checkUnique(tenant: Tenant, subjectTokenType: string, self?: TokenExchangeProfile): void {
  for (const other of tenant.profiles.values()) {
    if (other !== self && other.subject_token_type === subjectTokenType) {
      // Auth0 documents 409 for the create and 400 for the update of a used subject_token_type.
      throw fail(self ? duplicateSubjectTokenTypeOnUpdate(subjectTokenType) : duplicateSubjectTokenType(subjectTokenType));
    }
  }
}

/** The Action must exist, run the custom-token-exchange trigger and have a live deployed version. */
function checkAction(tenant: Tenant, actionId: string): void {
  const action = tenant.actions.get(actionId);
  if (!action) throw fail(profileActionRefused(`The action ${actionId} does not exist.`));
  if (!action.supported_triggers.some((t) => t.id === CTE_TRIGGER.id)) {
    throw fail(profileActionRefused(`The action ${actionId} does not support the ${CTE_TRIGGER.id} trigger.`));
  }
  if (action.deployed_version?.deployed !== true) {
    throw fail(profileActionRefused(`The action ${actionId} must be deployed before a profile can use it.`));
  }
}

export function createProfile(tenant: Tenant, body: unknown): TokenExchangeProfile {
  const r = new BodyReader(body, ['name', 'subject_token_type', 'action_id', 'type']);
  const name = readName(r, true)!;
  const subjectTokenType = readSubjectTokenType(r, true)!;
  const actionId = r.string('action_id', { min: 1, max: PROFILE_ACTION_ID_MAX, required: true });
  r.oneOf('type', [PROFILE_TYPE] as const, true);
  checkAction(tenant, actionId);
  if (tenant.profiles.size >= MAX_PROFILES) throw fail(TOO_MANY_PROFILES);
  checkUnique(tenant, subjectTokenType);
  const now = nowIso();
  const profile: TokenExchangeProfile = {
    id: newId('tep_'),
    name,
    type: PROFILE_TYPE,
    subject_token_type: subjectTokenType,
    action_id: actionId,
    created_at: now,
    updated_at: now,
  };
  tenant.profiles.set(profile.id, profile);
  return profile;
}

/** Only `name` and `subject_token_type` may change; the Action and type are fixed at creation. */
export function updateProfile(tenant: Tenant, id: string, body: unknown): TokenExchangeProfile {
  const profile = findProfile(tenant, id);
  const r = new BodyReader(body, ['name', 'subject_token_type']);
  const name = readName(r, false);
  const subjectTokenType = readSubjectTokenType(r, false);
  if (subjectTokenType !== undefined) checkUnique(tenant, subjectTokenType, profile);
  if (name !== undefined) profile.name = name;
  if (subjectTokenType !== undefined) profile.subject_token_type = subjectTokenType;
  if (r.keys().length > 0) profile.updated_at = nowIso();
  return profile;
}

export const profileRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/token-exchange-profiles', scope: 'read:token_exchange_profiles',
    handle: ({ tenant, req }) => json(200, checkpointList('token_exchange_profiles', [...tenant.profiles.values()], (p) => p.id, req.query)),
  },
  {
    method: 'POST', pattern: '/api/v2/token-exchange-profiles', scope: 'create:token_exchange_profiles',
    handle: ({ tenant, req }) => json(201, createProfile(tenant, req.body)),
  },
  {
    method: 'GET', pattern: '/api/v2/token-exchange-profiles/:id', scope: 'read:token_exchange_profiles',
    handle: ({ tenant, params }) => json(200, findProfile(tenant, params.id!)),
  },
  {
    method: 'PATCH', pattern: '/api/v2/token-exchange-profiles/:id', scope: 'update:token_exchange_profiles',
    handle: ({ tenant, req, params }) => json(200, updateProfile(tenant, params.id!, req.body)),
  },
  {
    method: 'DELETE', pattern: '/api/v2/token-exchange-profiles/:id', scope: 'delete:token_exchange_profiles',
    handle: ({ tenant, params }) => {
      findProfile(tenant, params.id!);
      tenant.profiles.delete(params.id!);
      return noContent();
    },
  },
];
