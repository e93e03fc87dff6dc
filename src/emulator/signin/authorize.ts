/**
 * `GET /authorize` (Authorization Code Flow with PKCE) and `POST /authorize` (the sign-in page's
 * form): an email + password page for the users of the database connections enabled for the
 * client, a consent page when Auth0 would ask for consent, and a 302 to the registered
 * `redirect_uri` with `code` and `state`. An unknown client or a `redirect_uri` that is not one of
 * the client's callbacks gets an error page, never a redirect; every later problem is a redirect
 * with `error`, `error_description` and `state` (RFC 6749 §4.1.2.1).
 *
 * CSRF: the page carries only a random per-transaction id (`tx`, a hidden field); the request's
 * parameters stay on the server. A POST whose `Origin` is not this emulator is refused.
 */
import { randomBytes } from 'node:crypto';
import {
  AUTH_TRANSACTION_LIFETIME_MS, SIGNIN_BLOCKED, WRONG_CREDENTIALS, defaultAudience,
} from '../behaviour.js';
import type { EmulatorReply, EmulatorRequest, Handler } from '../http-types.js';
import { findApi, splitScope } from '../issue.js';
import { nowIso, type AuthTransaction, type Client, type Connection, type ResourceServer, type Tenant, type User } from '../state.js';
import { callbackAllowed } from './callbacks.js';
import { issueCode } from './codes.js';
import { consentPage, errorPage, signinPage } from './page.js';
import { verifyPassword } from './passwords.js';

/** Thrown before the redirect_uri is known to be safe: answered with an HTML error page. */
class PageError extends Error {
  constructor(readonly status: number, readonly title: string, message: string) {
    super(message);
  }
}

