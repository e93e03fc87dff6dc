/**
 * Issue 12 §4 in the emulator: Private Key JWT client authentication at /oauth/token for an application
 * whose credential was registered through the official Auth0 Management SDK, and client grants.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, call, managementSdk, managementToken } from '../emulator/helpers.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
let emu: Emulator;
let token: string;
let m2mId: string;
let m2mSecret: string;
const rsa = (): { privateKey: KeyObject; pem: string } => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, pem: publicKey.export({ format: 'pem', type: 'spki' }) as string };
};
const key = rsa();
const now = (): number => Math.floor(Date.now() / 1000);

function assertion(o: { privateKey?: KeyObject; alg?: string; iss?: string; sub?: string; aud?: string; exp?: number; iat?: number; jti?: string } = {}): Promise<string> {
  const iat = o.iat ?? now();
  return new SignJWT({})
    .setProtectedHeader({ alg: o.alg ?? 'RS256' })
    .setIssuer(o.iss ?? m2mId).setSubject(o.sub ?? m2mId).setAudience(o.aud ?? emu.issuer)
    .setIssuedAt(iat).setExpirationTime(o.exp ?? iat + 60).setJti(o.jti ?? randomUUID())
    .sign(o.privateKey ?? key.privateKey);
}

const ccToken = (form: Record<string, string>) => call(emu, 'POST', '/oauth/token', {
  form: { grant_type: 'client_credentials', audience: emu.info().audience, ...form },
});
const withAssertion = async (a: string | Promise<string>) => ccToken({ client_assertion_type: ASSERTION_TYPE, client_assertion: await a });

beforeAll(async () => {
  emu = await startEmulator();
  token = await managementToken(emu);
  const created = await api(emu, token, 'POST', '/clients', { name: 'svc', app_type: 'non_interactive' });
  m2mId = created.body.client_id;
  m2mSecret = created.body.client_secret;
});
afterAll(async () => {
  await emu?.close();
});

describe('client grants', () => {
  it('a client-credentials token needs a client grant for the audience; the Management SDK creates one', async () => {
    const before = await ccToken({ client_id: m2mId, client_secret: m2mSecret });
    expect(before.status).toBe(403);
    expect(before.body.error).toBe('access_denied');
    const sdk = managementSdk(emu, token);
    const grant = await sdk.clientGrants.create({ client_id: m2mId, audience: emu.info().audience, scope: [] });
    expect(grant).toMatchObject({ client_id: m2mId, audience: emu.info().audience, scope: [] });
    const listed = await api(emu, token, 'GET', `/client-grants?client_id=${m2mId}`);
    expect(listed.body).toEqual([expect.objectContaining({ id: grant.id })]);
    const dup = await api(emu, token, 'POST', '/client-grants', { client_id: m2mId, audience: emu.info().audience, scope: [] });
    expect(dup.status).toBe(409);
    const after = await ccToken({ client_id: m2mId, client_secret: m2mSecret });
    expect(after.status).toBe(200);
    expect(after.body.token_type).toBe('Bearer');
  });
});

describe('Private Key JWT', () => {
  let credentialId: string;

  it('the official SDK registers a public_key credential (never shown back with its PEM) and enables it', async () => {
    const sdk = managementSdk(emu, token);
    const cred = await sdk.clients.credentials.create(m2mId, { credential_type: 'public_key', name: 'svc key', pem: key.pem, alg: 'RS256' });
    expect(cred).toMatchObject({ credential_type: 'public_key', name: 'svc key', alg: 'RS256', id: expect.stringMatching(/^cred_/) });
    expect(JSON.stringify(cred)).not.toContain('BEGIN');
    credentialId = cred.id!;
    // Registered but not yet enabled: an assertion is refused.
    expect((await withAssertion(assertion())).status).toBe(401);
    const patched = await sdk.clients.update(m2mId, { client_authentication_methods: { private_key_jwt: { credentials: [{ id: credentialId }] } } });
    expect(patched.client_authentication_methods).toEqual({ private_key_jwt: { credentials: [{ id: credentialId }] } });
    expect(patched.token_endpoint_auth_method ?? null).toBeNull();
    const listed = await sdk.clients.credentials.list(m2mId);
    expect(listed.map((c) => c.id)).toEqual([credentialId]);
  });

  it('accepts a valid assertion and issues a client-credentials token', async () => {
    const res = await withAssertion(assertion());
    expect(res.status).toBe(200);
    const payload = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString());
    expect(payload).toMatchObject({ sub: `${m2mId}@clients`, gty: 'client-credentials', aud: emu.info().audience });
  });

  it('refuses the secret once the client uses Private Key JWT', async () => {
    const res = await ccToken({ client_id: m2mId, client_secret: m2mSecret });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('refuses a replayed assertion (jti single use)', async () => {
    const a = await assertion();
    expect((await withAssertion(a)).status).toBe(200);
    const again = await withAssertion(a);
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('invalid_client');
  });

  it.each([
    ['another key', () => assertion({ privateKey: rsa().privateKey })],
    ['an expired assertion', () => assertion({ iat: now() - 600, exp: now() - 300 })],
    ['one living longer than 5 minutes', () => assertion({ exp: now() + 3600 })],
    ['aud the token endpoint instead of the tenant URL', () => assertion({ aud: `${emu.issuer}oauth/token` })],
    ['iss not the client', () => assertion({ iss: 'someone' })],
    ['sub not the client', () => assertion({ sub: 'someone' })],
    ['an alg other than the credential\'s', () => assertion({ alg: 'PS256' })],
  ])('refuses %s (401 invalid_client)', async (_name, make) => {
    const res = await withAssertion(make());
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('refuses an assertion together with a secret, and a wrong assertion type', async () => {
    const both = await ccToken({ client_id: m2mId, client_secret: m2mSecret, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion() });
    expect(both.status).toBe(400);
    const wrongType = await ccToken({ client_assertion_type: 'urn:other', client_assertion: await assertion() });
    expect(wrongType.status).toBe(400);
  });

  it('refuses an assertion from a client configured for secrets', async () => {
    const { management } = emu.info();
    const a = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(management.client_id).setSubject(management.client_id)
      .setAudience(emu.issuer).setIssuedAt().setExpirationTime('1m').setJti(randomUUID()).sign(key.privateKey);
    const res = await call(emu, 'POST', '/oauth/token', { form: { grant_type: 'client_credentials', audience: `${emu.issuer}api/v2/`, client_assertion_type: ASSERTION_TYPE, client_assertion: a } });
    expect(res.status).toBe(401);
  });

  it('the credentials API: only RS256, RS384, PS256 and RSA keys; two per application; scopes; DELETE disables', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect((await api(emu, token, 'POST', `/clients/${m2mId}/credentials`, { credential_type: 'public_key', pem: ec, alg: 'ES256' })).status).toBe(400);
    expect((await api(emu, token, 'POST', `/clients/${m2mId}/credentials`, { credential_type: 'public_key', pem: ec })).status).toBe(400);
    const second = await api(emu, token, 'POST', `/clients/${m2mId}/credentials`, { credential_type: 'public_key', pem: rsa().pem, alg: 'PS256' });
    expect(second.status).toBe(201);
    expect((await api(emu, token, 'POST', `/clients/${m2mId}/credentials`, { credential_type: 'public_key', pem: rsa().pem })).status).toBe(400);
    // client_authentication_methods needs update:client_credentials, and excludes token_endpoint_auth_method.
    const narrow = await call(emu, 'POST', '/oauth/token', { form: { grant_type: 'client_credentials', client_id: emu.info().management.client_id, client_secret: emu.info().management.client_secret, audience: `${emu.issuer}api/v2/`, scope: 'update:clients' } });
    const denied = await api(emu, narrow.body.access_token, 'PATCH', `/clients/${m2mId}`, { client_authentication_methods: { private_key_jwt: { credentials: [{ id: credentialId }] } } });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toContain('update:client_credentials');
    const both = await api(emu, token, 'PATCH', `/clients/${m2mId}`, { token_endpoint_auth_method: 'client_secret_post', client_authentication_methods: { private_key_jwt: { credentials: [{ id: credentialId }] } } });
    expect(both.status).toBe(400);
    expect((await api(emu, token, 'DELETE', `/clients/${m2mId}/credentials/${credentialId}`)).status).toBe(204);
    expect((await withAssertion(assertion())).status).toBe(401);
  });
});
