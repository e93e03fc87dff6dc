/** The warm path's plain-JS SHA-256 against node:crypto's. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/warm/sha256.js';

const nodeSha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sha256', () => {
  it('gives the FIPS 180-4 examples', () => {
    expect(sha256(Buffer.from('abc')).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.alloc(0)).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('agrees with node:crypto at every length around the block boundaries', () => {
    for (let n = 0; n <= 200; n++) {
      const b = Buffer.alloc(n, n % 251);
      expect(sha256(b).toString('hex'), `length ${n}`).toBe(nodeSha256(b));
    }
  });

  it('agrees with node:crypto on any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (b) => sha256(b).toString('hex') === nodeSha256(b)), { numRuns: 300 });
  });
});
