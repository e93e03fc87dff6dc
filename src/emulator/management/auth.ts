/**
 * Management API authorization: a Bearer token this tenant issued for `{issuer}api/v2/` whose
 * `scope` claim holds the scope the route needs.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt } from 'jose';
import type { Tenant } from '../state.js';
import { verifyJwt } from '../tokens.js';
import { ManagementError, fail } from './errors.js';
import { EXPIRED_TOKEN, INVALID_TOKEN, MISSING_AUTHENTICATION, insufficientScope } from './rules.js';

const managementAudience = (tenant: Tenant): string => `${tenant.issuer}api/v2/`;

function bearer(headers: IncomingHttpHeaders): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Whether a token that failed verification is merely expired (Auth0 says so in the message). */
function expired(token: string): boolean {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' && exp <= Math.floor(Date.now() / 1000);
  } catch {
    return false;
  }
}

/**
 * Throws the 401 or 403 Auth0 gives when the request may not use a route needing `scope`; else the
 * token's scopes (some routes answer differently by scope, e.g. a connection's `options`).
 */
export async function authorize(tenant: Tenant, headers: IncomingHttpHeaders, scope: string | readonly string[]): Promise<readonly string[]> {
  const token = bearer(headers);
  if (token === undefined) throw fail(MISSING_AUTHENTICATION);
  const payload = await verifyJwt(tenant.signingKey, token, tenant.issuer, managementAudience(tenant));
  if (!payload) {
    const { status, message } = expired(token) ? EXPIRED_TOKEN : INVALID_TOKEN;
    // Auth0's Management API (hapi) repeats the message in `attributes`.
    throw new ManagementError(status, message, undefined, { attributes: { error: message } });
  }
  const granted = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  const anyOf = typeof scope === 'string' ? [scope] : scope;
  if (!anyOf.some((s) => granted.includes(s))) throw fail(insufficientScope(anyOf.join(',')));
  return granted;
}
