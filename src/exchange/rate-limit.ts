/**
 * How long a 429 asks us to wait. Auth0 documents `X-RateLimit-Reset` (UTC epoch seconds) on every
 * response; `Retry-After` (seconds or an HTTP date) is not documented for /oauth/token but wins when
 * present, being the server's own answer to "when".
 *
 * @returns milliseconds from `nowMs` (never negative), or undefined when neither header is usable.
 */
export function rateLimitWaitMs(headers: Record<string, string>, nowMs: number): number | undefined {
  const retryAfter = headers['retry-after']?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  const reset = headers['x-ratelimit-reset']?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - nowMs);
  return undefined;
}
