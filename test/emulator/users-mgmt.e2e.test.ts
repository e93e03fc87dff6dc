/** People of the database connection: POST/PATCH/GET /api/v2/users, passwords hashed and never shown. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, call, managementToken } from './helpers.js';

let emu: Emulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator({ users: [{ email: 'Start@Example.com', password: 'start-password-1' }] });
  token = await managementToken(emu);
});
afterAll(async () => {
  await emu?.close();
});

async function scopedToken(scope: string): Promise<string> {
  const { management } = emu.info();
  const res = await call(emu, 'POST', '/oauth/token', {
    form: { grant_type: 'client_credentials', client_id: management.client_id, client_secret: management.client_secret, audience: `${emu.issuer}api/v2/`, scope },
  });
  return res.body.access_token as string;
}

describe('POST /api/v2/users', () => {
  it('creates a database user (201) with a hashed password that no answer shows', async () => {
    const password = 'a long enough password';
    const res = await api(emu, token, 'POST', '/users', { connection: 'Username-Password-Authentication', email: 'Pat@Example.com', password, name: 'Pat' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ user_id: expect.stringMatching(/^auth0\|[0-9a-f]{24}$/), email: 'pat@example.com', email_verified: false, name: 'Pat', connection: 'Username-Password-Authentication' });
    expect(JSON.stringify(res.body)).not.toContain(password);
    expect(res.body).not.toHaveProperty('password');
    const got = await api(emu, token, 'GET', `/users/${encodeURIComponent(res.body.user_id)}`);
    expect(JSON.stringify(got.body)).not.toContain(password);
    const stored = emu.tenant.passwords.get(res.body.user_id)!;
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(password);
  });

  it('answers a second user with the same email 409 "The user already exists."', async () => {
    const body = { connection: 'Username-Password-Authentication', email: 'twice@example.com', password: 'pw-twice-1' };
    expect((await api(emu, token, 'POST', '/users', body)).status).toBe(201);
    const again = await api(emu, token, 'POST', '/users', { ...body, email: 'TWICE@example.com' });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'The user already exists.', errorCode: 'auth0_idp_error' });
  });

  it('needs a connection that exists, a password, an email on a plain database connection, and known fields only', async () => {
    const cases: [unknown, number][] = [
      [{ connection: 'Nope', email: 'a@example.com', password: 'x' }, 400],
      [{ connection: 'Username-Password-Authentication', email: 'a@example.com' }, 400],
      [{ connection: 'Username-Password-Authentication', password: 'x' }, 400],
      [{ connection: 'Username-Password-Authentication', email: 'a@example.com', password: 'x', role: 'admin' }, 400],
      [{ connection: 'Username-Password-Authentication', email: 'not-an-email', password: 'x' }, 400],
    ];
    for (const [body, status] of cases) expect((await api(emu, token, 'POST', '/users', body)).status, JSON.stringify(body)).toBe(status);
  });

  it('needs create:users (and PATCH needs update:users)', async () => {
    const readOnly = await scopedToken('read:users');
    const res = await api(emu, readOnly, 'POST', '/users', { connection: 'Username-Password-Authentication', email: 'no@example.com', password: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('Insufficient scope, expected any of: create:users');
    const user = [...emu.tenant.users.values()][0]!;
    const patch = await api(emu, readOnly, 'PATCH', `/users/${encodeURIComponent(user.user_id)}`, { blocked: true });
    expect(patch.body.message).toBe('Insufficient scope, expected any of: update:users');
  });
});

describe('PATCH /api/v2/users/{id}', () => {
  it('blocks and unblocks; GET shows blocked; names change; other fields are refused', async () => {
    const created = await api(emu, token, 'POST', '/users', { connection: 'Username-Password-Authentication', email: 'quinn@example.com', password: 'quinn-pw-1' });
    const path = `/users/${encodeURIComponent(created.body.user_id)}`;
    const blocked = await api(emu, token, 'PATCH', path, { blocked: true, name: 'Quinn Q', given_name: 'Quinn' });
    expect(blocked.status).toBe(200);
    expect(blocked.body).toMatchObject({ blocked: true, name: 'Quinn Q', given_name: 'Quinn' });
    expect((await api(emu, token, 'GET', path)).body.blocked).toBe(true);
    expect((await api(emu, token, 'PATCH', path, { blocked: false })).body.blocked).toBe(false);
    expect((await api(emu, token, 'PATCH', path, { email: 'other@example.com' })).status).toBe(400);
    expect((await api(emu, token, 'PATCH', '/users/auth0%7Cnobody', { blocked: true })).status).toBe(404);
  });

  it('changes a password: the new hash replaces the old one', async () => {
    const created = await api(emu, token, 'POST', '/users', { connection: 'Username-Password-Authentication', email: 'rory@example.com', password: 'rory-pw-1' });
    const before = emu.tenant.passwords.get(created.body.user_id);
    const res = await api(emu, token, 'PATCH', `/users/${encodeURIComponent(created.body.user_id)}`, { password: 'rory-pw-2' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain('rory-pw-2');
    expect(emu.tenant.passwords.get(created.body.user_id)).not.toBe(before);
  });
});

describe('startEmulator({ users })', () => {
  it('creates each person in Username-Password-Authentication with a verified email', async () => {
    const res = await api(emu, token, 'GET', `/users?q=${encodeURIComponent('email:"start@example.com"')}`);
    expect(res.body).toHaveLength(1);
    expect(res.body[0]).toMatchObject({ connection: 'Username-Password-Authentication', email_verified: true });
  });

  it('refuses a start user it cannot create, naming the email but not the password', async () => {
    await expect(startEmulator({ users: [{ email: 'x@example.com', password: 'p-1' }, { email: 'x@example.com', password: 'secret-p-2' }] }))
      .rejects.toThrow(/could not create the user x@example.com: The user already exists\./);
    await expect(startEmulator({ users: [{ email: 'x@example.com', password: 'p-1' }, { email: 'x@example.com', password: 'secret-p-2' }] }))
      .rejects.not.toThrow(/secret-p-2/);
  });
});
