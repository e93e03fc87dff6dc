/**
 * Client authentication at /oauth/token and /oauth/revoke: client_id + client_secret in the body
 * (client_secret_post) or HTTP Basic (client_secret_basic, RFC 6749 §2.3.1). Either is accepted
 * whatever the client's token_endpoint_auth_method says; a public client (`none`) needs no secret.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BAD_CLIENT_SECRET, CLIENT_ID_MISMATCH, UNKNOWN_CLIENT } from './behaviour.js';
import { OAuthError, type Params } from './oauth-error.js';
import type { Client, Tenant } from './state.js';

interface Credentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
}

function basicCredentials(headers: IncomingHttpHeaders): Credentials | undefined {
  const header = headers.authorization;
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw OAuthError.of(BAD_CLIENT_SECRET);
  try {
    // RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    throw OAuthError.of(BAD_CLIENT_SECRET);
  }
}

function credentials(params: Params, headers: IncomingHttpHeaders): Credentials {
  const basic = basicCredentials(headers);
  const bodyId = params.get('client_id');
  if (basic) {
    if (bodyId !== undefined && bodyId !== basic.clientId) throw OAuthError.of(CLIENT_ID_MISMATCH);
    return basic;
  }
  return { clientId: bodyId, clientSecret: params.get('client_secret') };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface AuthenticatedClient {
  client: Client;
  /** True when a correct secret was presented (a confidential client proved itself). */
  withSecret: boolean;
}

/**
 * Finds and authenticates the calling client. A confidential client must present its secret;
 * `requireSecret` also demands one from a public client (client_credentials).
 */
export function authenticateClient(tenant: Tenant, params: Params, headers: IncomingHttpHeaders, requireSecret = false): AuthenticatedClient {
  const { clientId, clientSecret } = credentials(params, headers);
  if (clientId === undefined) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: client_id');
  const client = tenant.clients.get(clientId);
  if (!client) throw OAuthError.of(UNKNOWN_CLIENT);
  const confidential = client.token_endpoint_auth_method !== 'none';
  if (!confidential && !requireSecret) return { client, withSecret: false };
  if (clientSecret === undefined || client.client_secret === undefined || !sameSecret(clientSecret, client.client_secret)) {
    throw OAuthError.of(BAD_CLIENT_SECRET);
  }
  return { client, withSecret: true };
}
