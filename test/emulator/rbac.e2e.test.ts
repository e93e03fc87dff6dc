/**
 * RBAC on the emulator (issue 12 §3), driven by the official Auth0 Management SDK (`auth0` v5):
 * the API's RBAC settings and scopes, roles and their permissions and users, a user's roles and
 * direct permissions — and what every grant then puts in the access token (`scope` intersected with
 * the user's permissions, `permissions` with the access_token_authz dialect).
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, call, exchange, managementSdk, managementToken, mint, newKey } from './helpers.js';
import { registerCallback, signInOnPage } from './signin-helpers.js';

const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };
const CALLBACK = 'http://127.0.0.1:41235/callback';

let emu: Emulator;
let mgmt: ReturnType<typeof managementSdk>;
let token: string;
let audience: string;
let apiId: string;

const claims = (t: string) => decodeJwt(t) as { sub: string; scope?: string; permissions?: string[]; client_id?: string };

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, users: [ALICE] });
  await registerCallback(emu, CALLBACK);
  token = await managementToken(emu);
  mgmt = managementSdk(emu, token);
  audience = emu.info().audience;
  const found = await mgmt.resourceServers.get(audience);
  apiId = found.id!;
});
afterAll(async () => {
  await emu?.close();
});

async function setRbac(enforce: boolean, dialect: 'access_token' | 'access_token_authz' | 'rfc9068_profile_authz', scopes = ['tool:echo', 'tool:add', 'tool:rm']): Promise<void> {
  await mgmt.resourceServers.update(apiId, { enforce_policies: enforce, token_dialect: dialect, scopes: scopes.map((value) => ({ value, description: `call ${value}` })) });
}

/** A user of the Custom Token Exchange (a new machine key is a new user) and their token. */
async function exchanged(extra: Record<string, string> = {}): Promise<{ sub: string; body: any; key: Awaited<ReturnType<typeof newKey>> }> {
  const key = await newKey();
  const res = await exchange(emu, await mint(emu, key), extra);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { sub: claims(res.body.access_token).sub, body: res.body, key };
}

const perm = (permission_name: string) => ({ resource_server_identifier: audience, permission_name });

