/**
 * Turns the user the Action chose (setUserById / setUserByConnection) into a tenant user, creating
 * or updating it as the Action's options say (reference §2), then applies its metadata changes.
 *
 * A database connection (strategy `auth0`) refuses the users it would refuse on Auth0
 * (management/connection-options.ts, creationRules): a plain connection needs an email (and a
 * username with "Require Username"); a Flexible-Identifiers connection needs what its attributes
 * mark `profile_required` and one active identifier; usernames follow Auth0's length and character
 * rules and are stored lowercased (emails too); email and username are unique in the connection.
 * A refusal is CONNECTION_REFUSED_USER (management/rules.ts). A new user with an email that is not
 * verified gets a verification mail unless the Action passed `verify_email: false`: the emulator
 * counts it in `stats.mails`.
 */
import type { UserChoice } from './action-runtime.js';
import {
  CONNECTION_NOT_ENABLED, CONNECTION_NOT_FOUND, IMMUTABLE_ATTRIBUTE, USER_BLOCKED, USER_ID_MISSING, USER_NOT_CREATED, USER_NOT_FOUND,
} from './behaviour.js';
import { creationRules, isEmailShaped, usernameProblem } from './management/connection-options.js';
import { CONNECTION_REFUSED_USER, DISABLE_SIGNUP_BLOCKS_EXCHANGE_CREATION } from './management/rules.js';
import { OAuthError } from './oauth-error.js';
import { nowIso, type Client, type Connection, type Tenant, type User } from './state.js';

const IMMUTABLE = ['email', 'email_verified', 'phone_number', 'phone_verified', 'username'] as const;
const MUTABLE_STRINGS = ['name', 'given_name', 'family_name', 'nickname', 'picture'] as const;

type Attributes = Record<string, unknown>;

/** The profile attributes of `attrs` that have the right type; anything else is ignored. */
export function profileOf(attrs: Attributes): Partial<User> {
  const out: Record<string, unknown> = {};
  for (const name of [...MUTABLE_STRINGS, 'email', 'phone_number', 'username'] as const) {
    if (typeof attrs[name] === 'string') out[name] = attrs[name];
  }
  for (const name of ['email_verified', 'phone_verified'] as const) {
    if (typeof attrs[name] === 'boolean') out[name] = attrs[name];
  }
  return out as Partial<User>;
}

function findConnection(tenant: Tenant, name: string): Connection | undefined {
  for (const c of tenant.connections.values()) if (c.name === name) return c;
  return undefined;
}

/** Auth0 ids: `auth0|<id>` for database connections, `<strategy>|<id>` otherwise. */
const userIdFor = (connection: Connection, id: string): string => `${connection.strategy}|${id}`;

const refuse = (why: string): OAuthError => OAuthError.of(CONNECTION_REFUSED_USER, why);

/** A database connection stores usernames and emails lowercased. */
export function normalized(connection: Connection, profile: Partial<User>): Partial<User> {
  if (connection.strategy !== 'auth0') return profile;
  const out = { ...profile };
  if (out.username !== undefined) out.username = out.username.toLowerCase();
  if (out.email !== undefined) out.email = out.email.toLowerCase();
  return out;
}

function takenBy(tenant: Tenant, connection: Connection, field: 'email' | 'username', value: string, self: string): boolean {
  for (const u of tenant.users.values()) {
    if (u.user_id !== self && u.connection === connection.name && u[field] === value) return true;
  }
  return false;
}

/**
 * Why a database connection would refuse creating this user (see the module comment), or undefined.
 * `taken` tells a duplicate email/username apart (the Management API answers it with 409).
 */
export function creationProblem(
  tenant: Tenant, connection: Connection, userId: string, profile: Partial<User>,
): { why: string; taken?: boolean } | undefined {
  if (connection.strategy !== 'auth0') return undefined;
  const rules = creationRules(connection.options);
  for (const name of rules.refused) {
    if (profile[name] !== undefined) {
      return {
        why: name === 'username' && !rules.flexible
          ? 'the connection does not require a username (requires_username is off), so none may be set'
          : `the connection has no ${name} attribute`,
      };
    }
  }
  for (const name of rules.required) {
    if (profile[name] === undefined) return { why: `${name} is required by the connection` };
  }
  if (rules.identifiers.length > 0 && !rules.identifiers.some((n) => profile[n] !== undefined)) {
    return { why: `the user needs one of the connection's identifiers (${rules.identifiers.join(', ')})` };
  }
  if (profile.email !== undefined && !isEmailShaped(profile.email)) return { why: 'the email is not a valid email address' };
  if (profile.username !== undefined) {
    const problem = usernameProblem(profile.username, rules.username);
    if (problem) return { why: problem };
  }
  for (const field of ['email', 'username'] as const) {
    const value = profile[field];
    if (value !== undefined && takenBy(tenant, connection, field, value, userId)) {
      return { why: `the ${field} is already used by another user of the connection`, taken: true };
    }
  }
  if (tenant.users.has(userId)) return { why: 'a user with this user_id already exists', taken: true };
  return undefined;
}

