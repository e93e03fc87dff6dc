/**
 * Typed errors. Every failure a user can see is an OmniAuthError with a stable `code`, a message that
 * names what was wrong (and where), a `hint` that says how to fix it, and the process exit code of the
 * documented table (README, "Exit codes"). Messages and hints never contain tokens or keys.
 */

/** The documented exit codes. Keep in sync with the README table. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  refused: 3,
  unreachable: 4,
  rateLimited: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface OmniAuthErrorOptions {
  hint?: string;
  exitCode?: ExitCode;
  cause?: unknown;
  /** Extra, non-secret details for --json output (e.g. the tenant's error code). */
  details?: Record<string, unknown>;
}

export class OmniAuthError extends Error {
  override readonly name: string = 'OmniAuthError';
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: OmniAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.internal;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      exit_code: this.exitCode,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** A usage or configuration error: the user typed or configured something wrong (exit 2). */
export class UsageError extends OmniAuthError {
  override readonly name = 'UsageError';
  constructor(code: string, message: string, options: Omit<OmniAuthErrorOptions, 'exitCode'> = {}) {
    super(code, message, { ...options, exitCode: ExitCode.usage });
  }
}

export function isOmniAuthError(e: unknown): e is OmniAuthError {
  // By shape as well as by class: code compiled lazily (scripts/build.mjs) has its own copy of this class.
  if (e instanceof OmniAuthError) return true;
  const x = e as { name?: unknown; code?: unknown; exitCode?: unknown } | null;
  return e instanceof Error && typeof x?.code === 'string' && typeof x.exitCode === 'number'
    && Object.values(ExitCode).includes(x.exitCode as ExitCode);
}