describe('Management API: roles, permissions and members through the SDK', () => {
  it('creates a role, gives it permissions, assigns it to a user both ways, and lists each side', async () => {
    await setRbac(true, 'access_token_authz');
    const rs = await mgmt.resourceServers.get(apiId);
    expect(rs).toMatchObject({ enforce_policies: true, token_dialect: 'access_token_authz' });
    const { sub } = await exchanged();
    const role = await mgmt.roles.create({ name: 'mcp-echo', description: 'may echo' });
    expect(role).toMatchObject({ name: 'mcp-echo', description: 'may echo' });
    expect(role.id).toMatch(/^rol_/);
    await mgmt.roles.permissions.add(role.id!, { permissions: [perm('tool:echo'), perm('tool:echo')] });
    const perms = (await mgmt.roles.permissions.list(role.id!)).data;
    expect(perms).toEqual([{ permission_name: 'tool:echo', description: 'call tool:echo', resource_server_name: rs.name, resource_server_identifier: audience }]);
    await mgmt.users.roles.assign(sub, { roles: [role.id!] });
    expect((await mgmt.users.roles.list(sub)).data).toEqual([{ id: role.id, name: 'mcp-echo', description: 'may echo' }]);
    expect((await mgmt.roles.users.list(role.id!)).data.map((u) => u.user_id)).toEqual([sub]);
    expect((await mgmt.roles.list({ name_filter: 'echo' })).data.map((r) => r.id)).toEqual([role.id]);
    await mgmt.users.roles.delete(sub, { roles: [role.id!] });
    expect((await mgmt.users.roles.list(sub)).data).toEqual([]);
    await mgmt.roles.users.assign(role.id!, { users: [sub] });
    expect((await mgmt.users.roles.list(sub)).data.map((r) => r.id)).toEqual([role.id]);
    await mgmt.roles.update(role.id!, { description: 'echo only' });
    expect((await mgmt.roles.get(role.id!)).description).toBe('echo only');
    await mgmt.roles.delete(role.id!);
    expect((await mgmt.users.roles.list(sub)).data).toEqual([]);
    await expect(mgmt.roles.get(role.id!)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('direct permissions of a user: add, list, remove', async () => {
    await setRbac(true, 'access_token_authz');
    const { sub } = await exchanged();
    await mgmt.users.permissions.create(sub, { permissions: [perm('tool:add')] });
    expect((await mgmt.users.permissions.list(sub)).data).toMatchObject([{ permission_name: 'tool:add', resource_server_identifier: audience }]);
    await mgmt.users.permissions.delete(sub, { permissions: [perm('tool:add')] });
    expect((await mgmt.users.permissions.list(sub)).data).toEqual([]);
  });

  it('refuses a permission the API does not define, an unknown role or user, and a token without the scope', async () => {
    await setRbac(true, 'access_token_authz');
    const role = await mgmt.roles.create({ name: 'refusals' });
    await expect(mgmt.roles.permissions.add(role.id!, { permissions: [perm('tool:nope')] })).rejects.toMatchObject({ statusCode: 400 });
    await expect(mgmt.users.roles.assign('auth0|nobody', { roles: [role.id!] })).rejects.toMatchObject({ statusCode: 404 });
    await expect(mgmt.roles.users.assign('rol_missing', { users: ['auth0|nobody'] })).rejects.toMatchObject({ statusCode: 404 });
    await expect(mgmt.roles.create({ name: 'refusals' })).rejects.toMatchObject({ statusCode: 409 });
    // A Management API token without read:roles: Auth0's 403 names the scope.
    const narrow = await api(emu, 'not-a-token', 'GET', '/roles');
    expect(narrow.status).toBe(401);
    const { management } = emu.info();
    const cc = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: management.client_id, client_secret: management.client_secret, audience: `${emu.issuer}api/v2/`, scope: 'read:users' },
    });
    const refused = await api(emu, cc.body.access_token, 'POST', '/roles', { name: 'x' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ message: 'Insufficient scope, expected any of: create:roles', errorCode: 'insufficient_scope' });
    const members = await api(emu, cc.body.access_token, 'GET', `/roles/${role.id}/users`);
    expect(members.status).toBe(200);
  });
});

