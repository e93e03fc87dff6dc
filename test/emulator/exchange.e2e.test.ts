/**
 * The Custom Token Exchange end to end on a provisioned emulator: the real Action, real HTTP,
 * tokens checked with jose against the emulator's JWKS.
 */
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, exportJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import type { MachineKey } from '../../src/identity/keys.js';
import { generateMachineKey } from '../../src/identity/keys.js';
import {
  MACHINE, call, exchange, goodClaims, goodHeader, mint, newKey, nowSeconds, resetThrottle, sign,
} from './helpers.js';

let emu: Emulator;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  jwks = createRemoteJWKSet(new URL(`${emu.issuer}.well-known/jwks.json`));
});

afterAll(async () => {
  await emu?.close();
});

const verifyAccess = (token: string) => jwtVerify(token, jwks, { issuer: emu.issuer, audience: emu.info().audience });

describe('a valid local token', () => {
  it('is exchanged for an access token the JWKS verifies, an ID token and a refresh token', async () => {
    const key = await newKey();
    const res = await exchange(emu, await mint(emu, key), { scope: 'openid profile offline_access' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'openid profile offline_access',
      expires_in: expect.any(Number),
    });
    expect(typeof res.body.id_token).toBe('string');
    expect(typeof res.body.refresh_token).toBe('string');

    const { payload, protectedHeader } = await verifyAccess(res.body.access_token);
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.sub).toBe(`auth0|omni-${key.thumbprint}`);
    expect(payload.azp).toBe(emu.info().client_id);
    expect(payload.aud).toEqual([emu.info().audience, `${emu.issuer}userinfo`]);
    expect(payload.exp! - payload.iat!).toBe(res.body.expires_in);

    const id = await jwtVerify(res.body.id_token, jwks, { issuer: emu.issuer, audience: emu.info().client_id });
    expect(id.payload).toMatchObject({ sub: payload.sub, name: `${MACHINE.user}@${MACHINE.host}`, nickname: MACHINE.user });
    // Auth0's defaults (Get ID Tokens; Update Access Token Lifetime): 10 h and the API's 24 h.
    expect(id.payload.exp! - id.payload.iat!).toBe(36_000);
    expect(res.body.expires_in).toBe(86_400);
  });

  it('maps the same key to the same user and another key to another user', async () => {
    const [a, b] = [await newKey(), await newKey()];
    const subOf = async (key: MachineKey): Promise<string> => {
      const res = await exchange(emu, await mint(emu, key));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (await verifyAccess(res.body.access_token)).payload.sub!;
    };
    const first = await subOf(a);
    expect(await subOf(a)).toBe(first);
    expect(await subOf(b)).not.toBe(first);
  });

  it('issues no ID token without openid and no refresh token without offline_access', async () => {
    const res = await exchange(emu, await mint(emu, await newKey()));
    expect(res.status).toBe(200);
    expect(res.body.id_token).toBeUndefined();
    expect(res.body.refresh_token).toBeUndefined();
    expect((await verifyAccess(res.body.access_token)).payload.aud).toBe(emu.info().audience);
  });

  it('refreshes with the refresh token until it is revoked', async () => {
    const key = await newKey();
    const first = await exchange(emu, await mint(emu, key), { scope: 'openid offline_access' });
    expect(first.status).toBe(200);
    const client_id = emu.info().client_id;
    const refresh = () => call(emu, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', client_id, refresh_token: first.body.refresh_token } });

    const again = await refresh();
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.refresh_token).toBeUndefined(); // no rotation
    expect(typeof again.body.id_token).toBe('string');
    expect((await verifyAccess(again.body.access_token)).payload.sub).toBe(`auth0|omni-${key.thumbprint}`);

    const revoked = await call(emu, 'POST', '/oauth/revoke', { form: { client_id, token: first.body.refresh_token } });
    expect(revoked.status).toBe(200);
    const after = await refresh();
    expect(after.status).toBe(403);
    expect(after.body).toEqual({ error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
  });

  it('counts exchanges in the statistics', async () => {
    const before = (await call(emu, 'GET', '/__emulator/stats')).body.exchanges;
    await exchange(emu, await mint(emu, await newKey()));
    await exchange(emu, 'not-a-token');
    await resetThrottle(emu);
    const after = (await call(emu, 'GET', '/__emulator/stats')).body.exchanges;
    expect(after).toEqual({ ok: before.ok + 1, failed: before.failed + 1, rate_limited: before.rate_limited });
  });
});

describe('the Action refuses', () => {
  let key: MachineKey;
  beforeAll(async () => {
    key = await newKey();
  });
  // Thirteen refusals from one IP would trip Suspicious IP Throttling (10 attempts).
  beforeEach(async () => {
    expect((await resetThrottle(emu)).status).toBe(204);
  });

  const now = nowSeconds;
  const cases: [string, RegExp, () => Promise<string>][] = [
    ['a bad alg', /alg/, () => sign({ ...goodHeader(key), alg: 'HS256' }, goodClaims(emu, key), new Uint8Array(randomBytes(32)))],
    ['a wrong typ', /typ/, () => sign({ ...goodHeader(key), typ: 'JWT' }, goodClaims(emu, key), key.privateKey)],
    ['a private jwk', /private/, async () =>
      sign({ ...goodHeader(key), jwk: await exportJWK(key.privateKey) }, goodClaims(emu, key), key.privateKey)],
    ['a kid that is not the thumbprint', /kid/, async () => {
      const other = await newKey();
      return sign({ ...goodHeader(key), kid: other.thumbprint }, goodClaims(emu, key), key.privateKey);
    }],
    ['sub ≠ kid', /sub/, () => sign(goodHeader(key), { ...goodClaims(emu, key), sub: 'someone-else' }, key.privateKey)],
    ['a bad signature', /signature/, async () => {
      const [h, p] = (await mint(emu, key)).split('.');
      const [, , s] = (await mint(emu, key)).split('.');
      return `${h}.${p}.${s}`;
    }],
    ['a wrong iss', /iss/, () => sign(goodHeader(key), { ...goodClaims(emu, key), iss: 'not-omni-auth' }, key.privateKey)],
    ['a wrong aud', /aud/, () => sign(goodHeader(key), { ...goodClaims(emu, key), aud: 'https://elsewhere.example/' }, key.privateKey)],
    ['a wrong azp', /azp/, () => sign(goodHeader(key), { ...goodClaims(emu, key), azp: 'another-client' }, key.privateKey)],
    ['a too-long lifetime', /longer than/, () => {
      const t = now();
      return sign(goodHeader(key), { ...goodClaims(emu, key), iat: t, nbf: t, exp: t + 301 }, key.privateKey);
    }],
    ['an iat in the future', /future/, () => {
      const t = now() + 600;
      return sign(goodHeader(key), { ...goodClaims(emu, key), iat: t, nbf: t, exp: t + 120 }, key.privateKey);
    }],
    ['an expired token', /expired/, () => {
      const t = now() - 400;
      return sign(goodHeader(key), { ...goodClaims(emu, key), iat: t, nbf: t, exp: t + 120 }, key.privateKey);
    }],
    ['something that is not a JWS', /JWS/, async () => 'definitely.not-a-jws'],
  ];

  it.each(cases)('%s with 400 invalid_request', async (_name, reason, make) => {
    const res = await exchange(emu, await make());
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toMatch(reason);
  });

  it('a replayed token', async () => {
    const token = await mint(emu, key);
    expect((await exchange(emu, token)).status).toBe(200);
    const replay = await exchange(emu, token);
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/replay/) });
  });

  it('an EdDSA token is accepted too (the refusals above are not blanket ones)', async () => {
    const ed = await generateMachineKey('EdDSA');
    expect((await exchange(emu, await mint(emu, ed))).status).toBe(200);
  });
});
