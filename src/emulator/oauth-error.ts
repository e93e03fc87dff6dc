/** Auth0's Authentication API error shape, `{error, error_description}`, thrown inside handlers. */
import type { ErrorChoice } from './behaviour.js';
import type { EmulatorReply } from './http-types.js';

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
    /** More members of the JSON body (e.g. `mfa_token` with `mfa_required`). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(`${error}: ${description}`);
  }

  static of(c: ErrorChoice, suffix = ''): OAuthError {
    return new OAuthError(c.status, c.error, c.description + suffix);
  }

  reply(): EmulatorReply {
    return { status: this.status, body: { error: this.error, error_description: this.description, ...this.extra }, headers: this.headers };
  }
}

export const invalidRequest = (description: string): OAuthError => new OAuthError(400, 'invalid_request', description);

/** Reads OAuth parameters from a parsed body: strings only, as a form would carry them. */
export class Params {
  readonly #body: Record<string, unknown>;
  constructor(body: unknown) {
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw invalidRequest('The request body must be a form or a JSON object.');
    }
    this.#body = (body ?? {}) as Record<string, unknown>;
  }

  get(name: string): string | undefined {
    const value = this.#body[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw invalidRequest(`Invalid parameter: ${name} must be a string.`);
    return value;
  }

  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw invalidRequest(`Missing required parameter: ${name}`);
    return value;
  }

  /** The body as received, for `event.request.body`, without the client secret or assertion. */
  forAction(): Record<string, unknown> {
    const { client_secret: _secret, client_assertion: _assertion, ...rest } = this.#body;
    return rest;
  }
}
