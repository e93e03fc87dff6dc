/**
 * The Device Authorization Flow (RFC 8628) as Auth0 runs it ("Call Your API Using the Device
 * Authorization Flow"; Authentication API › Device Authorization Flow):
 *
 *   POST /oauth/device/code   client_id, scope, audience → device_code, user_code, verification_uri(_complete),
 *                             expires_in (900), interval (5); the client needs the Device Code grant type.
 *   GET/POST /activate        the verification page: the user code and the person's email + password
 *                             (the sign-in page's pieces), then Confirm or Cancel.
 *   POST /oauth/token         grant_type=urn:ietf:params:oauth:grant-type:device_code: 403 authorization_pending
 *                             until the page is done, 429 slow_down when polled faster than the interval
 *                             (the interval grows by 5 s, RFC 8628 §3.5), 403 expired_token after expires_in,
 *                             403 access_denied when the person cancelled (or is blocked), then the tokens —
 *                             once: the device code is spent.
 *
 * The flow takes no `nonce` (Auth0's /oauth/device/code documents none), so its ID token cannot carry
 * the key binding: the CLI uses it only to get the person's own tokens (docs/signin.md).
 *
 * State lives beside the tenant (a WeakMap), not in state.ts: the flow is self-contained here.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { WRONG_CREDENTIALS, defaultAudience } from '../behaviour.js';
import { authenticateClient } from '../client-auth.js';
import { requireGrantType } from '../grants.js';
import type { EmulatorReply, EmulatorRequest, Handler } from '../http-types.js';
import { findApi, grantScopes, issueUserTokens, splitScope, wantsRefreshToken } from '../issue.js';
import { OAuthError, Params } from '../oauth-error.js';
import { nowIso, type Client, type Tenant, type User } from '../state.js';
import { field, foreignOrigin } from './authorize.js';
import { errorPage, escapeHtml, layout } from './page.js';
import { verifyPassword } from './passwords.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Auth0's documented defaults: the codes live 15 minutes, the client polls every 5 seconds. */
export const DEVICE_CODE_LIFETIME_S = 900;
export const DEVICE_POLL_INTERVAL_S = 5;
/** Auth0's default user code: 8 characters of BCDFGHJKLMNPQRSTVWXZ shown as XXXX-XXXX. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

interface DeviceRecord {
  device_code: string;
  user_code: string;
  client_id: string;
  audience: string;
  scope: string;
  created_at: number;
  interval: number;
  last_poll?: number;
  status: 'pending' | 'approved' | 'denied';
  denied_description?: string;
  user_id?: string;
  auth_time?: number;
}

const stores = new WeakMap<Tenant, Map<string, DeviceRecord>>();
function store(tenant: Tenant): Map<string, DeviceRecord> {
  let s = stores.get(tenant);
  if (!s) stores.set(tenant, (s = new Map()));
  return s;
}

const expired = (r: DeviceRecord, now: number): boolean => now - r.created_at > DEVICE_CODE_LIFETIME_S * 1000;

function sweep(tenant: Tenant, now: number): void {
  // Kept a while past expiry so that a late poll still reads expired_token, not invalid_grant.
  for (const [code, r] of store(tenant)) if (now - r.created_at > 2 * DEVICE_CODE_LIFETIME_S * 1000) store(tenant).delete(code);
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function newUserCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}
/** What a person types: case and the dash do not matter. */
const normalise = (code: string): string => code.toUpperCase().replace(/[^A-Z]/g, '');

async function deviceCode(tenant: Tenant, req: EmulatorRequest): Promise<EmulatorReply> {
  const params = new Params(req.body);
  const { client } = await authenticateClient(tenant, params, req.headers);
  requireGrantType(client, DEVICE_CODE_GRANT);
  const audience = params.get('audience') ?? defaultAudience(tenant);
  if (!findApi(tenant, audience)) throw new OAuthError(403, 'access_denied', `Service not found: ${audience}`);
  const now = Date.now();
  sweep(tenant, now);
  const record: DeviceRecord = {
    device_code: randomBytes(32).toString('base64url'),
    user_code: newUserCode(),
    client_id: client.client_id,
    audience,
    scope: params.get('scope') ?? 'openid',
    created_at: now,
    interval: DEVICE_POLL_INTERVAL_S,
    status: 'pending',
  };
  store(tenant).set(record.device_code, record);
  const verification = `${tenant.issuer}activate`;
  return {
    status: 200,
    headers: NO_STORE,
    body: {
      device_code: record.device_code,
      user_code: record.user_code,
      verification_uri: verification,
      verification_uri_complete: `${verification}?user_code=${encodeURIComponent(record.user_code)}`,
      expires_in: DEVICE_CODE_LIFETIME_S,
      interval: DEVICE_POLL_INTERVAL_S,
    },
  };
}

