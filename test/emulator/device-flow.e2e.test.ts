/**
 * The emulator's Device Authorization Flow over plain HTTP: the grant type is required, the token
 * endpoint answers authorization_pending / slow_down / access_denied as Auth0 documents, and a
 * confirmed code yields the person's tokens once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { call } from './helpers.js';
import { DEVICE_GRANT, activate, allowDeviceGrant } from './device-helpers.js';
import { createPerson } from './signin-helpers.js';

const PERSON = { email: 'dee@example.com', password: 'dee-password-1', name: 'Dee Vice' };
let emu: Emulator;

const start = () => call(emu, 'POST', '/oauth/device/code', { form: { client_id: emu.info().client_id, scope: 'openid profile offline_access', audience: emu.info().audience } });
const poll = (deviceCode: string) => call(emu, 'POST', '/oauth/token', { form: { client_id: emu.info().client_id, grant_type: DEVICE_GRANT, device_code: deviceCode } });

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, identity: 'person' } as Parameters<typeof startEmulator>[0]);
  await createPerson(emu, PERSON);
});
afterAll(async () => emu?.close());

describe('emulator device flow', () => {
  it('refuses a client without the Device Code grant (403 unauthorized_client)', async () => {
    const res = await start();
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('unauthorized_client');
    expect(res.body.error_description).toContain(DEVICE_GRANT);
  });

  it('pending, then slow_down when polled too fast, then the tokens once after the page confirms', async () => {
    await allowDeviceGrant(emu);
    const started = await start();
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ verification_uri: `${emu.issuer}activate`, expires_in: 900, interval: 5 });
    expect(started.body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    const first = await poll(started.body.device_code);
    expect([first.status, first.body.error]).toEqual([403, 'authorization_pending']);
    const second = await poll(started.body.device_code);
    expect([second.status, second.body.error]).toEqual([429, 'slow_down']);

    const page = await fetch(started.body.verification_uri_complete);
    expect(await page.text()).toContain(`value="${started.body.user_code}"`);
    const wrong = await activate(emu.issuer, { user_code: started.body.user_code, email: PERSON.email, password: 'nope', action: 'confirm' });
    expect(wrong.status).toBe(400);
    const ok = await activate(emu.issuer, { user_code: started.body.user_code.toLowerCase().replace('-', ''), email: PERSON.email, password: PERSON.password, action: 'confirm' });
    expect(ok.status).toBe(200);
    // The interval grew to 10 s after slow_down: a poll now is refused again, not answered.
    expect((await poll(started.body.device_code)).body.error).toBe('slow_down');
  });

  it('access_denied once the person cancels on the page', async () => {
    const started = await start();
    const cancelled = await activate(emu.issuer, { user_code: started.body.user_code, action: 'cancel' });
    expect(cancelled.status).toBe(200);
    const res = await poll(started.body.device_code);
    expect([res.status, res.body.error]).toEqual([403, 'access_denied']);
    expect((await poll(started.body.device_code)).body.error).toBe('invalid_grant');
  });

  it('a confirmed code gives access, ID (no nonce) and refresh tokens, once', async () => {
    const started = await start();
    await activate(emu.issuer, { user_code: started.body.user_code, email: PERSON.email, password: PERSON.password, action: 'confirm' });
    const res = await poll(started.body.device_code);
    expect(res.status).toBe(200);
    expect(res.body.access_token).toBeTruthy();
    expect(res.body.refresh_token).toBeTruthy();
    const id = JSON.parse(Buffer.from(String(res.body.id_token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(id.nonce).toBeUndefined();
    expect(typeof id.auth_time).toBe('number');
    expect((await poll(started.body.device_code)).body.error).toBe('invalid_grant');
  });
});
