/**
 * A tiny authorization server on real loopback HTTP, enough for the sign-in and the binding: OIDC
 * discovery, JWKS, /authorize (approves at once with a 302 to the redirect URI — the "person" is
 * configurable), /oauth/token for authorization_code (PKCE S256 checked, code single-use),
 * refresh_token, and Custom Token Exchange under a `person` | `machine` policy that verifies the
 * `binding` claim as CONTRACTS-10 §6 says. The emulator grows the real thing on branch h-p-emu.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';

export interface Person {
  sub: string;
  name?: string;
}

export interface FakeTenantOptions {
  clientId?: string;
  audience?: string;
  policy?: 'person' | 'machine';
  person?: Person;
  /** What /authorize does: approve (default), or redirect back with error=access_denied. */
  authorize?: 'approve' | 'deny';
  /** Sign ID tokens with a key that is not in the JWKS (forgery). */
  forgeIdToken?: boolean;
  /** Put this nonce in the ID token instead of the one asked for. */
  nonceOverride?: string;
  /** Put this audience in the ID token instead of the client id (a token minted for another client). */
  idTokenAudience?: string;
  bindingMaxAgeSeconds?: number;
}

export interface FakeTenant {
  domain: string;
  issuer: string;
  clientId: string;
  audience: string;
  options: FakeTenantOptions;
  /** Every /authorize query, and every token-exchange subject token's payload. */
  authorizeRequests: URLSearchParams[];
  exchanges: { binding?: { id_token: string; salt: string }; kid: string }[];
  grants: string[];
  close(): Promise<void>;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const b64sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64url');

export async function startFakeTenant(options: FakeTenantOptions = {}): Promise<FakeTenant> {
  const clientId = options.clientId ?? 'cli-client-id';
  const audience = options.audience ?? 'https://api.example.test';
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const forger = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { challenge: string; nonce: string; redirectUri: string; scope: string }>();
  const refresh = new Map<string, string>();
  const tenant = {} as FakeTenant;
  let issuer = '';

  const sign = (payload: Record<string, unknown>, key = privateKey) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).setIssuer(issuer).setIssuedAt().sign(key);
  const accessToken = (sub: string, scope: string) =>
    sign({ sub, aud: [audience, `${issuer}userinfo`], scope, exp: Math.floor(Date.now() / 1000) + 3600, azp: clientId });
  const tokenAnswer = async (sub: string, scope: string, extra: Record<string, unknown> = {}) => {
    const rt = randomBytes(24).toString('base64url');
    refresh.set(rt, sub);
    return { access_token: await accessToken(sub, scope), token_type: 'Bearer', expires_in: 3600, scope, refresh_token: rt, ...extra };
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => send(res, 500, { error: 'server_error', error_description: String(e) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer, authorization_endpoint: `${issuer}authorize`, token_endpoint: `${issuer}oauth/token`, jwks_uri: `${issuer}.well-known/jwks.json`,
        response_types_supported: ['code'], id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/.well-known/jwks.json') return send(res, 200, { keys: [publicJwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      tenant.authorizeRequests.push(q);
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('state', q.get('state') ?? '');
      if (tenant.options.authorize === 'deny') {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The person declined');
      } else {
        const code = randomBytes(16).toString('base64url');
        codes.set(code, { challenge: q.get('code_challenge')!, nonce: q.get('nonce')!, redirectUri: q.get('redirect_uri')!, scope: q.get('scope')! });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === '/oauth/token' && req.method === 'POST') {
      const form = new URLSearchParams(await body(req));
      const grant = form.get('grant_type') ?? '';
      tenant.grants.push(grant);
      if (form.get('client_id') !== clientId) return send(res, 401, { error: 'invalid_client', error_description: 'Unknown client' });
      if (grant === 'authorization_code') {
        const c = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!c) return send(res, 403, { error: 'invalid_grant', error_description: 'Invalid authorization code' });
        if (c.redirectUri !== form.get('redirect_uri')) return send(res, 403, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
        if (b64sha(form.get('code_verifier') ?? '') !== c.challenge) return send(res, 403, { error: 'invalid_grant', error_description: 'Failed to verify code verifier' });
        const person = tenant.options.person ?? { sub: 'auth0|person-1', name: 'Pat Person' };
        const now = Math.floor(Date.now() / 1000);
        const idToken = await sign({ sub: person.sub, ...(person.name ? { name: person.name } : {}), aud: tenant.options.idTokenAudience ?? clientId, nonce: tenant.options.nonceOverride ?? c.nonce, auth_time: now, exp: now + 36000 },
          tenant.options.forgeIdToken ? forger.privateKey : privateKey);
        return send(res, 200, await tokenAnswer(person.sub, c.scope, { id_token: idToken }));
      }
      if (grant === 'refresh_token') {
        const sub = refresh.get(form.get('refresh_token') ?? '');
        if (!sub) return send(res, 403, { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
        return send(res, 200, { access_token: await accessToken(sub, form.get('scope') ?? 'openid'), token_type: 'Bearer', expires_in: 3600 });
      }
      if (grant === TOKEN_EXCHANGE) return exchange(res, form);
      return send(res, 400, { error: 'unsupported_grant_type', error_description: grant });
    }
    res.writeHead(404).end();
  }

  async function exchange(res: ServerResponse, form: URLSearchParams): Promise<void> {
    const subjectToken = form.get('subject_token') ?? '';
    const header = decodeProtectedHeader(subjectToken);
    const { payload } = await jwtVerify(subjectToken, await importJWK(header.jwk as JWK, header.alg), { issuer: 'omni-auth', audience: issuer });
    const kid = header.kid as string;
    const binding = payload.binding as { id_token: string; salt: string } | undefined;
    tenant.exchanges.push({ kid, ...(binding ? { binding } : {}) });
    const scope = form.get('scope') ?? 'openid';
    if (tenant.options.policy === 'machine') return send(res, 200, await tokenAnswer(`auth0|omni-${kid}`, scope));
    if (!binding) {
      return send(res, 403, { error: 'access_denied', error_description: 'this machine key is not bound to a person; sign in once: omni-auth login --browser' });
    }
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(binding.id_token, await importJWK(publicJwk, 'RS256'), { issuer, audience: clientId, algorithms: ['RS256'], clockTolerance: 1e9 }));
    } catch {
      return send(res, 400, { error: 'invalid_request', error_description: 'invalid subject token' });
    }
    if (claims.nonce !== b64sha(`omni-auth-bind/v1:${kid}:${binding.salt}`)) return send(res, 400, { error: 'invalid_request', error_description: 'invalid subject token' });
    const maxAge = tenant.options.bindingMaxAgeSeconds ?? 30 * 86400;
    if ((claims.iat as number) + maxAge <= Math.floor(Date.now() / 1000)) {
      return send(res, 403, { error: 'access_denied', error_description: 'the sign-in that bound this key has expired; sign in again: omni-auth login --browser' });
    }
    return send(res, 200, await tokenAnswer(claims.sub as string, scope));
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  issuer = `http://127.0.0.1:${port}/`;
  Object.assign(tenant, {
    domain: `http://127.0.0.1:${port}`, issuer, clientId, audience, options, authorizeRequests: [], exchanges: [], grants: [],
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  });
  return tenant;
}

function send(res: ServerResponse, status: number, json: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(json));
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/**
 * What a browser does with the authorize URL here: follow the tenant's redirect to the loopback
 * callback (the loopback answers with its page). `tamper` may change the callback URL first.
 */
export async function followAsBrowser(authorizeUrl: string, tamper?: (callback: URL) => void): Promise<{ callback: URL; status: number; page: string }> {
  const r = await fetch(authorizeUrl, { redirect: 'manual' });
  const callback = new URL(r.headers.get('location')!);
  tamper?.(callback);
  const page = await fetch(callback);
  return { callback, status: page.status, page: await page.text() };
}

/** A free loopback port (listen on 0, close). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
