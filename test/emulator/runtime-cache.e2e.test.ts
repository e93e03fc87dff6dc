/**
 * api.cache is not durable on Auth0: "This cache is designed for short-lived, ephemeral data. Items
 * may not be available in later transactions even if they are within their supplied lifetime."
 * The emulator's `forgetActionCache` setting plays the worst case — every entry is gone after each
 * execution — so what the real Action's replay protection gives is shown honestly: with a cache that
 * remembers, a replayed local token is refused; with one that forgets, it is accepted again (the
 * protection is best effort; the token's short lifetime is what bounds a replay).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { exchange, mint, newKey } from './helpers.js';

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe('the Action cache between executions', () => {
  it('remembers by default: the real Action refuses a replayed local token', async () => {
    emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
    const token = await mint(emu, await newKey());
    expect((await exchange(emu, token)).status).toBe(200);
    const replay = await exchange(emu, token);
    expect([replay.status, replay.body.error]).toEqual([400, 'invalid_request']);
    expect(emu.tenant.actionCache.get('custom-token-exchange')?.size).toBeGreaterThan(0);
  });

  it('with forgetActionCache on, every entry is gone after each execution: the same local token is accepted twice', async () => {
    emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000, forgetActionCache: true } });
    const token = await mint(emu, await newKey());
    const first = await exchange(emu, token);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(emu.tenant.actionCache.get('custom-token-exchange')?.size ?? 0).toBe(0);
    const replay = await exchange(emu, token);
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
  });
});
