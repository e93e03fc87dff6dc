/**
 * A database connection's `options` as far as the emulator models them, read and validated the way
 * the Management API does (`POST /api/v2/connections`, `PATCH /api/v2/connections/{id}`), and the
 * rules they impose on the users created in the connection (resolve-user.ts):
 *
 * - Flexible Identifiers: `options.attributes` = `{email?, phone_number?, username?}`, each with
 *   `identifier.active`, `profile_required`, `signup.status`, and for username `validation`
 *   (`min_length`/`max_length` 1–128, `allowed_types.{email, phone_number}`). At least one
 *   identifier must be active; `attributes` cannot be combined with `requires_username` or
 *   `options.validation`.
 * - Without `attributes` (the classic database connection): `requires_username` and
 *   `validation.username.{min, max}` (1–128).
 * - Other option keys are stored as given (Auth0's schema allows more than the emulator models).
 */
import type { ConnectionOptions } from '../state.js';
import { invalidBody } from './errors.js';
import {
  IDENTIFIER_ATTRIBUTES, SIGNUP_STATUSES, USERNAME_CHARACTERS, USERNAME_DEFAULT_LENGTH, USERNAME_LENGTH_LIMIT,
} from './rules.js';
import { BodyReader, jsonType } from './validate.js';

type IdentifierAttribute = (typeof IDENTIFIER_ATTRIBUTES)[number];

const ATTRIBUTE_KEYS: Record<IdentifierAttribute, readonly string[]> = {
  email: ['identifier', 'profile_required', 'signup', 'unique', 'verification_method'],
  phone_number: ['identifier', 'profile_required', 'signup'],
  username: ['identifier', 'profile_required', 'signup', 'validation'],
};

function readLength(r: BodyReader, key: string): number | undefined {
  return r.integer(key, { min: USERNAME_LENGTH_LIMIT.min, max: USERNAME_LENGTH_LIMIT.max });
}

function checkMinMax(r: BodyReader, key: string, min: number | undefined, max: number | undefined): void {
  if (min !== undefined && max !== undefined && min > max) throw r.problem(key, `The minimum length (${min}) is greater than the maximum (${max})`);
}

function readAttribute(parent: BodyReader, name: IdentifierAttribute): Record<string, unknown> | undefined {
  const r = parent.object(name, ATTRIBUTE_KEYS[name]);
  if (r === undefined) return undefined;
  const out: Record<string, unknown> = {};
  const identifier = r.object('identifier', ['active', 'default_method']);
  if (identifier !== undefined) {
    const active = identifier.boolean('active');
    const method = identifier.string('default_method');
    out.identifier = { ...(active === undefined ? {} : { active }), ...(method === undefined ? {} : { default_method: method }) };
  }
  const required = r.boolean('profile_required');
  if (required !== undefined) out.profile_required = required;
  const signup = r.object('signup', name === 'username' ? ['status'] : ['status', 'verification']);
  if (signup !== undefined) {
    const status = signup.oneOf('status', SIGNUP_STATUSES);
    const verification = signup.has('verification') ? signup.object('verification', ['active']) : undefined;
    const verificationActive = verification?.boolean('active');
    out.signup = {
      ...(status === undefined ? {} : { status }),
      ...(verification === undefined ? {} : { verification: verificationActive === undefined ? {} : { active: verificationActive } }),
    };
  }
  if (name === 'email') {
    const unique = r.boolean('unique');
    if (unique !== undefined) out.unique = unique;
    const method = r.string('verification_method');
    if (method !== undefined) out.verification_method = method;
  }
  if (name === 'username') {
    const v = r.object('validation', ['min_length', 'max_length', 'allowed_types']);
    if (v !== undefined) {
      const min = readLength(v, 'min_length');
      const max = readLength(v, 'max_length');
      checkMinMax(v, 'max_length', min, max);
      const types = v.object('allowed_types', ['email', 'phone_number']);
      const allowEmail = types?.boolean('email');
      const allowPhone = types?.boolean('phone_number');
      out.validation = {
        ...(min === undefined ? {} : { min_length: min }),
        ...(max === undefined ? {} : { max_length: max }),
        ...(types === undefined ? {} : {
          allowed_types: { ...(allowEmail === undefined ? {} : { email: allowEmail }), ...(allowPhone === undefined ? {} : { phone_number: allowPhone }) },
        }),
      };
    }
  }
  return out;
}

