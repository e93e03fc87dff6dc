/**
 * Users: `GET /api/v2/users`, `GET|PATCH /api/v2/users/{id}` and `POST /api/v2/users`. `q`
 * understands only exact matches of top-level fields (`email:"a@b.c"`, `user_id:"auth0|x"`, joined
 * by spaces or AND); not Lucene. A database user's password is stored as a scrypt hash in
 * `tenant.passwords`, never in the user record, so no answer can hold it.
 */
import { randomBytes } from 'node:crypto';
import { creationProblem, normalized, profileOf, sendsVerificationMail } from '../resolve-user.js';
import { hashPassword } from '../signin/passwords.js';
import { nowIso, type Tenant, type User } from '../state.js';
import { connectionByName } from './connections.js';
import { fail, invalidBody, invalidQuery } from './errors.js';
import { offsetList } from './list.js';
import { json, type Route } from './router.js';
import { NO_USER, USER_CONNECTION_MISSING, USER_EXISTS } from './rules.js';
import { BodyReader } from './validate.js';

const PROFILE_STRINGS = ['name', 'given_name', 'family_name', 'nickname', 'picture'] as const;
const CREATE_KEYS = [
  'connection', 'email', 'password', 'username', 'user_id', 'phone_number', 'email_verified', 'verify_email', 'blocked',
  'user_metadata', 'app_metadata', ...PROFILE_STRINGS,
] as const;
const PATCH_KEYS = ['blocked', 'password', 'email_verified', 'user_metadata', 'app_metadata', ...PROFILE_STRINGS] as const;

/** The fields of a body that are user attributes, typed as in the schema. */
function readProfile(r: BodyReader, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!r.has(key)) continue;
    if (key === 'email_verified' || key === 'verify_email' || key === 'blocked') out[key] = r.boolean(key);
    else if (key === 'user_metadata' || key === 'app_metadata') out[key] = r.map(key);
    else out[key] = r.string(key, { min: 1, max: key === 'picture' ? 2048 : 300 });
  }
  return out;
}

/** `POST /api/v2/users`: a user of a database connection, with a password (hashed). */
export async function createUser(tenant: Tenant, body: unknown): Promise<User> {
  const r = new BodyReader(body, CREATE_KEYS);
  const connectionName = r.string('connection', { min: 1, required: true });
  const fields = readProfile(r, CREATE_KEYS.filter((k) => k !== 'connection' && k !== 'password'));
  const password = r.string('password', { min: 1 });
  const connection = connectionByName(tenant, connectionName);
  if (!connection) throw fail(USER_CONNECTION_MISSING);
  if (connection.strategy === 'auth0' && password === undefined) throw invalidBody("'Missing required property: password'.");
  const rawId = typeof fields.user_id === 'string' ? fields.user_id : randomBytes(12).toString('hex');
  const userId = `${connection.strategy}|${rawId}`;
  const profile = normalized(connection, profileOf(fields));
  const problem = creationProblem(tenant, connection, userId, profile);
  if (problem?.taken) throw fail(USER_EXISTS);
  if (problem) throw invalidBody(`'${problem.why}'.`);
  const now = nowIso();
  const user: User = {
    ...profile, user_id: userId, connection: connection.name,
    app_metadata: { ...(fields.app_metadata as Record<string, unknown> | undefined) },
    user_metadata: { ...(fields.user_metadata as Record<string, unknown> | undefined) },
    created_at: now, updated_at: now, logins_count: 0,
    ...(fields.blocked === true ? { blocked: true } : {}),
  };
  if (user.email !== undefined && user.email_verified === undefined) user.email_verified = false;
  if (password !== undefined) tenant.passwords.set(userId, await hashPassword(password));
  tenant.users.set(userId, user);
  if (sendsVerificationMail(user, fields)) tenant.stats.mails += 1;
  return user;
}

/** `PATCH /api/v2/users/{id}`: `blocked`, the profile names, `password`, `email_verified`, metadata (merged). */
export async function patchUser(tenant: Tenant, id: string, body: unknown): Promise<User> {
  const user = tenant.users.get(id);
  if (!user) throw fail(NO_USER);
  const r = new BodyReader(body, PATCH_KEYS);
  const fields = readProfile(r, PATCH_KEYS.filter((k) => k !== 'password'));
  const password = r.string('password', { min: 1 });
  if (password !== undefined) {
    if (connectionByName(tenant, user.connection)?.strategy !== 'auth0') throw invalidBody("'Only users of a database connection have a password'.");
    tenant.passwords.set(id, await hashPassword(password));
  }
  for (const key of PROFILE_STRINGS) if (typeof fields[key] === 'string') user[key] = fields[key] as string;
  if (typeof fields.email_verified === 'boolean') user.email_verified = fields.email_verified;
  if (typeof fields.blocked === 'boolean') user.blocked = fields.blocked;
  for (const key of ['user_metadata', 'app_metadata'] as const) {
    const changes = fields[key] as Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(changes ?? {})) {
      if (v === null) delete user[key][k];
      else user[key][k] = v;
    }
  }
  user.updated_at = nowIso();
  return user;
}


/** Auth0 adds the identities array: `user_id` without the `provider|` prefix. */
export function userView(user: User): Record<string, unknown> {
  const bar = user.user_id.indexOf('|');
  const provider = bar < 0 ? 'auth0' : user.user_id.slice(0, bar);
  const idpUserId = bar < 0 ? user.user_id : user.user_id.slice(bar + 1);
  return { ...user, identities: [{ connection: user.connection, user_id: idpUserId, provider, isSocial: false }] };
}

const TERM = /^([a-z_]+):(?:"([^"]*)"|(\S+))$/;

function matcher(q: string | null): (user: User) => boolean {
  if (q === null || q.trim() === '') return () => true;
  const terms = q.trim().split(/\s+(?:AND\s+)?/).map((term) => {
    const m = TERM.exec(term);
    if (!m) throw invalidQuery(`'q' supports only field:"value" terms in the emulator (got ${term}).`);
    return { field: m[1]!, value: m[2] ?? m[3]! };
  });
  return (user) => terms.every(({ field, value }) => String((user as unknown as Record<string, unknown>)[field]) === value);
}

export const userRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/users', scope: 'read:users',
    handle: ({ tenant, req }) => {
      const users = [...tenant.users.values()].filter(matcher(req.query.get('q'))).map(userView);
      return json(200, offsetList('users', users, req.query));
    },
  },
  {
    method: 'POST', pattern: '/api/v2/users', scope: 'create:users',
    handle: async ({ tenant, req }) => json(201, userView(await createUser(tenant, req.body))),
  },
  {
    method: 'PATCH', pattern: '/api/v2/users/:id', scope: 'update:users',
    handle: async ({ tenant, req, params }) => json(200, userView(await patchUser(tenant, params.id!, req.body))),
  },
  {
    method: 'GET', pattern: '/api/v2/users/:id', scope: 'read:users',
    handle: ({ tenant, params }) => {
      const user = tenant.users.get(params.id!);
      if (!user) throw fail(NO_USER);
      return json(200, userView(user));
    },
  },
];
