import { isLoopbackHost } from '../config/domain.js';
import { UsageError } from '../util/errors.js';

/**
 * The last line of defence before a secret leaves the process: https:// only, or http:// to this
 * machine (the emulator). `normalizeDomain` already refuses the rest; this catches any path around it.
 */
export function assertSecureUrl(url: URL): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  throw new UsageError('insecure_url', `refusing to send credentials to ${url.origin}: only https:// is allowed (http:// only to 127.0.0.1, ::1 or localhost)`, {
    hint: 'set the domain to the tenant\'s https:// address, e.g. --domain tenant.eu.auth0.com',
  });
}
