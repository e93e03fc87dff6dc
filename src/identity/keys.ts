import type { KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { LocalTokenAlg } from './contract.js';
import { publicMembers, thumbprint, type PublicJwk } from './thumbprint.js';

/** A machine key in memory. The private half never leaves this object except to be stored. */
export interface MachineKey {
  alg: LocalTokenAlg;
  privateKey: CryptoKey | KeyObject;
  publicJwk: PublicJwk;
  /** RFC 7638 thumbprint of publicJwk: the key's identity, and the Auth0 user's. */
  thumbprint: string;
}

/** Generates a new extractable key pair (P-256 by default) so it can be persisted. */
export async function generateMachineKey(alg: LocalTokenAlg = 'ES256'): Promise<MachineKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = publicMembers((await exportJWK(publicKey)) as PublicJwk);
  return { alg, privateKey, publicJwk, thumbprint: thumbprint(publicJwk) };
}
