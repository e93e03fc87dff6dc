/**
 * One cache entry per (tenant, application, API, scopes). The key is readable in the file —
 * `https://tenant.eu.auth0.com|<client id>|https://api.example.com|email openid` — and parses back, so
 * `status` and `logout` can select entries by tenant. A client-credentials token (issue 12 §4) has its
 * own entry, the grant as a fifth part: `…|<scopes>|client-credentials`.
 */

export interface CacheKey {
  /** The tenant origin, as config/domain.ts normalizes it (this module does not normalize it again). */
  domain: string;
  clientId: string;
  audience: string;
  /** Space-separated scopes; order and repeats do not matter. */
  scope: string;
  /** Absent for the exchange's tokens (their keys are unchanged). */
  grant?: 'client-credentials';
  /**
   * A CI job's token (issue 14 §1, src/broker/ci-token.ts): which job it is for (`github:<hash>`),
   * so it never mixes with the machine key's entry or another job's. Absent for every other token.
   */
  ci?: string;
}

/**
 * Scopes are a set: "openid email" and "email  openid" ask for the same token, so they share one entry.
 * Sorted, deduplicated, single spaces.
 */
export function normalizeScope(scope: string): string {
  return [...new Set(scope.split(/\s+/).filter((s) => s !== ''))].sort().join(' ');
}

// `|` separates the parts; `%` and `|` inside a part are percent-encoded so any value round-trips.
const escape = (part: string): string => part.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'));
const unescape = (part: string): string => part.replace(/%(25|7C)/g, (_, hex: string) => (hex === '25' ? '%' : '|'));

export const CLIENT_CREDENTIALS_GRANT = 'client-credentials';
const CI_PART = 'ci=';

/** Four parts; a fifth only for a client-credentials token or a CI job's token (never both). */
export function cacheKeyOf(key: CacheKey): string {
  const parts = [key.domain, key.clientId, key.audience, normalizeScope(key.scope)];
  if (key.grant === CLIENT_CREDENTIALS_GRANT) parts.push(CLIENT_CREDENTIALS_GRANT);
  else if (key.ci !== undefined) parts.push(`${CI_PART}${key.ci}`);
  return parts.map(escape).join('|');
}

/** The parts of a key, or undefined when `text` is not a key cacheKeyOf would produce. */
export function parseCacheKey(text: string): CacheKey | undefined {
  const parts = text.split('|');
  if (parts.length !== 4 && parts.length !== 5) return undefined;
  const [domain, clientId, audience, scope, fifth] = parts.map(unescape) as [string, string, string, string, string | undefined];
  let extra: Partial<CacheKey> = {};
  if (fifth === CLIENT_CREDENTIALS_GRANT) extra = { grant: CLIENT_CREDENTIALS_GRANT };
  else if (fifth !== undefined && fifth.startsWith(CI_PART)) extra = { ci: fifth.slice(CI_PART.length) };
  else if (fifth !== undefined) return undefined;
  const key: CacheKey = { domain, clientId, audience, scope, ...extra };
  return cacheKeyOf(key) === text ? key : undefined;
}
