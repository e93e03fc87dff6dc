// Runs the REAL Action file in a plain Node process (no vitest, no vm) — started by
// action.node-runtime.test.ts with flags such as --no-experimental-require-module, to show the
// Action works on a Node without require(esm). Loads the Action the way Auth0's CommonJS runtime
// does (require), builds a valid local token with jose, calls the handler once with a minimal fake
// api, and prints the outcome as one JSON line on stdout.
//
// argv[2] is the mode: `machine` (IDENTITY=machine, the key is the user) or `person` (IDENTITY=person:
// the token carries a binding — an RS256 ID token whose nonce binds this key — and the Action fetches
// the tenant JWKS with the runtime's global fetch from a loopback server started here).
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

const mode = process.argv[2] === 'person' ? 'person' : 'machine';

const actionPath = fileURLToPath(new URL('../../auth0-actions/custom_token_exchange.js', import.meta.url));
const { onExecuteCustomTokenExchange } = createRequire(import.meta.url)(actionPath);

const clientId = 'cli-client-id';
const { privateKey, publicKey } = await generateKeyPair('ES256');
const { kty, crv, x, y } = await exportJWK(publicKey);
const jwk = { kty, crv, x, y };
const kid = await calculateJwkThumbprint(jwk);
const now = Math.floor(Date.now() / 1000);

let issuer = 'https://tenant.example.auth0.com/';
let server;
const claims = { azp: clientId, machine: { host: 'devbox', user: 'alice', platform: process.platform } };
if (mode === 'person') {
  const tenantKey = await generateKeyPair('RS256', { modulusLength: 2048 });
  const tenantJwk = { ...(await exportJWK(tenantKey.publicKey)), kid: 'tenant-key-1', alg: 'RS256', use: 'sig' };
  server = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [tenantJwk] }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${server.address().port}/`;
  const salt = randomBytes(16).toString('base64url');
  const nonce = createHash('sha256').update(`omni-auth-bind/v1:${kid}:${salt}`).digest('base64url');
  const idToken = await new SignJWT({ nonce, name: 'Alice Person', auth_time: now - 5 })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'tenant-key-1' })
    .setIssuer(issuer)
    .setSubject('auth0|alice-person')
    .setAudience(clientId)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + 3600)
    .sign(tenantKey.privateKey);
  claims.binding = { id_token: idToken, salt };
}
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: 'ES256', typ: 'omni-local+jwt', jwk, kid })
  .setIssuer('omni-auth')
  .setSubject(kid)
  .setAudience(issuer)
  .setIssuedAt(now)
  .setNotBefore(now)
  .setExpirationTime(now + 60)
  .setJti(randomBytes(32).toString('base64url'))
  .sign(privateKey);

const calls = [];
const store = new Map();
const record = (method) => (...args) => {
  calls.push({ method, args });
  return api;
};
const api = {
  access: { rejectInvalidSubjectToken: record('access.rejectInvalidSubjectToken'), deny: record('access.deny') },
  authentication: {
    setUserById: record('authentication.setUserById'),
    setUserByConnection: record('authentication.setUserByConnection'),
  },
  user: { setAppMetadata: record('user.setAppMetadata'), setUserMetadata: record('user.setUserMetadata') },
  cache: {
    get: (key) => store.get(key),
    set: (key, value, options = {}) => {
      store.set(key, { value, expires_at: options.expires_at ?? Date.now() + 900_000 });
      return { type: 'success' };
    },
    delete: (key) => (store.delete(key), { type: 'success' }),
  },
};
const event = {
  client: { client_id: clientId, name: 'omni-auth CLI', metadata: {} },
  request: { ip: '127.0.0.1', method: 'POST', hostname: 'tenant.example.auth0.com', geoip: {}, body: {} },
  resource_server: { identifier: 'https://mcp.example.com/' },
  tenant: { id: 'tenant' },
  secrets: { ISSUER: issuer, IDENTITY: mode },
  transaction: { subject_token: token, subject_token_type: 'urn:omnispindle:local-auth', requested_scopes: [], requested_token_type: null },
};

await onExecuteCustomTokenExchange(event, api);
if (server) server.close();
process.stdout.write(`${JSON.stringify({ node: process.version, kid, calls })}\n`);
