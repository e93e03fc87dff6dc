/**
 * Users: `GET /api/v2/users` and `GET /api/v2/users/{id}`. `q` understands only exact matches of
 * top-level fields (`email:"a@b.c"`, `user_id:"auth0|x"`, joined by spaces or AND); not Lucene.
 */
import type { Tenant, User } from '../state.js';
import { fail, invalidQuery } from './errors.js';
import { offsetList } from './list.js';
import { json, type Route } from './router.js';
import { NO_USER } from './rules.js';

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
    method: 'GET', pattern: '/api/v2/users/:id', scope: 'read:users',
    handle: ({ tenant, params }) => {
      const user = tenant.users.get(params.id!);
      if (!user) throw fail(NO_USER);
      return json(200, userView(user));
    },
  },
];
