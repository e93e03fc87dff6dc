/**
 * Client authentication at /oauth/token and /oauth/revoke: client_id + client_secret in the body
 * (client_secret_post) or HTTP Basic (client_secret_basic, RFC 6749 §2.3.1) — either is accepted
 * whatever the client's token_endpoint_auth_method says; a public client (`none`) needs no secret —
 * or a `client_assertion` (Private Key JWT, RFC 7523 §2.2, as Auth0's "Authenticate with Private Key
 * JWT" describes it) for a client whose `client_authentication_methods` enables `private_key_jwt`.
 * Such a client is refused with its secret, and a client without it is refused with an assertion.
 */
import { createPublicKey, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  ASSERTION_LIFETIME_MAX_SECONDS, ASSERTION_REFUSED, ASSERTION_TYPE, BAD_CLIENT_SECRET, CLIENT_ID_MISMATCH,
  PRIVATE_KEY_JWT_REQUIRED, TWO_CLIENT_AUTH_METHODS, UNKNOWN_CLIENT,
} from './behaviour.js';
import { OAuthError, invalidRequest, type Params } from './oauth-error.js';
import type { Client, ClientCredential, Tenant } from './state.js';

interface Credentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** How the secret came: Basic or the body. */
  basic: boolean;
}

function basicCredentials(headers: IncomingHttpHeaders): Omit<Credentials, 'basic'> | undefined {
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
    return { ...basic, basic: true };
  }
  return { clientId: bodyId, clientSecret: params.get('client_secret'), basic: false };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface AuthenticatedClient {
  client: Client;
  /** True when the client proved itself (a correct secret, or a valid client assertion). */
  withSecret: boolean;
}

/** The client's credentials enabled for Private Key JWT (undefined: the method is not configured). */
function privateKeyJwtCredentials(tenant: Tenant, client: Client): ClientCredential[] | undefined {
  const enabled = client.client_authentication_methods?.private_key_jwt;
  if (!enabled) return undefined;
  return enabled.credentials.map((c) => tenant.credentials.get(c.id)).filter((c): c is ClientCredential => c !== undefined);
}

/** Forgets spent assertion ids once they could no longer be replayed anyway (their `exp` passed). */
function purgeUsed(tenant: Tenant, now: number): void {
  for (const [jti, exp] of tenant.usedAssertions) if (exp < now) tenant.usedAssertions.delete(jti);
}

/**
 * Verifies a client assertion: signed by an enabled, unexpired credential of the client with that
 * credential's `alg`; `iss` = `sub` = the client id; `aud` the tenant's URL (`https://{domain}/`);
 * `exp` in the future and at most five minutes after `iat` (or now); a `jti` never seen before.
 */
async function verifyAssertion(tenant: Tenant, client: Client, assertion: string, creds: ClientCredential[]): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw OAuthError.of(ASSERTION_REFUSED, ' (not a JWT)');
  }
  const nowSec = Math.floor(Date.now() / 1000);
  const usable = creds.filter((c) => (header.kid === undefined || c.kid === header.kid)
    && (c.expires_at === undefined || Date.parse(c.expires_at) > Date.now()));
  for (const cred of usable) {
    if (header.alg !== cred.alg) continue;
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(assertion, createPublicKey(cred.pem), {
        algorithms: [cred.alg], issuer: client.client_id, subject: client.client_id, audience: tenant.issuer,
        requiredClaims: ['exp', 'jti'], currentDate: new Date(nowSec * 1000),
      }));
    } catch {
      continue;
    }
    const exp = payload.exp!;
    if (exp - (payload.iat ?? nowSec) > ASSERTION_LIFETIME_MAX_SECONDS) throw OAuthError.of(ASSERTION_REFUSED, ' (it lives longer than 5 minutes)');
    purgeUsed(tenant, nowSec);
    const spent = `${client.client_id} ${payload.jti!}`;
    if (tenant.usedAssertions.has(spent)) throw OAuthError.of(ASSERTION_REFUSED, ' (its jti was already used)');
    tenant.usedAssertions.set(spent, exp);
    return;
  }
  throw OAuthError.of(ASSERTION_REFUSED);
}

/**
 * Finds and authenticates the calling client. A confidential client must present its secret (or its
 * client assertion); `requireSecret` also demands one from a public client (client_credentials).
 */
export async function authenticateClient(tenant: Tenant, params: Params, headers: IncomingHttpHeaders, requireSecret = false): Promise<AuthenticatedClient> {
  const assertionType = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  const { clientId: givenId, clientSecret, basic } = credentials(params, headers);
  if (assertionType !== undefined || assertion !== undefined) {
    if (assertionType !== ASSERTION_TYPE) throw invalidRequest(`client_assertion_type must be ${ASSERTION_TYPE}`);
    if (assertion === undefined) throw invalidRequest('Missing required parameter: client_assertion');
    // RFC 6749 §2.3: a client must not use more than one authentication method in a request.
    if (clientSecret !== undefined || basic) throw OAuthError.of(TWO_CLIENT_AUTH_METHODS);
    let iss: unknown;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      throw OAuthError.of(ASSERTION_REFUSED, ' (not a JWT)');
    }
    const clientId = givenId ?? (typeof iss === 'string' ? iss : undefined);
    if (clientId === undefined) throw invalidRequest('Missing required parameter: client_id');
    const client = tenant.clients.get(clientId);
    if (!client) throw OAuthError.of(UNKNOWN_CLIENT);
    const creds = privateKeyJwtCredentials(tenant, client);
    if (!creds) throw OAuthError.of(ASSERTION_REFUSED, ' (the client is not configured for Private Key JWT)');
    await verifyAssertion(tenant, client, assertion, creds);
    return { client, withSecret: true };
  }
  if (givenId === undefined) throw invalidRequest('Missing required parameter: client_id');
  const client = tenant.clients.get(givenId);
  if (!client) throw OAuthError.of(UNKNOWN_CLIENT);
  // Private Key JWT replaces the secret: the stored secret no longer authenticates the client.
  if (privateKeyJwtCredentials(tenant, client)) throw OAuthError.of(PRIVATE_KEY_JWT_REQUIRED);
  const confidential = client.token_endpoint_auth_method !== 'none';
  if (!confidential && !requireSecret) return { client, withSecret: false };
  if (clientSecret === undefined || client.client_secret === undefined || !sameSecret(clientSecret, client.client_secret)) {
    throw OAuthError.of(BAD_CLIENT_SECRET);
  }
  return { client, withSecret: true };
}
