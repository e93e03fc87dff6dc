/**
 * The OAuth/OIDC protocol work of the sign-in, done by oauth4webapi: discovery from the tenant, the
 * authorization URL (PKCE S256, `state`, our key-bound `nonce`), the callback's validation, the code
 * exchange and the ID token's claims; then the ID token's signature against the tenant's JWKS (jose).
 */
import * as oauth from 'oauth4webapi';
import { Secret } from '../util/secret.js';
import { codeRefused, idTokenUnverified, signinDenied, stateMismatch, tenantUnusable, badCallback } from './errors.js';

export interface Tenant {
  /** `https://tenant.eu.auth0.com/` (or `http://127.0.0.1:PORT/` for the emulator). */
  issuer: string;
  clientId: string;
  clientSecret?: Secret;
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  /** The PKCE verifier: a secret until the code is exchanged. */
  verifier: Secret;
  nonce: string;
  redirectUri: string;
}

export interface SignInTokens {
  accessToken: Secret;
  refreshToken?: Secret;
  idToken: Secret;
  tokenType: string;
  expiresIn?: number;
  scope?: string;
  /** The verified ID token's claims (sub, name, iat, …). */
  claims: { sub: string; iat: number; name?: string; nickname?: string; email?: string; [claim: string]: unknown };
}

/** http:// is allowed only to loopback (the emulator, a test's fake tenant). */
const insecureOk = (url: URL): boolean => url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

export interface Discovered {
  as: oauth.AuthorizationServer;
  host: string;
}

export async function discover(tenant: Tenant): Promise<Discovered> {
  const issuer = new URL(tenant.issuer);
  const options = { [oauth.allowInsecureRequests]: insecureOk(issuer) };
  let as: oauth.AuthorizationServer;
  try {
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw e instanceof oauth.OperationProcessingError
      ? tenantUnusable(issuer.host, `its discovery document is unusable (${why})`)
      : tenantUnusable(issuer.host, `its discovery document could not be fetched (${why})`);
  }
  const missing = (['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const).filter((k) => typeof as[k] !== 'string');
  if (missing.length > 0) throw tenantUnusable(issuer.host, `its discovery document has no ${missing.join(', ')}`);
  return { as, host: issuer.host };
}

export async function authorizationRequest(d: Discovered, tenant: Tenant, p: { redirectUri: string; scope: string; audience: string; nonce: string }): Promise<AuthorizationRequest> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(d.as.authorization_endpoint!);
  url.searchParams.set('client_id', tenant.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', p.redirectUri);
  url.searchParams.set('scope', p.scope);
  url.searchParams.set('audience', p.audience);
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', p.nonce);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return { url, state, verifier: new Secret(verifier), nonce: p.nonce, redirectUri: p.redirectUri };
}

/**
 * What the callback says, checked in the order a person can act on: `state` first (a callback for
 * another sign-in is not ours to read further), then `error=`, then the code's presence (oauth4webapi).
 */
export function checkCallback(d: Discovered, tenant: Tenant, req: AuthorizationRequest, params: URLSearchParams): URLSearchParams {
  if (params.get('state') !== req.state) throw stateMismatch();
  if (params.has('error')) throw signinDenied(d.host, params.get('error'), params.get('error_description'));
  try {
    return oauth.validateAuthResponse(d.as, { client_id: tenant.clientId }, params, req.state);
  } catch (e) {
    if (e instanceof oauth.AuthorizationResponseError) throw signinDenied(d.host, e.error, e.error_description ?? null);
    throw badCallback(e instanceof Error ? e.message : String(e));
  }
}

/** Exchanges the code (with the PKCE verifier) and verifies the ID token: claims, nonce, and signature. */
export async function redeem(d: Discovered, tenant: Tenant, req: AuthorizationRequest, callback: URLSearchParams): Promise<SignInTokens> {
  const client: oauth.Client = { client_id: tenant.clientId };
  const auth = tenant.clientSecret ? oauth.ClientSecretPost(tenant.clientSecret.reveal()) : oauth.None();
  const options = { [oauth.allowInsecureRequests]: insecureOk(new URL(d.as.token_endpoint!)) };
  const code = callback.get('code') ?? '';
  const secrets = [code, req.verifier.reveal(), ...(tenant.clientSecret ? [tenant.clientSecret.reveal()] : [])];
  let result: oauth.TokenEndpointResponse;
  try {
    const response = await oauth.authorizationCodeGrantRequest(d.as, client, auth, callback, req.redirectUri, req.verifier.reveal(), options);
    result = await oauth.processAuthorizationCodeResponse(d.as, client, response, { expectedNonce: req.nonce, requireIdToken: true });
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) throw codeRefused(d.host, e.error, e.error_description, secrets);
    if (e instanceof oauth.OperationProcessingError && e.code !== oauth.RESPONSE_IS_NOT_JSON && e.code !== oauth.RESPONSE_IS_NOT_CONFORM) {
      throw idTokenUnverified(d.host, e.message);
    }
    throw tenantUnusable(d.host, `the token endpoint failed (${e instanceof Error ? e.message : String(e)})`);
  }
  const idToken = result.id_token!;
  const claims = await verifyIdToken(d, tenant, idToken, req.nonce);
  return {
    accessToken: new Secret(result.access_token),
    ...(result.refresh_token ? { refreshToken: new Secret(result.refresh_token) } : {}),
    idToken: new Secret(idToken),
    tokenType: result.token_type,
    ...(result.expires_in !== undefined ? { expiresIn: result.expires_in } : {}),
    ...(result.scope ? { scope: result.scope } : {}),
    claims,
  };
}

/**
 * The ID token's signature against the tenant's JWKS (RS256, as Auth0 signs them by default), with
 * issuer, audience (the client id) and the nonce that binds the key. oauth4webapi checked the claims
 * already; the signature is what turns the ID token into an attestation the Action can check too.
 */
async function verifyIdToken(d: Discovered, tenant: Tenant, idToken: string, nonce: string): Promise<SignInTokens['claims']> {
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  try {
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(d.as.jwks_uri!)), {
      issuer: d.as.issuer,
      audience: tenant.clientId,
      algorithms: ['RS256'],
      requiredClaims: ['sub', 'iat', 'nonce'],
      clockTolerance: 30,
    });
    if (payload.nonce !== nonce) throw new Error('unexpected "nonce" claim value');
    return payload as SignInTokens['claims'];
  } catch (e) {
    throw idTokenUnverified(d.host, e instanceof Error ? e.message : String(e));
  }
}