describe('what tokens carry', () => {
  it('custom token exchange: no role → permissions [] and the API scopes dropped; a role → its permissions, and scope is the intersection', async () => {
    await setRbac(true, 'access_token_authz');
    const first = await exchanged({ scope: 'openid tool:echo tool:add' });
    expect(claims(first.body.access_token)).toMatchObject({ permissions: [], scope: 'openid' });
    expect(first.body.scope).toBe('openid');
    const role = await mgmt.roles.create({ name: 'echoer' });
    await mgmt.roles.permissions.add(role.id!, { permissions: [perm('tool:echo')] });
    await mgmt.users.roles.assign(first.sub, { roles: [role.id!] });
    await mgmt.users.permissions.create(first.sub, { permissions: [perm('tool:rm')] });
    const again = await exchange(emu, await mint(emu, first.key), { scope: 'openid tool:echo tool:add' });
    const c = claims(again.body.access_token);
    expect(c.permissions!.sort()).toEqual(['tool:echo', 'tool:rm']);
    expect(c.scope).toBe('openid tool:echo');
  });

  it('RBAC off (even with the _authz dialect): every requested API scope is granted and no permissions claim; RBAC on with access_token: intersection, no claim', async () => {
    await setRbac(false, 'access_token_authz');
    const off = await exchanged({ scope: 'tool:echo tool:add' });
    expect(claims(off.body.access_token).scope).toBe('tool:echo tool:add');
    expect(claims(off.body.access_token)).not.toHaveProperty('permissions');
    await setRbac(true, 'access_token');
    const on = await exchanged({ scope: 'tool:echo tool:add' });
    expect(claims(on.body.access_token).scope).toBe('');
    expect(claims(on.body.access_token)).not.toHaveProperty('permissions');
  });

  it('a scope removed from the API disappears from roles, users and the next token', async () => {
    await setRbac(true, 'access_token_authz');
    const { sub, key } = await exchanged();
    const role = await mgmt.roles.create({ name: 'shrinking' });
    await mgmt.roles.permissions.add(role.id!, { permissions: [perm('tool:echo'), perm('tool:add')] });
    await mgmt.users.roles.assign(sub, { roles: [role.id!] });
    await mgmt.users.permissions.create(sub, { permissions: [perm('tool:add')] });
    await setRbac(true, 'access_token_authz', ['tool:echo', 'tool:rm']);
    expect((await mgmt.roles.permissions.list(role.id!)).data.map((p) => p.permission_name)).toEqual(['tool:echo']);
    expect((await mgmt.users.permissions.list(sub)).data).toEqual([]);
    const res = await exchange(emu, await mint(emu, key));
    expect(claims(res.body.access_token).permissions).toEqual(['tool:echo']);
  });

  it('refresh_token: the new access token carries the permissions the user holds now', async () => {
    await setRbac(true, 'access_token_authz');
    const first = await exchanged({ scope: 'openid offline_access tool:add' });
    expect(first.body.refresh_token).toBeTypeOf('string');
    expect(claims(first.body.access_token).permissions).toEqual([]);
    await mgmt.users.permissions.create(first.sub, { permissions: [perm('tool:add')] });
    const refreshed = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', client_id: emu.info().client_id, refresh_token: first.body.refresh_token },
    });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(claims(refreshed.body.access_token)).toMatchObject({ permissions: ['tool:add'], scope: 'openid offline_access tool:add' });
  });

  it('authorization_code: a person signed in on the page gets their role\'s permissions', async () => {
    await setRbac(true, 'access_token_authz');
    const users = (await mgmt.users.list({ q: `email:"${ALICE.email}"` })).data;
    const alice = users[0]!.user_id!;
    const role = await mgmt.roles.create({ name: 'alice-role' });
    await mgmt.roles.permissions.add(role.id!, { permissions: [perm('tool:echo')] });
    await mgmt.roles.users.assign(role.id!, { users: [alice] });
    const issuer = new URL(emu.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }));
    const client = { client_id: emu.info().client_id };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    for (const [k, v] of Object.entries({
      client_id: client.client_id, redirect_uri: CALLBACK, response_type: 'code', scope: 'openid tool:echo tool:add', audience, state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    })) url.searchParams.set(k, v);
    const done = await signInOnPage(url, ALICE);
    const params = oauth.validateAuthResponse(as, client, new URL(done.location!), state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, CALLBACK, verifier, { [oauth.allowInsecureRequests]: true });
    const body = await res.json() as { access_token: string; scope: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(claims(body.access_token)).toMatchObject({ sub: alice, permissions: ['tool:echo'], scope: 'openid tool:echo' });
  });

  it('client_credentials: permissions are the client grant\'s scopes', async () => {
    await setRbac(true, 'access_token_authz');
    const app = await mgmt.clients.create({ name: 'rbac-m2m', app_type: 'non_interactive', grant_types: ['client_credentials'] });
    const grant = await api(emu, token, 'POST', '/client-grants', { client_id: app.client_id, audience, scope: ['tool:echo', 'tool:add'] });
    if (grant.status === 404) {
      // No /client-grants route in the emulator: seed the grant directly (the grant itself is not what is under test).
      emu.tenant.clientGrants.push({ id: 'cgr_test', client_id: app.client_id!, audience, scope: ['tool:echo', 'tool:add'] });
    }
    const res = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: app.client_id!, client_secret: app.client_secret!, audience },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(claims(res.body.access_token)).toMatchObject({ scope: 'tool:echo tool:add', permissions: ['tool:echo', 'tool:add'] });
    // Asking for fewer scopes: the permissions are still all the grant holds.
    const one = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: app.client_id!, client_secret: app.client_secret!, audience, scope: 'tool:echo' },
    });
    expect(claims(one.body.access_token)).toMatchObject({ scope: 'tool:echo', permissions: ['tool:echo', 'tool:add'] });
  });

  it('rfc9068_profile_authz: typ at+jwt, client_id, and the permissions claim', async () => {
    await setRbac(true, 'rfc9068_profile_authz');
    const { body } = await exchanged();
    expect(decodeProtectedHeader(body.access_token).typ).toBe('at+jwt');
    expect(claims(body.access_token)).toMatchObject({ client_id: emu.info().client_id, permissions: [] });
  });
});
