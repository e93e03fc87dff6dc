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
  return canonicalOrigin(raw) ?? parseDomain(raw, source);
}

/** Scheme, lower-case ASCII labels, a port without leading zeros. */
const SIMPLE = /^(https?:\/\/)?((?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63})(?::([1-9]\d{0,4}))?$/;

/**
 * The origin of a domain already in the form normalizeDomain returns (settings hold it so), or
 * undefined: the URL parser decides. A warm `token` reads the domain on every run, and the first
 * `new URL` of a process costs it ~0.4 ms (issue 13). test/config/domain.property.test.ts checks this
 * against the parser.
 */
export function canonicalOrigin(raw: string): string | undefined {
  const m = raw.length <= 300 ? SIMPLE.exec(raw) : null;
  if (!m) return undefined;
  const [, scheme = 'https://', host = '', port] = m;
  const labels = host.split('.');
  // A last label that is a number makes the host an IPv4 address (WHATWG "ends in a number"), which
  // the parser rewrites unless it is already dotted decimal; xn-- labels are checked as Punycode.
  // The parser decides those. (Checked by hand: compiling a regular expression for IPv4 took longer
  // than the URL parser.)
  const last = labels[labels.length - 1]!;
  if (isNumber(last) ? !isDottedDecimal(labels) : last.startsWith('0x') && isHex(last.slice(2))) return undefined;
  if (labels.some((l) => l.startsWith('xn--'))) return undefined;
  if (port !== undefined && (Number(port) > 65535 || port === (scheme === 'https://' ? '443' : '80'))) return undefined;
  if (scheme === 'http://' && !isLoopbackHost(host)) return undefined;
  return `${scheme}${host}${port === undefined ? '' : `:${port}`}`;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isNumber = (s: string): boolean => [...s].every((c) => isDigit(c.charCodeAt(0)));
const isHex = (s: string): boolean => [...s].every((c) => isDigit(c.charCodeAt(0)) || (c >= 'a' && c <= 'f'));
/** Four decimal numbers 0–255 without leading zeros: an IPv4 address as the parser writes it. */
const isDottedDecimal = (labels: string[]): boolean =>
  labels.length === 4 && labels.every((l) => isNumber(l) && l.length <= 3 && (l.length === 1 || l[0] !== '0') && Number(l) <= 255);

/** normalizeDomain by the URL parser, with its errors. */
export function parseDomain(raw: string, source = '--domain'): string {
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
