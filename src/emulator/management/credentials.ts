/**
 * Application credentials (`GET|POST /api/v2/clients/{id}/credentials`,
 * `GET|DELETE /api/v2/clients/{id}/credentials/{credential_id}`): public keys a client signs its
 * Private Key JWT assertions with. A credential is used only once the client's
 * `client_authentication_methods.private_key_jwt.credentials` names it (clients.ts).
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { newId, nowIso, type ClientCredential, type Tenant } from '../state.js';
import { findClient } from './clients.js';
import { fail } from './errors.js';
import { json, noContent, type Route } from './router.js';
import { BAD_CREDENTIAL_PEM, CREDENTIAL_ALGS, CREDENTIAL_TYPES, MAX_CREDENTIALS, NO_CREDENTIAL, TOO_MANY_CREDENTIALS } from './rules.js';
import { BodyReader } from './validate.js';

/** The credential as the API shows it: never the PEM. */
export function credentialView(c: ClientCredential): Record<string, unknown> {
  const { pem: _pem, client_id: _client, ...rest } = c;
  return rest;
}

export function credentialsOf(tenant: Tenant, clientId: string): ClientCredential[] {
  return [...tenant.credentials.values()].filter((c) => c.client_id === clientId);
}

function rsaPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = /-----BEGIN CERTIFICATE-----/.test(pem) ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  } catch {
    throw fail(BAD_CREDENTIAL_PEM);
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa') throw fail(BAD_CREDENTIAL_PEM);
  return key;
}

export function createCredential(tenant: Tenant, clientId: string, body: unknown): ClientCredential {
  findClient(tenant, clientId);
  const r = new BodyReader(body, ['credential_type', 'name', 'pem', 'alg', 'parse_expiry_from_cert', 'expires_at']);
  const type = r.oneOf('credential_type', CREDENTIAL_TYPES);
  if (type === undefined) throw r.problem('credential_type', 'Missing required property: credential_type');
  const name = r.string('name', { max: 128 }) ?? '';
  const pem = r.string('pem', { min: 1, max: 4096, required: true });
  const alg = r.oneOf('alg', CREDENTIAL_ALGS) ?? 'RS256';
  r.boolean('parse_expiry_from_cert');
  const expiresAt = r.string('expires_at');
  const key = rsaPublicKey(pem);
  if (credentialsOf(tenant, clientId).length >= MAX_CREDENTIALS) throw fail(TOO_MANY_CREDENTIALS);
  const spki = key.export({ format: 'der', type: 'spki' });
  const now = nowIso();
  const credential: ClientCredential = {
    id: newId('cred_'),
    client_id: clientId,
    name,
    // Auth0 generates the kid; the emulator's is the SHA-256 of the key (base64url).
    kid: createHash('sha256').update(spki).digest('base64url'),
    alg,
    credential_type: 'public_key',
    pem: key.export({ format: 'pem', type: 'spki' }) as string,
    created_at: now,
    updated_at: now,
    ...(expiresAt !== undefined ? { expires_at: expiresAt } : {}),
  };
  tenant.credentials.set(credential.id, credential);
  return credential;
}

function findCredential(tenant: Tenant, clientId: string, id: string): ClientCredential {
  findClient(tenant, clientId);
  const c = tenant.credentials.get(id);
  if (!c || c.client_id !== clientId) throw fail(NO_CREDENTIAL);
  return c;
}

/** Deleting a credential also takes it out of the client's Private Key JWT list. */
export function deleteCredential(tenant: Tenant, clientId: string, id: string): void {
  findCredential(tenant, clientId, id);
  tenant.credentials.delete(id);
  const client = findClient(tenant, clientId);
  const enabled = client.client_authentication_methods?.private_key_jwt;
  if (enabled) enabled.credentials = enabled.credentials.filter((c) => c.id !== id);
}

export const credentialRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/clients/:id/credentials', scope: 'read:client_credentials',
    handle: ({ tenant, params }) => json(200, (findClient(tenant, params.id!), credentialsOf(tenant, params.id!).map(credentialView))),
  },
  {
    method: 'POST', pattern: '/api/v2/clients/:id/credentials', scope: 'create:client_credentials',
    handle: ({ tenant, req, params }) => json(201, credentialView(createCredential(tenant, params.id!, req.body))),
  },
  {
    method: 'GET', pattern: '/api/v2/clients/:id/credentials/:credential', scope: 'read:client_credentials',
    handle: ({ tenant, params }) => json(200, credentialView(findCredential(tenant, params.id!, params.credential!))),
  },
  {
    method: 'DELETE', pattern: '/api/v2/clients/:id/credentials/:credential', scope: 'delete:client_credentials',
    handle: ({ tenant, params }) => {
      deleteCredential(tenant, params.id!, params.credential!);
      return noContent();
    },
  },
];