/** The token endpoint's device_code grant. */
async function poll(tenant: Tenant, req: EmulatorRequest, params: Params): Promise<EmulatorReply> {
  const { client } = await authenticateClient(tenant, params, req.headers);
  requireGrantType(client, DEVICE_CODE_GRANT);
  const code = params.require('device_code');
  const record = store(tenant).get(code);
  if (!record || record.client_id !== client.client_id) throw new OAuthError(403, 'invalid_grant', 'Invalid or expired device code.');
  const now = Date.now();
  if (expired(record, now)) {
    store(tenant).delete(code);
    throw new OAuthError(403, 'expired_token', 'Token expired');
  }
  if (record.status === 'denied') {
    store(tenant).delete(code);
    throw new OAuthError(403, 'access_denied', record.denied_description ?? 'User cancelled the confirmation prompt or consent page.');
  }
  const tooSoon = record.last_poll !== undefined && now - record.last_poll < record.interval * 1000;
  record.last_poll = now;
  if (tooSoon) {
    record.interval += 5;
    throw new OAuthError(429, 'slow_down', `You are polling faster than the specified interval of ${record.interval - 5} seconds.`);
  }
  if (record.status === 'pending') throw new OAuthError(403, 'authorization_pending', 'User has yet to authorize device code.');
  store(tenant).delete(code);
  const user = record.user_id === undefined ? undefined : tenant.users.get(record.user_id);
  const api = findApi(tenant, record.audience);
  if (!user || !api) throw new OAuthError(403, 'invalid_grant', 'Invalid or expired device code.');
  if (user.blocked) throw new OAuthError(403, 'access_denied', 'user is blocked');
  const requested = splitScope(record.scope);
  const refreshToken = wantsRefreshToken(requested, api) && client.grant_types.includes('refresh_token');
  const body = await issueUserTokens({
    tenant, client, user, api, scopes: grantScopes(requested, api, refreshToken), refreshToken,
    protocolClaims: { auth_time: record.auth_time! },
  });
  return { status: 200, body, headers: NO_STORE };
}

// ---- the verification page ----

const PAGE_HEADERS = {
  ...NO_STORE,
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};
const page = (status: number, html: string): EmulatorReply => ({ status, html, headers: PAGE_HEADERS });

export function activatePage(p: { userCode?: string; email?: string; error?: string }): string {
  return layout('Device activation', `<h1>Device activation</h1>
<p>Enter the code shown on your device, then sign in to confirm it.</p>
${p.error ? `<p class="error" role="alert" id="error">${escapeHtml(p.error)}</p>` : ''}
<form method="post" action="/activate" id="activate">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" autocomplete="off" required value="${escapeHtml(p.userCode ?? '')}">
<label for="email">Email address</label>
<input type="email" id="email" name="email" autocomplete="username" required value="${escapeHtml(p.email ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" name="action" value="confirm" id="confirm">Confirm</button>
<button type="submit" name="action" value="cancel" id="cancel" formnovalidate>Cancel</button>
</form>`);
}

function findPerson(tenant: Tenant, client: Client, email: string): User | undefined {
  const names = new Set([...tenant.connections.values()]
    .filter((c) => c.strategy === 'auth0' && c.enabled_clients.includes(client.client_id)).map((c) => c.name));
  const wanted = email.trim().toLowerCase();
  for (const u of tenant.users.values()) {
    if (u.email === wanted && names.has(u.connection) && tenant.passwords.has(u.user_id)) return u;
  }
  return undefined;
}

async function activate(tenant: Tenant, req: EmulatorRequest): Promise<EmulatorReply> {
  if (foreignOrigin(req)) return page(403, errorPage('Forbidden', 'This form was posted from another site.'));
  const userCode = field(req.body, 'user_code') ?? '';
  const email = field(req.body, 'email') ?? '';
  const now = Date.now();
  const record = [...store(tenant).values()].find((r) => r.status === 'pending' && !expired(r, now) && normalise(r.user_code) === normalise(userCode));
  if (!record) return page(400, activatePage({ userCode, email, error: 'Invalid or expired code. Check the code on your device.' }));
  if (field(req.body, 'action') === 'cancel') {
    record.status = 'denied';
    return page(200, layout('Device activation', '<h1>Cancelled</h1><p id="done">The device was not connected. You can close this window.</p>'));
  }
  const client = tenant.clients.get(record.client_id);
  const user = client && email !== '' ? findPerson(tenant, client, email) : undefined;
  const ok = await verifyPassword(field(req.body, 'password') ?? '', user === undefined ? undefined : tenant.passwords.get(user.user_id));
  if (!user || !ok) {
    tenant.stats.logins.failed += 1;
    return page(400, activatePage({ userCode, email, error: WRONG_CREDENTIALS }));
  }
  if (user.blocked) {
    record.status = 'denied';
    record.denied_description = 'user is blocked';
    return page(403, errorPage('Access denied', 'user is blocked'));
  }
  tenant.stats.logins.ok += 1;
  user.last_login = nowIso();
  user.logins_count += 1;
  record.status = 'approved';
  record.user_id = user.user_id;
  record.auth_time = Math.floor(now / 1000);
  return page(200, layout('Device activation', '<h1>Congratulations, you\'re all set!</h1><p id="done">Your device is now connected. You can close this window.</p>'));
}

/**
 * Registered before the OAuth handler: it answers /oauth/device/code, /activate, and only the
 * device_code grant of /oauth/token (every other grant falls through to oauth.ts).
 */
export function deviceHandler(tenant: Tenant): Handler {
  return async (req) => {
    try {
      if (req.path === '/oauth/device/code' && req.method === 'POST') return await deviceCode(tenant, req);
      if (req.path === '/oauth/token' && req.method === 'POST') {
        const params = new Params(req.body);
        if (params.get('grant_type') !== DEVICE_CODE_GRANT) return undefined;
        return await poll(tenant, req, params);
      }
      if (req.path === '/activate') {
        if (req.method === 'GET') return page(200, activatePage({ userCode: req.query.get('user_code') ?? '' }));
        if (req.method === 'POST') return await activate(tenant, req);
        return { ...page(405, errorPage('Method not allowed', 'Use GET or POST.')), headers: { ...PAGE_HEADERS, Allow: 'GET, POST' } };
      }
      return undefined;
    } catch (e) {
      if (e instanceof OAuthError) {
        const r = e.reply();
        return { ...r, headers: { ...NO_STORE, ...r.headers } };
      }
      throw e;
    }
  };
}
