/** Validation of the arguments of api.authentication.setUserById / setUserByConnection. */
import type { CreationBehavior, UpdateBehavior, UserChoice } from './types.js';

/** The user attributes Auth0 documents for setUserByConnection, with their types. */
const ATTRIBUTE_TYPES: Readonly<Record<string, 'string' | 'boolean'>> = {
  user_id: 'string',
  email: 'string',
  email_verified: 'boolean',
  phone_number: 'string',
  phone_verified: 'boolean',
  username: 'string',
  name: 'string',
  given_name: 'string',
  family_name: 'string',
  nickname: 'string',
  picture: 'string',
  verify_email: 'boolean',
};
const CREATION: readonly CreationBehavior[] = ['create_if_not_exists', 'none'];
const UPDATE: readonly UpdateBehavior[] = ['replace', 'none'];

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function userById(userId: unknown): Checked<UserChoice> {
  if (typeof userId !== 'string' || userId === '') {
    return { ok: false, error: 'setUserById: user_id must be a non-empty string' };
  }
  return { ok: true, value: { kind: 'id', user_id: userId } };
}

export function userByConnection(connection: unknown, attributes: unknown, options: unknown): Checked<UserChoice> {
  const fail = (why: string): Checked<UserChoice> => ({ ok: false, error: `setUserByConnection: ${why}` });
  if (typeof connection !== 'string' || connection === '') return fail('connection_name must be a non-empty string');
  if (!isPlainObject(attributes)) return fail('user_attributes must be an object');
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attributes)) {
    const type = ATTRIBUTE_TYPES[name];
    if (!type) return fail(`unknown user attribute "${name}"`);
    if (value === undefined) continue;
    if (typeof value !== type) return fail(`user attribute "${name}" must be a ${type}`);
    copy[name] = value;
  }
  if (typeof copy.user_id !== 'string' || copy.user_id === '') return fail('user_attributes.user_id must be a non-empty string');
  if (!isPlainObject(options)) return fail('options must be an object with creationBehavior and updateBehavior');
  for (const name of Object.keys(options)) {
    if (name !== 'creationBehavior' && name !== 'updateBehavior') return fail(`unknown option "${name}"`);
  }
  const { creationBehavior, updateBehavior } = options;
  if (!CREATION.includes(creationBehavior as CreationBehavior)) {
    return fail(`options.creationBehavior must be one of ${CREATION.join(', ')}`);
  }
  if (!UPDATE.includes(updateBehavior as UpdateBehavior)) {
    return fail(`options.updateBehavior must be one of ${UPDATE.join(', ')}`);
  }
  return {
    ok: true,
    value: {
      kind: 'connection',
      connection,
      attributes: copy,
      options: { creationBehavior: creationBehavior as CreationBehavior, updateBehavior: updateBehavior as UpdateBehavior },
    },
  };
}
