/**
 * A fixed 1-second window counter and the X-RateLimit-* headers Auth0 sends on every response
 * (Limit, Remaining, Reset = the window's end in UTC epoch seconds).
 */
export interface WindowState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** UTC epoch seconds when the window resets. */
  reset: number;
}

export class FixedWindow {
  #window = -1;
  #count = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one request when it fits under `limit`; a refused request does not count. */
  take(limit: number): WindowState {
    const second = this.#roll();
    const allowed = this.#count < limit;
    if (allowed) this.#count++;
    return { allowed, limit, remaining: Math.max(0, limit - this.#count), reset: second + 1 };
  }

  reset(): void {
    this.#window = -1;
    this.#count = 0;
  }

  #roll(): number {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.#window) {
      this.#window = second;
      this.#count = 0;
    }
    return second;
  }
}

export function rateLimitHeaders(s: WindowState): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(s.limit),
    'X-RateLimit-Remaining': String(s.remaining),
    'X-RateLimit-Reset': String(s.reset),
  };
}

/**
 * Auth0's rate-limit algorithm for an endpoint limit (Rate Limit Policy § rate limit algorithm): a
 * bucket of `burst` requests that regains `rate` requests per second. The Custom Token Exchange limit
 * is of type "Any request" — one bucket for the whole tenant.
 *
 * `Reset` is the UTC epoch second by which the bucket holds one whole request again (the next
 * second when it holds one now): Auth0 says only "remaining time until the rate limit resets, in UTC
 * epoch seconds"; this is the emulator's reading (docs/fidelity.md, issue 14).
 */
export class TokenBucket {
  #tokens = Number.NaN;
  #at = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one request when the bucket holds one; a refused request takes nothing. */
  take(burst: number, ratePerSecond: number): WindowState {
    const now = this.now();
    const cap = Math.max(0, burst);
    if (Number.isNaN(this.#tokens)) this.#tokens = cap;
    const refill = ratePerSecond > 0 ? ((now - this.#at) / 1000) * ratePerSecond : 0;
    this.#tokens = Math.min(cap, this.#tokens + Math.max(0, refill));
    this.#at = now;
    const allowed = this.#tokens >= 1;
    if (allowed) this.#tokens -= 1;
    const missing = Math.max(0, 1 - this.#tokens);
    // No refill and nothing left: the bucket never fills again; say "in a second" as a window would.
    const nextMs = missing === 0 ? now : ratePerSecond > 0 ? now + (missing / ratePerSecond) * 1000 : now;
    return {
      allowed,
      limit: Math.floor(cap),
      remaining: Math.max(0, Math.floor(this.#tokens)),
      reset: Math.floor(nextMs / 1000) + 1,
    };
  }

  /** A full bucket again (the control endpoint's reset-throttle). */
  reset(): void {
    this.#tokens = Number.NaN;
  }
}

/**
 * The Custom Token Exchange limit of Auth0's plans (Rate Limit Configurations: "Self Service" and
 * "Essentials and Professional": burst 4, 4/second; Enterprise: 15, 15/second), for `--plan`.
 */
export const PLANS = {
  essentials: { burst: 4, rate: 4 },
  professional: { burst: 4, rate: 4 },
  enterprise: { burst: 15, rate: 15 },
} as const;
export type Plan = keyof typeof PLANS;
export const PLAN_NAMES = Object.keys(PLANS) as Plan[];
