import { inspect } from 'node:util';

/**
 * A value that must never be printed by accident: String(), JSON.stringify(), util.inspect() and
 * template literals all give "[redacted]". Call reveal() at the one place that really needs the value.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
