import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { MachineKey } from '../../src/identity/keys.js';
import { CLIENT_ID, goodClaims, nowSeconds, signWith } from './tokens.js';

/**
 * Person-bound keys (CONTRACTS-10 §2, §3, §6), test side: a fake tenant that publishes its JWKS on a
 * loopback HTTP server — the Action reaches it with the runtime's global `fetch`, as Auth0's runtime
 * gives Actions — and signs ID tokens with its RS256 key, as Auth0 signs the ID token of a browser
 * sign-in. Bound local tokens are built here independently of the CLI's code: the nonce recipe below is
 * the contract, not a call into the Action or src/.
 */

export const PERSON = 'auth0|alice-person';
export const DAY = 86_400;

/** base64url(SHA-256(utf8("omni-auth-bind/v1:" + thumbprint + ":" + salt))) — CONTRACTS-10 §2. */
export function bindingNonce(thumbprint: string, salt: string): string {
  return createHash('sha256').update(`omni-auth-bind/v1:${thumbprint}:${salt}`, 'utf8').digest('base64url');
}

export const newSalt = (): string => randomBytes(16).toString('base64url');

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** The public JWK as Auth0 publishes it (kty, n, e, kid, alg, use, plus x5c/x5t when asked). */
  jwk: JWK;
}

export async function rsaKey(kid: string, modulusLength = 2048): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength, extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A loopback JWKS endpoint: `<issuer>.well-known/jwks.json`, with a request counter and faults. */
export class FakeTenant {
  readonly #server: Server;
  issuer = '';
  /** What the endpoint publishes; replace to rotate. */
  published: JWK[] = [];
  /** Requests for the JWKS so far. */
  hits = 0;
  /** When set, the endpoint answers this status (with a JSON error body). */
  failWith: number | undefined;
  /** When set, the endpoint answers this body verbatim (200). */
  rawBody: string | undefined;

  private constructor() {
    this.#server = createServer((request, response) => {
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      this.hits += 1;
      if (this.failWith !== undefined) {
        response.writeHead(this.failWith, { 'content-type': 'application/json' }).end('{"error":"down"}');
        return;
      }
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(this.rawBody ?? JSON.stringify({ keys: this.published }));
    });
  }

  static async start(published: JWK[] = []): Promise<FakeTenant> {
    const tenant = new FakeTenant();
    tenant.published = published;
    await new Promise<void>((resolve) => tenant.#server.listen(0, '127.0.0.1', resolve));
    tenant.issuer = `http://127.0.0.1:${(tenant.#server.address() as AddressInfo).port}/`;
    return tenant;
  }

  reset(published: JWK[]): void {
    this.published = published;
    this.hits = 0;
    this.failWith = undefined;
    this.rawBody = undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export interface IdTokenOptions {
  signer: SigningKey;
  issuer: string;
  /** The nonce (default: none). */
  nonce?: string;
  /** Claims merged over the defaults; `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Header members merged over {alg: RS256, typ: JWT, kid: signer.kid}. */
  header?: Record<string, unknown>;
}

/** An ID token as Auth0 issues it for a browser sign-in of the CLI client. */
export async function idToken(options: IdTokenOptions): Promise<string> {
  const now = nowSeconds();
  const claims: Record<string, unknown> = {
    iss: options.issuer,
    sub: PERSON,
    aud: CLIENT_ID,
    iat: now - 60,
    exp: now - 60 + 36_000,
    auth_time: now - 65,
    name: 'Alice Person',
    email: 'alice@example.com',
    sid: randomBytes(16).toString('base64url'),
    nonce: options.nonce,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.signer.kid, ...options.header } as { alg: string })
    .sign(options.signer.privateKey);
}

export interface Binding {
  id_token: string;
  salt: string;
}

/** A binding made by signing in for `key`: the ID token's nonce derived from key's thumbprint. */
export async function bindingFor(
  key: MachineKey,
  tenant: { issuer: string },
  signer: SigningKey,
  options: Omit<IdTokenOptions, 'signer' | 'issuer' | 'nonce'> & { salt?: string } = {},
): Promise<Binding> {
  const salt = options.salt ?? newSalt();
  return { id_token: await idToken({ ...options, signer, issuer: tenant.issuer, nonce: bindingNonce(key.thumbprint, salt) }), salt };
}

/** A local token of `key` for the tenant at `issuer`, signed by the key, carrying `binding` (unless undefined). */
export function boundToken(key: MachineKey, issuer: string, binding: unknown, changes: Record<string, unknown> = {}): Promise<string> {
  const claims: Record<string, unknown> = { ...goodClaims(key), aud: issuer, ...changes };
  if (binding !== undefined) claims.binding = binding;
  return signWith(key, claims);
}
