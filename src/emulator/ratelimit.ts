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
