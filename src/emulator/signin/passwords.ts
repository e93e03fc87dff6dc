/**
 * Database users' passwords: stored as scrypt hashes (`scrypt$N$r$p$salt$hash`, base64url), never as
 * text and never returned by any route. Verification compares in constant time and spends the same
 * work on an unknown user as on a known one.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...o, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A hash of nothing anyone knows: what an unknown user's password is checked against. */
let decoy: Promise<string> | undefined;

/** True when `password` is the one `stored` was made from; `stored` undefined = unknown user (always false). */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const record = stored ?? (await (decoy ??= hashPassword(randomBytes(16).toString('base64url'))));
  const [scheme, n, r, p, salt, hash] = record.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const key = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(key, expected) && stored !== undefined;
}
