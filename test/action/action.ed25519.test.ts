import { createPublicKey, verify } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { expectRejected, runMachine } from './run.js';
import { encodeSegment, goodClaims, keyPairs, mintGood } from './tokens.js';

/**
 * Issue 9 §4: Ed25519 public keys of small order verify `R = identity, S = 0` (and other forged
 * signatures) for any message — a fixed `omni-<thumbprint>` user that anyone could sign for. The
 * Action refuses them, and every non-canonical encoding (y ≥ p), from the header jwk's `x` bytes,
 * before any signature work.
 */

const FF = 'ff'.repeat(30);
/** The 8 small-order points (y = 0, 1, −1 and the two y of order 8, each with both x signs). */
const SMALL_ORDER: Array<[string, string]> = [
  ['order 4, y = 0', '00'.repeat(32)],
  ['order 4, y = 0, x sign set', `${'00'.repeat(31)}80`],
  ['the identity (0, 1)', `01${'00'.repeat(31)}`],
  ['the identity with the x sign bit set (non-canonical −0)', `01${'00'.repeat(30)}80`],
  ['order 2, y = −1', `ec${FF}7f`],
  ['order 2, y = −1, x sign set', `ec${FF}ff`],
  ['order 8 (a)', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'],
  ['order 8 (a), x sign set', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'],
  ['order 8 (b)', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'],
  ['order 8 (b), x sign set', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'],
];
/** y ≥ p: aliases of y − p (p ≡ 0 and p + 1 ≡ 1 are small-order points again). */
const NON_CANONICAL: Array<[string, string]> = [
  ['y = p (≡ 0)', `ed${FF}7f`],
  ['y = p, x sign set', `ed${FF}ff`],
  ['y = p + 1 (≡ 1, the identity)', `ee${FF}7f`],
  ['y = p + 1, x sign set', `ee${FF}ff`],
  ['y = 2^255 − 1 (= p + 18)', `ff${FF}7f`],
];

const IDENTITY_R_ZERO_S = Buffer.concat([Buffer.from(`01${'00'.repeat(31)}`, 'hex'), Buffer.alloc(32)]).toString('base64url');

/** A token for the key `x`, with a well-formed header and claims, signed `R = identity, S = 0`. */
async function forged(xHex: string): Promise<string> {
  const jwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(xHex, 'hex').toString('base64url') };
  const kid = await calculateJwkThumbprint(jwk);
  const header = { alg: 'EdDSA', typ: 'omni-local+jwt', jwk, kid };
  const { EdDSA } = await keyPairs();
  const claims = { ...goodClaims(EdDSA), sub: kid };
  return `${encodeSegment(header)}.${encodeSegment(claims)}.${IDENTITY_R_ZERO_S}`;
}

describe('the Action refuses Ed25519 keys of small order (R = identity, S = 0 forgeries)', () => {
  it('(why: Node’s own verify accepts R = identity, S = 0 under the identity key for any message)', () => {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(`01${'00'.repeat(31)}`, 'hex').toString('base64url') }, format: 'jwk' });
    const signature = Buffer.from(IDENTITY_R_ZERO_S, 'base64url');
    expect(verify(null, Buffer.from('any message at all'), key, signature)).toBe(true);
    expect(verify(null, Buffer.from('and another one'), key, signature)).toBe(true);
  });

  it.each(SMALL_ORDER)('%s', async (_name, xHex) => {
    const token = await forged(xHex);
    const run = await runMachine(token);
    expectRejected(run, /Ed25519 point of small order/, token);
    expect(run.cache.keys()).toEqual([]);
  });
});

describe('the Action refuses non-canonical Ed25519 point encodings', () => {
  it.each(NON_CANONICAL)('%s', async (_name, xHex) => {
    const token = await forged(xHex);
    expectRejected(await runMachine(token), /non-canonical Ed25519 point/, token);
  });

  it('an x of 31 or 33 bytes', async () => {
    for (const bytes of [31, 33]) {
      const token = await forged('09'.repeat(bytes));
      expectRejected(await runMachine(token), /not a 32-byte Ed25519 key/, token);
    }
  });
});

describe('ordinary Ed25519 keys are unaffected', () => {
  it('a generated key (large prime order) still gets its user', async () => {
    for (let i = 0; i < 20; i += 1) {
      const { EdDSA } = await keyPairs();
      expect((await runMachine(await mintGood(EdDSA))).result.kind).toBe('setUser');
    }
  });
});
