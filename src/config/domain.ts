import { UsageError } from '../util/errors.js';

/** Hosts that may be reached over plain http:// — this machine only. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Normalises what a user passes to --domain into an origin: `tenant.region.auth0.com` →
 * `https://tenant.region.auth0.com`; a full URL keeps its scheme and port. `http://` is accepted
 * only for loopback hosts (the emulator); anything else is a usage error that says why.
 */
export function normalizeDomain(input: string, source = '--domain'): string {
  const raw = input.trim();
  if (raw === '') throw new UsageError('invalid_domain', `${source} is empty`, { hint: 'pass the Auth0 domain, e.g. --domain tenant.eu.auth0.com' });
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);
  let url: URL;
  try {
    url = new URL(hasScheme ? raw : `https://${raw}`);
  } catch {
    throw new UsageError('invalid_domain', `${source} "${raw}" is not a host name or URL`, {
      hint: 'use the tenant domain, e.g. tenant.eu.auth0.com, or a full https:// URL',
    });
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new UsageError('invalid_domain', `${source} "${raw}" must be a bare domain or origin (no user, path, query or fragment)`, {
      hint: `use ${url.protocol}//${url.host}`,
    });
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new UsageError('insecure_domain', `${source} "${raw}" uses http:// for a host that is not loopback`, {
        hint: `tokens must travel over TLS: use https://${url.host} (http:// is allowed only for 127.0.0.1, ::1 and localhost)`,
      });
    }
  } else if (url.protocol !== 'https:') {
    throw new UsageError('invalid_domain', `${source} "${raw}" has unsupported scheme ${url.protocol}`, { hint: 'use https://' });
  }
  return url.origin;
}

/** The issuer Auth0 puts in its tokens for a domain origin: `https://{domain}/`. */
export const issuerOf = (origin: string): string => `${origin}/`;
