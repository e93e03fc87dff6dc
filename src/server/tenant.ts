/**
 * The tenant's URLs from what a server is configured with: `tenant.eu.auth0.com`, a full
 * `https://` origin (custom domains included), or — for the emulator — `http://` on loopback.
 * Auth0's issuer is the origin with a trailing slash; its keys are at `/.well-known/jwks.json`.
 */
import { ServerConfigError } from './errors.js';

export interface TenantUrls {
  /** `https://tenant.eu.auth0.com` */
  origin: string;
  /** `https://tenant.eu.auth0.com/` — compared exactly with `iss`. */
  issuer: string;
  jwksUri: string;
}

/** Hosts that may be reached over plain http:// — this machine only. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

export function tenantUrls(domain: string): TenantUrls {
  const raw = typeof domain === 'string' ? domain.trim() : '';
  if (raw === '') throw new ServerConfigError('invalid_domain', '"domain" is missing or empty', 'pass the Auth0 domain, e.g. tenant.eu.auth0.com');
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw new ServerConfigError('invalid_domain', `"domain" (${raw}) is not a host name or URL`, 'use the tenant domain, e.g. tenant.eu.auth0.com');
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ServerConfigError('invalid_domain', `"domain" (${raw}) must be a bare domain or origin`, `use ${url.protocol}//${url.host}`);
  }
  if (url.protocol === 'http:' ? !isLoopbackHost(url.hostname) : url.protocol !== 'https:') {
    throw new ServerConfigError('insecure_domain', `"domain" (${raw}) must use https:// (http:// only on loopback, for the emulator)`, `use https://${url.host}`);
  }
  return { origin: url.origin, issuer: `${url.origin}/`, jwksUri: `${url.origin}/.well-known/jwks.json` };
}