/** Thrown once the redirect_uri is validated: answered with a redirect carrying the error. */
class RedirectError extends Error {
  constructor(readonly error: string, readonly description: string) {
    super(description);
  }
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function pageHeaders(formTarget?: string): Record<string, string> {
  const formAction = ["'self'", ...(formTarget ? [formTarget] : [])].join(' ');
  return {
    ...NO_STORE,
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the form's POST.
    'Referrer-Policy': 'same-origin',
  };
}

/** A CSP source for the callback: its origin, or its scheme for a custom-scheme (native app) callback. */
function originOf(uri: string): string {
  const url = new URL(uri);
  return url.origin !== 'null' ? url.origin : url.protocol;
}

function page(status: number, html: string, redirectUri?: string): EmulatorReply {
  return { status, html, headers: pageHeaders(redirectUri ? originOf(redirectUri) : undefined) };
}

function redirect(redirectUri: string, params: Record<string, string | undefined>): EmulatorReply {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return { status: 302, headers: { ...NO_STORE, Location: url.toString() } };
}

/** The database connections a person of this client may sign in with. */
function signinConnections(tenant: Tenant, client: Client): Connection[] {
  return [...tenant.connections.values()].filter((c) => c.strategy === 'auth0' && c.enabled_clients.includes(client.client_id));
}

/** A user of those connections with that email and a password (emails are stored lowercased). */
function findByEmail(tenant: Tenant, connections: readonly Connection[], email: string): User | undefined {
  const names = new Set(connections.map((c) => c.name));
  const wanted = email.trim().toLowerCase();
  for (const u of tenant.users.values()) {
    if (u.email === wanted && names.has(u.connection) && tenant.passwords.has(u.user_id)) return u;
  }
  return undefined;
}

/** Auth0 asks for consent unless the client is first-party, the API skips consent, and the app is not on `localhost`. */
function needsConsent(tenant: Tenant, client: Client, api: ResourceServer, tx: AuthTransaction, userId: string): boolean {
  if (tenant.userGrants.has(`${userId} ${client.client_id} ${api.identifier}`)) return false;
  const onLocalhost = new URL(tx.redirect_uri).hostname === 'localhost';
  return !client.is_first_party || !api.skip_consent_for_verifiable_first_party_clients || onLocalhost;
}

function sweep(tenant: Tenant, now: number): void {
  for (const [id, tx] of tenant.authTransactions) if (now - tx.created_at > AUTH_TRANSACTION_LIFETIME_MS) tenant.authTransactions.delete(id);
}

/** Checks of GET /authorize, in Auth0's order: client, redirect_uri (page errors), then the rest (redirect errors). */
function readRequest(tenant: Tenant, q: URLSearchParams): { client: Client; redirectUri: string; state: string | undefined; check: () => AuthTransaction } {
  const one = (name: string): string | undefined => {
    const values = q.getAll(name);
    if (values.length > 1) throw new PageError(400, 'Invalid request', `The parameter ${name} was given more than once.`);
    return values[0] === '' ? undefined : values[0];
  };
  const clientId = one('client_id');
  if (clientId === undefined) throw new PageError(400, 'Invalid request', 'Missing required parameter: client_id');
  const client = tenant.clients.get(clientId);
  if (!client) throw new PageError(400, 'Unknown client', `Unknown client: ${clientId}`);
  const redirectUri = one('redirect_uri');
  if (redirectUri === undefined) throw new PageError(400, 'Invalid request', 'Missing required parameter: redirect_uri');
  if (!callbackAllowed(client.callbacks, redirectUri)) {
    throw new PageError(400, 'Callback URL mismatch', `Callback URL mismatch. ${redirectUri} is not in the list of allowed callback URLs.`);
  }
  const state = one('state');
  const check = (): AuthTransaction => {
    const responseType = one('response_type');
    if (responseType === undefined) throw new RedirectError('invalid_request', 'Missing required parameter: response_type');
    if (responseType !== 'code') throw new RedirectError('unsupported_response_type', `Unsupported response type: ${responseType}`);
    if (!client.grant_types.includes('authorization_code')) {
      throw new RedirectError('unauthorized_client', "Grant type 'authorization_code' not allowed for the client.");
    }
    const challenge = one('code_challenge');
    const method = one('code_challenge_method');
    if (challenge !== undefined && method !== 'S256') {
      throw new RedirectError('invalid_request', 'code_challenge_method must be S256 (the only method Auth0 supports).');
    }
    if (challenge === undefined && client.token_endpoint_auth_method === 'none') {
      throw new RedirectError('invalid_request', 'Missing required parameter: code_challenge (PKCE is required for public clients).');
    }
    if (challenge !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      throw new RedirectError('invalid_request', 'code_challenge must be a base64url SHA-256 hash (43 characters).');
    }
    const audience = one('audience') ?? defaultAudience(tenant);
    if (!findApi(tenant, audience)) throw new RedirectError('access_denied', `Service not found: ${audience}`);
    if (signinConnections(tenant, client).length === 0) throw new RedirectError('invalid_request', 'no connections enabled for the client');
    // No SSO session is kept: every sign-in shows the page.
    if (one('prompt')?.split(' ').includes('none')) throw new RedirectError('login_required', 'Login required');
    const nonce = one('nonce');
    return {
      id: randomBytes(32).toString('base64url'),
      client_id: client.client_id,
      redirect_uri: redirectUri,
      audience,
      scope: one('scope') ?? 'openid',
      created_at: Date.now(),
      ...(state !== undefined ? { state } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
      ...(challenge !== undefined ? { code_challenge: challenge } : {}),
    };
  };
  return { client, redirectUri, state, check };
}

function start(tenant: Tenant, req: EmulatorRequest): EmulatorReply {
  const { client, redirectUri, state, check } = readRequest(tenant, req.query);
  let tx: AuthTransaction;
  try {
    tx = check();
  } catch (e) {
    if (e instanceof RedirectError) return redirect(redirectUri, { error: e.error, error_description: e.description, state });
    throw e;
  }
  sweep(tenant, tx.created_at);
  tenant.authTransactions.set(tx.id, tx);
  return page(200, signinPage({ tx: tx.id, clientName: client.name }), redirectUri);
}

/** A string field of a parsed form body. */
export function field(body: unknown, name: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** A form POST from another site (its Origin is not this emulator's) is refused. */
export function foreignOrigin(req: EmulatorRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  try {
    return new URL(origin).host.toLowerCase() !== (req.headers.host ?? '').toLowerCase();
  } catch {
    return true;
  }
}

/** The sign-in is done: the transaction is spent, the code goes to the callback. */
function finish(tenant: Tenant, tx: AuthTransaction, user: User): EmulatorReply {
  tenant.authTransactions.delete(tx.id);
  const code = issueCode(tenant, tx, user, tx.auth_time!);
  return redirect(tx.redirect_uri, { code, state: tx.state });
}

async function submit(tenant: Tenant, req: EmulatorRequest): Promise<EmulatorReply> {
  if (foreignOrigin(req)) return page(403, errorPage('Forbidden', 'This form was posted from another site.'));
  const txId = field(req.body, 'tx');
  const tx = txId === undefined ? undefined : tenant.authTransactions.get(txId);
  const now = Date.now();
  if (!tx || now - tx.created_at > AUTH_TRANSACTION_LIFETIME_MS) {
    if (tx) tenant.authTransactions.delete(tx.id);
    return page(400, errorPage('Sign-in expired', 'This sign-in page is no longer valid; start again from the application.'));
  }
  const client = tenant.clients.get(tx.client_id);
  const api = findApi(tenant, tx.audience);
  if (!client || !api || !callbackAllowed(client.callbacks, tx.redirect_uri)) {
    tenant.authTransactions.delete(tx.id);
    return page(400, errorPage('Sign-in expired', 'The application changed while signing in; start again from the application.'));
  }
  const back = (error: string, description: string): EmulatorReply => {
    tenant.authTransactions.delete(tx.id);
    return redirect(tx.redirect_uri, { error, error_description: description, state: tx.state });
  };

  const consent = field(req.body, 'consent');
  if (consent !== undefined) {
    const user = tx.user_id === undefined ? undefined : tenant.users.get(tx.user_id);
    if (!user) return page(400, errorPage('Sign-in expired', 'Sign in first; start again from the application.'));
    if (consent !== 'accept') return back('access_denied', 'User did not authorize the request');
    if (user.blocked) return back(SIGNIN_BLOCKED.error, SIGNIN_BLOCKED.description);
    tenant.userGrants.add(`${user.user_id} ${client.client_id} ${api.identifier}`);
    return finish(tenant, tx, user);
  }

  const email = field(req.body, 'email') ?? '';
  const password = field(req.body, 'password') ?? '';
  const user = email === '' ? undefined : findByEmail(tenant, signinConnections(tenant, client), email);
  const ok = await verifyPassword(password, user === undefined ? undefined : tenant.passwords.get(user.user_id));
  if (!user || !ok) {
    tenant.stats.logins.failed += 1;
    return page(400, signinPage({ tx: tx.id, clientName: client.name, email, error: WRONG_CREDENTIALS }), tx.redirect_uri);
  }
  if (user.blocked) return back(SIGNIN_BLOCKED.error, SIGNIN_BLOCKED.description);
  tenant.stats.logins.ok += 1;
  user.last_login = nowIso();
  user.logins_count += 1;
  tx.user_id = user.user_id;
  tx.auth_time = Math.floor(now / 1000);
  if (needsConsent(tenant, client, api, tx, user.user_id)) {
    return page(200, consentPage({ tx: tx.id, clientName: client.name, audience: api.identifier, scopes: splitScope(tx.scope) }), tx.redirect_uri);
  }
  return finish(tenant, tx, user);
}

export function authorizeHandler(tenant: Tenant): Handler {
  return async (req) => {
    if (req.path !== '/authorize') return undefined;
    try {
      if (req.method === 'GET') return start(tenant, req);
      if (req.method === 'POST') return await submit(tenant, req);
      return { ...page(405, errorPage('Method not allowed', 'Use GET or POST.')), headers: { ...pageHeaders(), Allow: 'GET, POST' } };
    } catch (e) {
      if (e instanceof PageError) return page(e.status, errorPage(e.title, e.message));
      throw e;
    }
  };
}
