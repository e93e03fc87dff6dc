/**
 * The seam between the warm entry (dist/omni-auth.cjs) and the full CLI (dist/omni-auth-full.cjs).
 * In the warm build, src/broker/acquire.ts resolves to this module (scripts/build.mjs): wherever the
 * full path would get a new token — the cache has none for these settings, or it is near expiry, corrupt,
 * of another key — the warm entry stops and hands the whole command to the full CLI instead.
 */
import type { TokenRequest, TokenResult } from '../broker/get-token.js';

/** Thrown, never printed: the warm entry catches it and runs the full CLI on the same argv. */
export class HandOff extends Error {
  override readonly name = 'HandOff';
  constructor(readonly why: string) {
    super(`hand off to the full CLI: ${why}`);
  }
}

/** What get-token.ts calls when the cache cannot answer. */
export async function acquireToken(_req: TokenRequest, _now: () => number): Promise<TokenResult> {
  throw new HandOff('no fresh cached token for this key');
}
