/** The verifier's `userInfo` option against the emulator's real /userinfo over loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createTokenVerifier } from '../../src/server/index.js';
import { call, exchange, mint, newKey } from '../emulator/helpers.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ provisioned: true });
});
afterAll(async () => {
  await emu?.close();
});

describe('createTokenVerifier({ userInfo: true }) against the emulator', () => {
  it("a person's token (openid) gets the tenant's /userinfo answer for the same subject, asked once", async () => {
    const res = await exchange(emu, await mint(emu, await newKey()), { scope: 'openid profile email' });
    expect(res.status).toBe(200);
    const token = res.body.access_token as string;
    const v = createTokenVerifier({ domain: emu.domain, audience: emu.info().audience, userInfo: true });
    const before = emu.tenant.stats.requests['GET /userinfo'] ?? 0;
    const info = await v.verifyAccessToken(token);
    expect(info.extra.userinfo).toMatchObject({ sub: info.extra.sub });
    await v.verifyAccessToken(token);
    expect(emu.tenant.stats.requests['GET /userinfo']).toBe(before + 1);
  });

  it('a client-credentials token (no /userinfo audience) is refused with userinfo_refused', async () => {
    const { management } = emu.info();
    const res = await call(emu, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: management.client_id, client_secret: management.client_secret, audience: `${emu.issuer}api/v2/` },
    });
    const v = createTokenVerifier({ domain: emu.domain, audience: `${emu.issuer}api/v2/`, userInfo: true });
    const e = await v.verifyAccessToken(res.body.access_token).catch((x: unknown) => x) as { code?: string };
    expect(e.code).toBe('userinfo_refused');
  });
});
