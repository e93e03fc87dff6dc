/**
 * Turns the user the Action chose (setUserById / setUserByConnection) into a tenant user, creating
 * or updating it as the Action's options say (reference §2), then applies its metadata changes.
 */
import type { UserChoice } from './action-runtime.js';
import {
  CONNECTION_NOT_ENABLED, CONNECTION_NOT_FOUND, IMMUTABLE_ATTRIBUTE, USER_ID_MISSING, USER_NOT_CREATED, USER_NOT_FOUND,
} from './behaviour.js';
import { OAuthError } from './oauth-error.js';
import { nowIso, type Client, type Connection, type Tenant, type User } from './state.js';

const IMMUTABLE = ['email', 'email_verified', 'phone_number', 'phone_verified', 'username'] as const;
const MUTABLE_STRINGS = ['name', 'given_name', 'family_name', 'nickname', 'picture'] as const;

type Attributes = Record<string, unknown>;

/** The profile attributes of `attrs` that have the right type; anything else is ignored. */
function profileOf(attrs: Attributes): Partial<User> {
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

function byConnection(tenant: Tenant, client: Client, choice: Extract<UserChoice, { kind: 'connection' }>): User {
  const connection = findConnection(tenant, choice.connection);
  if (!connection) throw OAuthError.of(CONNECTION_NOT_FOUND);
  if (!connection.enabled_clients.includes(client.client_id)) throw OAuthError.of(CONNECTION_NOT_ENABLED);
  const rawId = choice.attributes.user_id;
  if (typeof rawId !== 'string' || rawId === '') throw OAuthError.of(USER_ID_MISSING);
  const userId = userIdFor(connection, rawId);
  const profile = profileOf(choice.attributes);
  const existing = tenant.users.get(userId);
  const now = nowIso();
  if (!existing) {
    if (choice.options.creationBehavior !== 'create_if_not_exists') throw OAuthError.of(USER_NOT_CREATED);
    const user: User = {
      ...profile, user_id: userId, connection: connection.name,
      app_metadata: {}, user_metadata: {}, created_at: now, updated_at: now, logins_count: 0,
    };
    tenant.users.set(userId, user);
    return user;
  }
  if (choice.options.updateBehavior === 'replace') {
    const changed = IMMUTABLE.filter((name) => name in profile && profile[name] !== existing[name]);
    if (changed.length > 0) throw OAuthError.of(IMMUTABLE_ATTRIBUTE, changed.join(', '));
    // "replace": the attributes given replace the stored ones; attributes not given stay.
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
  applyMetadata(user.app_metadata, input.appMetadata);
  applyMetadata(user.user_metadata, input.userMetadata);
  const now = nowIso();
  user.last_login = now;
  user.updated_at = now;
  user.logins_count += 1;
  return user;
}
