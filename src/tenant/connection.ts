/**
 * The machines' connection (CONTRACTS §1, issue 8 choice (a)): a database connection of its own,
 * `omni-auth-machines`, whose only identifier is the username (Flexible Identifiers), sign-ups off,
 * enabled for the CLI application only. Under either reading of Auth0's "Creation behavior" (email
 * required by default, or every identifier optional) a user with a username and no email is valid
 * there, and no human sign-up or e-mail can ever reach it.
 *
 * Auth0's `PATCH /api/v2/connections/{id}` replaces `options` wholesale, so an update sends the
 * connection's current options with ours merged in (and the legacy `requires_username`/`validation`
 * removed: Auth0 refuses them together with `attributes`).
 */
import type { ConnectionRecord } from './records.js';

export const MACHINES_CONNECTION = 'omni-auth-machines';
export const CONNECTION_STRATEGY = 'auth0';

/** `options.attributes` of the machines' connection, as the Management API takes it. */
export const MACHINES_ATTRIBUTES = {
  username: {
    identifier: { active: true },
    profile_required: true,
    signup: { status: 'required' },
    validation: { min_length: 1, max_length: 64, allowed_types: { email: false, phone_number: false } },
  },
} as const;

/** The options setup manages on the machines' connection; everything else on it is kept. */
export const MACHINES_OPTIONS = { attributes: MACHINES_ATTRIBUTES, disable_signup: true } as const;

/** Deep equality of JSON values, key order ignored. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The option fields of an existing connection that differ from the machines' connection (empty: it is
 * right). `requires_username` and `validation` count as differences: Auth0 does not allow them next to
 * `attributes`.
 */
export function connectionOptionChanges(connection: ConnectionRecord): string[] {
  const options = connection.options ?? {};
  const fields: string[] = [];
  if (!same(options.attributes, MACHINES_ATTRIBUTES)) fields.push('options.attributes');
  if (options.disable_signup !== true) fields.push('options.disable_signup');
  if (options.requires_username !== undefined) fields.push('options.requires_username');
  if (options.validation !== undefined) fields.push('options.validation');
  return fields;
}

/** The full `options` to PATCH: the connection's own, with ours merged in and the incompatible legacy fields left out. */
export function desiredConnectionOptions(connection: ConnectionRecord | undefined): Record<string, unknown> {
  const { requires_username: _r, validation: _v, ...kept } = connection?.options ?? {};
  return { ...kept, ...structuredClone(MACHINES_OPTIONS) };
}

/** Whether users of this connection are identified by username (Flexible Identifiers, active). */
export function usernameIsIdentifier(connection: ConnectionRecord): boolean {
  const username = (connection.options?.attributes as { username?: { identifier?: { active?: unknown } } } | undefined)?.username;
  return username?.identifier?.active === true;
}