/** Throws when a database connection would refuse the user an Action creates. */
function checkCreation(tenant: Tenant, connection: Connection, userId: string, profile: Partial<User>): void {
  if (connection.strategy !== 'auth0') return;
  if (DISABLE_SIGNUP_BLOCKS_EXCHANGE_CREATION && connection.options?.disable_signup === true) throw refuse('sign-ups are disabled');
  const problem = creationProblem(tenant, connection, userId, profile);
  if (problem) throw refuse(problem.why);
}

/** Auth0 sends a verification mail to a new user whose email is not verified, unless told not to. */
export function sendsVerificationMail(user: User, attributes: Attributes): boolean {
  return user.email !== undefined && user.email_verified !== true && attributes.verify_email !== false;
}

function byConnection(tenant: Tenant, client: Client, choice: Extract<UserChoice, { kind: 'connection' }>): User {
  const connection = findConnection(tenant, choice.connection);
  if (!connection) throw OAuthError.of(CONNECTION_NOT_FOUND);
  if (!connection.enabled_clients.includes(client.client_id)) throw OAuthError.of(CONNECTION_NOT_ENABLED);
  const rawId = choice.attributes.user_id;
  if (typeof rawId !== 'string' || rawId === '') throw OAuthError.of(USER_ID_MISSING);
  const userId = userIdFor(connection, rawId);
  const profile = normalized(connection, profileOf(choice.attributes));
  const existing = tenant.users.get(userId);
  const now = nowIso();
  if (!existing) {
    if (choice.options.creationBehavior !== 'create_if_not_exists') throw OAuthError.of(USER_NOT_CREATED);
    checkCreation(tenant, connection, userId, profile);
    const user: User = {
      ...profile, user_id: userId, connection: connection.name,
      app_metadata: {}, user_metadata: {}, created_at: now, updated_at: now, logins_count: 0,
    };
    tenant.users.set(userId, user);
    if (sendsVerificationMail(user, choice.attributes)) tenant.stats.mails += 1;
    return user;
  }
  if (choice.options.updateBehavior === 'replace') {
    const changed = IMMUTABLE.filter((name) => name in profile && profile[name] !== existing[name]);
    if (changed.length > 0) throw OAuthError.of(IMMUTABLE_ATTRIBUTE, changed.join(', '));
    // "replace" is no partial update: the profile attributes given replace the stored ones and those
    // not given are removed. The identifiers (email, username, phone…) cannot change, so they stay.
    for (const name of MUTABLE_STRINGS) if (!(name in profile)) delete existing[name];
    Object.assign(existing, profile, { updated_at: now });
  }
  return existing;
}

function applyMetadata(target: Record<string, unknown>, changes: Record<string, unknown> | undefined): void {
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === null) delete target[key];
    else target[key] = value;
  }
}

export interface ResolveInput {
  tenant: Tenant;
  client: Client;
  choice: UserChoice;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
}

/** The user who logs in; throws an OAuthError (behaviour.ts) when the choice cannot stand. */
export function resolveUser(input: ResolveInput): User {
  const { tenant, client, choice } = input;
  let user: User;
  if (choice.kind === 'id') {
    const found = tenant.users.get(choice.user_id);
    if (!found) throw OAuthError.of(USER_NOT_FOUND);
    user = found;
  } else {
    user = byConnection(tenant, client, choice);
  }
  // A blocked user gets no token, whichever way the Action names them.
  if (user.blocked) throw OAuthError.of(USER_BLOCKED);
  applyMetadata(user.app_metadata, input.appMetadata);
  applyMetadata(user.user_metadata, input.userMetadata);
  const now = nowIso();
  user.last_login = now;
  user.updated_at = now;
  user.logins_count += 1;
  return user;
}