/** `options` of a body (strategy auth0), validated; undefined when the body has none. */
export function readConnectionOptions(body: BodyReader): ConnectionOptions | undefined {
  if (!body.has('options')) return undefined;
  const raw = body.map('options')!;
  const options: ConnectionOptions = { ...raw };
  const r = new BodyReader(raw, Object.keys(raw), 'options');
  for (const key of ['requires_username', 'disable_signup'] as const) {
    if (r.boolean(key) !== undefined) options[key] = r.boolean(key);
  }
  if (raw.validation === null) delete options.validation;
  else if (r.has('validation')) {
    const validation = r.object('validation', ['username']);
    const username = validation?.object('username', ['min', 'max']);
    const min = username === undefined ? undefined : readLength(username, 'min');
    const max = username === undefined ? undefined : readLength(username, 'max');
    if (username !== undefined) checkMinMax(username, 'max', min, max);
    options.validation = username === undefined ? {} : { username: { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) } };
  }
  if (r.has('attributes')) {
    const attrs = r.object('attributes', IDENTIFIER_ATTRIBUTES);
    const attributes: Record<string, unknown> = {};
    for (const name of IDENTIFIER_ATTRIBUTES) {
      const value = attrs === undefined ? undefined : readAttribute(attrs, name);
      if (value !== undefined) attributes[name] = value;
    }
    if (options.requires_username !== undefined || options.validation !== undefined) {
      throw invalidBody("'attributes cannot be used together with requires_username or validation' on property options.");
    }
    if (!IDENTIFIER_ATTRIBUTES.some((n) => isActiveIdentifier(attributes, n))) {
      throw invalidBody("'At least one attribute must be an active identifier' on property options.attributes.");
    }
    options.attributes = attributes;
  }
  return options;
}

function attributeOf(attributes: Record<string, unknown>, name: IdentifierAttribute): Record<string, any> | undefined {
  const value = attributes[name];
  return jsonType(value) === 'object' ? (value as Record<string, any>) : undefined;
}

function isActiveIdentifier(attributes: Record<string, unknown>, name: IdentifierAttribute): boolean {
  return attributeOf(attributes, name)?.identifier?.active === true;
}

// ---- What a connection asks of the users created in it ----

export interface UsernameRules {
  min: number;
  max: number;
  allowEmail: boolean;
  allowPhone: boolean;
}

export interface CreationRules {
  /** Flexible Identifiers are configured (`options.attributes`). */
  flexible: boolean;
  /** Attributes the user must have. */
  required: IdentifierAttribute[];
  /** With Flexible Identifiers: the active identifiers, one of which the user must have. */
  identifiers: IdentifierAttribute[];
  /** Attributes the connection does not accept at all. */
  refused: IdentifierAttribute[];
  username: UsernameRules;
}

/**
 * The rules for creating a user in a database connection:
 * - Flexible Identifiers: each attribute marked `profile_required` is required, and the user needs at
 *   least one active identifier; an attribute the connection does not configure is refused
 *   (username, phone_number; email is accepted as a plain profile attribute).
 * - Classic: email is required (Auth0's "Creation behavior", older reading); username is required
 *   with `requires_username` and refused without it; phone_number is refused.
 */
export function creationRules(options: ConnectionOptions | undefined): CreationRules {
  const attributes = options?.attributes;
  if (attributes !== undefined) {
    const configured = IDENTIFIER_ATTRIBUTES.filter((n) => attributeOf(attributes, n) !== undefined);
    const v = attributeOf(attributes, 'username')?.validation ?? {};
    return {
      flexible: true,
      required: configured.filter((n) => attributeOf(attributes, n)?.profile_required === true),
      identifiers: configured.filter((n) => isActiveIdentifier(attributes, n)),
      refused: (['username', 'phone_number'] as const).filter((n) => !configured.includes(n)),
      username: {
        min: v.min_length ?? USERNAME_DEFAULT_LENGTH.min,
        max: v.max_length ?? USERNAME_DEFAULT_LENGTH.max,
        allowEmail: v.allowed_types?.email === true,
        allowPhone: v.allowed_types?.phone_number === true,
      },
    };
  }
  const requiresUsername = options?.requires_username === true;
  const v = (options?.validation as { username?: { min?: number; max?: number } } | undefined)?.username ?? {};
  return {
    flexible: false,
    required: requiresUsername ? ['email', 'username'] : ['email'],
    identifiers: [],
    refused: requiresUsername ? ['phone_number'] : ['username', 'phone_number'],
    username: { min: v.min ?? USERNAME_DEFAULT_LENGTH.min, max: v.max ?? USERNAME_DEFAULT_LENGTH.max, allowEmail: false, allowPhone: true },
  };
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** CHOICE: "phone number format" read as E.164 (`+` and 2–15 digits); Auth0 does not define it. */
const PHONE_SHAPE = /^\+[1-9][0-9]{1,14}$/;

/** Why Auth0 would refuse this username, or undefined when it is acceptable. */
export function usernameProblem(username: string, rules: UsernameRules): string | undefined {
  if (username.length < rules.min || username.length > rules.max) {
    return `the username must be ${rules.min} to ${rules.max} characters long`;
  }
  if (!rules.allowEmail && EMAIL_SHAPE.test(username)) return 'the username may not be an email address';
  if (!rules.allowPhone && PHONE_SHAPE.test(username)) return 'the username may not be a phone number';
  if (!USERNAME_CHARACTERS.test(username)) {
    return "the username may hold only letters, digits and @ ^ $ . ! ` - # + ' ~ _";
  }
  return undefined;
}

export const isEmailShaped = (value: string): boolean => EMAIL_SHAPE.test(value);
