/**
 * Issue 14 §2: the signing keys are waited for as long as a token answer. The token is issued (its
 * exchange spent) before its keys are fetched; giving up on a slow JWKS throws both away — a herd on
 * a loaded tenant lost dozens of tokens so. Real sockets and real time: a loopback JWKS held past
 * the old 15 s; the assertions are outcomes and counts, not durations.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAccessToken } from '../../src/exchange/verify.js';

/** Longer than the old JWKS timeout (15 s). */
const HOLD_MS = 16_000;
const AUDIENCE = 'https://mcp.example.com';

let server: Server;
let domain: string;
let jwk: JWK;
let token: string;
let jwksRequests = 0;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
    jwksRequests++;
    setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })), HOLD_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  domain = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(`${domain}/`).setAudience(AUDIENCE)
    .setSubject('auth0|omni-x').setIssuedAt().setExpirationTime('1h').sign(privateKey);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('signing keys the tenant is slow to serve', () => {
  it('keys after 16 s still verify the token (one JWKS request)', async () => {
    const claims = await verifyAccessToken(token, { domain, audience: AUDIENCE });
    expect(claims?.sub).toBe('auth0|omni-x');
    expect(jwksRequests).toBe(1);
  }, HOLD_MS + 30_000);
});
