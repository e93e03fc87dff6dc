/**
 * Reading request bodies and query strings the way Auth0's schema validator refuses them: every
 * problem is a 400 whose message names the property ("Payload validation error: 'String is too
 * short (2 chars), minimum 3' on property name.").
 */
import { invalidBody, invalidQuery } from './errors.js';

type Json = Record<string, unknown>;

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const isObject = (value: unknown): value is Json => jsonType(value) === 'object';
const on = (path: string): string => (path === '' ? '' : ` on property ${path}`);

interface Length {
  min?: number;
  max?: number;
}

/** One JSON object of a body (or a nested object in it), with the properties it may have. */
export class BodyReader {
  readonly #json: Json;
  readonly #path: string;

  /** `path` names the object in messages ('' for the body itself, else e.g. `secrets[0]`). */
  constructor(value: unknown, allowed: readonly string[], path = '') {
    if (!isObject(value)) throw invalidBody(`'Expected type object but found type ${jsonType(value)}'${on(path)}.`);
    const extra = Object.keys(value).filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw invalidBody(`'Additional properties not allowed: ${extra.join(',')}'${on(path)}.`);
    this.#json = value;
    this.#path = path;
  }

  #name(key: string): string {
    return this.#path === '' ? key : `${this.#path}.${key}`;
  }

  #typed(key: string, type: string, required: boolean): unknown {
    const value = this.#json[key];
    if (value === undefined) {
      if (required) throw invalidBody(`'Missing required property: ${key}'${on(this.#path)}.`);
      return undefined;
    }
    const actual = jsonType(value);
    if (actual !== type && !(type === 'number' && actual === 'integer')) {
      throw invalidBody(`'Expected type ${type} but found type ${actual}' on property ${this.#name(key)}.`);
    }
    return value;
  }

  has(key: string): boolean {
    return this.#json[key] !== undefined;
  }

  /** Present keys, in body order. */
  keys(): string[] {
    return Object.keys(this.#json).filter((k) => this.#json[k] !== undefined);
  }

  string(key: string, length: Length & { required: true }): string;
  string(key: string, length?: Length & { required?: boolean }): string | undefined;
  string(key: string, { min, max, required = false }: Length & { required?: boolean } = {}): string | undefined {
    const value = this.#typed(key, 'string', required) as string | undefined;
    if (value === undefined) return undefined;
    if (min !== undefined && value.length < min) {
      throw invalidBody(`'String is too short (${value.length} chars), minimum ${min}' on property ${this.#name(key)}.`);
    }
    if (max !== undefined && value.length > max) {
      throw invalidBody(`'String is too long (${value.length} chars), maximum ${max}' on property ${this.#name(key)}.`);
    }
    return value;
  }

  oneOf<T extends string>(key: string, values: readonly T[], required = false): T | undefined {
    const value = this.string(key, { required });
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw invalidBody(`'No enum match for: "${value}"' on property ${this.#name(key)}.`);
    }
    return value as T;
  }

  boolean(key: string): boolean | undefined {
    return this.#typed(key, 'boolean', false) as boolean | undefined;
  }

  integer(key: string, { min, max }: { min: number; max: number }): number | undefined {
    const value = this.#typed(key, 'integer', false) as number | undefined;
    if (value === undefined) return undefined;
    if (value < min) throw invalidBody(`'Value ${value} is less than minimum ${min}' on property ${this.#name(key)}.`);
    if (value > max) throw invalidBody(`'Value ${value} is greater than maximum ${max}' on property ${this.#name(key)}.`);
    return value;
  }

  array(key: string, { min, max, required = false }: Length & { required?: boolean } = {}): unknown[] | undefined {
    const value = this.#typed(key, 'array', required) as unknown[] | undefined;
    if (value === undefined) return undefined;
    if (min !== undefined && value.length < min) {
      throw invalidBody(`'Array is too short (${value.length}), minimum ${min}' on property ${this.#name(key)}.`);
    }
    if (max !== undefined && value.length > max) {
      throw invalidBody(`'Array is too long (${value.length}), maximum ${max}' on property ${this.#name(key)}.`);
    }
    return value;
  }

  /** An array of strings. */
  strings(key: string): string[] | undefined {
    const value = this.array(key);
    value?.forEach((item, i) => {
      if (typeof item !== 'string') {
        throw invalidBody(`'Expected type string but found type ${jsonType(item)}' on property ${this.#name(key)}[${i}].`);
      }
    });
    return value as string[] | undefined;
  }

  /** A nested object, read with its own allowed keys. */
  object(key: string, allowed: readonly string[]): BodyReader | undefined {
    const value = this.#typed(key, 'object', false);
    return value === undefined ? undefined : new BodyReader(value, allowed, this.#name(key));
  }

  /** Each item of an array, read as an object with its own allowed keys. */
  objects(key: string, allowed: readonly string[], length: Length & { required?: boolean } = {}): BodyReader[] | undefined {
    return this.array(key, length)?.map((item, i) => new BodyReader(item, allowed, `${this.#name(key)}[${i}]`));
  }

  /** A plain JSON object value, not inspected further (free-form maps such as client_metadata). */
  map(key: string): Json | undefined {
    return this.#typed(key, 'object', false) as Json | undefined;
  }

  /** Any JSON value, for pass-through properties. */
  raw(key: string): unknown {
    return this.#json[key];
  }

  /** A problem found by the caller, worded and placed like the others. */
  problem(key: string, detail: string): Error {
    return invalidBody(`'${detail}' on property ${this.#name(key)}.`);
  }
}

/** An integer query parameter within a range, or the default when absent. */
export function queryInteger(query: URLSearchParams, name: string, fallback: number, { min, max }: { min: number; max: number }): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidQuery(`'${name}' must be an integer from ${min} to ${max}.`);
  }
  return value;
}

/** A `true`/`false` query parameter, or undefined when absent. */
export function queryBoolean(query: URLSearchParams, name: string): boolean | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (text !== 'true' && text !== 'false') throw invalidQuery(`'${name}' must be true or false.`);
  return text === 'true';
}
