import { CompactSign, exportJWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { generateMachineKey, type MachineKey } from '../../src/identity/keys.js';
import {
  LOCAL_TOKEN_ISSUER,
  LOCAL_TOKEN_TYPE,
  mintLocalToken,
  type LocalTokenAlg,
  type MintOptions,
} from '../../src/identity/local-token.js';
import type { MachineInfo } from '../../src/identity/machine.js';

/** Good tokens come from the real minting code; bad ones are crafted here, one rule broken each. */

export const ISSUER = 'https://tenant.example.auth0.com/';
export const HOSTNAME = 'tenant.example.auth0.com';
export const CLIENT_ID = 'cli-client-id';
export const MACHINE: MachineInfo = { host: 'devbox', user: 'alice', platform: 'linux' };

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function mintGood(key: MachineKey, options: Partial<MintOptions> = {}): Promise<string> {
  return mintLocalToken({
    privateKey: key.privateKey,
    publicJwk: key.publicJwk,
    alg: key.alg,
    audience: ISSUER,
    clientId: CLIENT_ID,
    machine: MACHINE,
    ...options,
  });
}

export function goodHeader(key: MachineKey): Record<string, unknown> {
  return { alg: key.alg, typ: LOCAL_TOKEN_TYPE, jwk: { ...key.publicJwk }, kid: key.thumbprint };
}

export function goodClaims(key: MachineKey, now = nowSeconds()): Record<string, unknown> {
  return {
    machine: { ...MACHINE },
    azp: CLIENT_ID,
    iss: LOCAL_TOKEN_ISSUER,
    sub: key.thumbprint,
    aud: ISSUER,
    iat: now,
    nbf: now,
    exp: now + 120,
    jti: randomBytes(32).toString('base64url'),
  };
}

export function encodeSegment(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs any header and payload (jose only insists that `alg` fits the key). */
export function signRaw(
  header: Record<string, unknown>,
  payload: unknown,
  key: Parameters<CompactSign['sign']>[0],
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}

/** Signs `payload` with the machine key under its proper header, with header changes merged in. */
export function signWith(
  key: MachineKey,
  payload: unknown,
  headerChanges: Record<string, unknown> = {},
): Promise<string> {
  return signRaw({ ...goodHeader(key), ...headerChanges }, payload, key.privateKey);
}

/** A header and payload with a random signature of the right size: for rules checked before verifying. */
export function withDummySignature(header: Record<string, unknown>, payload: unknown, signatureBytes = 64): string {
  return `${encodeSegment(header)}.${encodeSegment(payload)}.${randomBytes(signatureBytes).toString('base64url')}`;
}

export async function privateJwk(key: MachineKey): Promise<Record<string, unknown>> {
  return (await exportJWK(key.privateKey)) as Record<string, unknown>;
}

export function segmentsOf(token: string): string[] {
  return token.split('.');
}

export async function keyPairs(): Promise<Record<LocalTokenAlg, MachineKey>> {
  return { ES256: await generateMachineKey('ES256'), EdDSA: await generateMachineKey('EdDSA') };
}

/**
 * The username the Action must set (CONTRACTS.md decision 2), computed here independently of the
 * Action: `omni-` + RFC 4648 base32 of the thumbprint's 32 bytes, lowercase, no padding.
 */
export function expectedUsername(thumbprint: string): string {
  const bits = [...Buffer.from(thumbprint, 'base64url')].map((byte) => byte.toString(2).padStart(8, '0')).join('');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  for (let at = 0; at < bits.length; at += 5) out += alphabet[parseInt(bits.slice(at, at + 5).padEnd(5, '0'), 2)];
  return `omni-${out}`;
}
