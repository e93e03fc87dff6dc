import { calculateJwkThumbprint, exportJWK, generateKeyPair, generateSecret, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MachineKey } from '../../src/identity/keys.js';
import type { LocalTokenAlg } from '../../src/identity/local-token.js';
import { expectRejected, runAction } from './run.js';
import {
  encodeSegment,
  goodClaims,
  goodHeader,
  keyPairs,
  mintGood,
  nowSeconds,
  privateJwk,
  signRaw,
  signWith,
  withDummySignature,
} from './tokens.js';

/**
 * Every refusal of a bad subject token, one rule per test. Each bad token is a good one with exactly
 * one thing wrong (signed properly unless the rule is about the signature), so the reason asserted
 * proves that this rule — not an earlier one — refused it. The secrets are set so that every test
 * also checks that no secret value reaches the reason.
 */
const SECRETS = {
  ISSUER: 'https://tenant.example.auth0.com/,https://login.example.com/',
  CONNECTION: 'omni-machine-users',
};

let keys: Record<LocalTokenAlg, MachineKey>;
let other: MachineKey;
beforeAll(async () => {
  keys = await keyPairs();
  other = (await keyPairs()).ES256;
});

async function expectRefused(token: string, reason: RegExp): Promise<void> {
  expectRejected(await runAction(token, { secrets: SECRETS }), reason, token, SECRETS);
}

/** A good ES256 token with some claims replaced (`undefined` removes the claim). */
function claimsWith(changes: Record<string, unknown>, key: MachineKey = keys.ES256): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...goodClaims(key), ...changes };
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete claims[name];
  return claims;
}

describe('the Action refuses a token that is not a compact JWS', () => {
  it('an empty subject_token', () => expectRefused('', /missing/));
  it('a token over 8 KB', async () => {
    // Signed by hand: the CLI itself refuses to mint a local token over 8192 characters.
    const token = await signWith(keys.ES256, { ...goodClaims(keys.ES256), machine: { host: 'h'.repeat(9000), user: 'u', platform: 'linux' } });
    await expectRefused(token, /too long/);
  });
  it('two segments', async () => {
    const [h, p] = (await mintGood(keys.ES256)).split('.');
    await expectRefused(`${h}.${p}`, /not a compact JWS/);
  });
  it('four segments', async () => expectRefused(`${await mintGood(keys.ES256)}.AAAA`, /not a compact JWS/));
  it('an empty signature (unsecured JWS)', async () => {
    const [h, p] = (await mintGood(keys.ES256)).split('.');
    await expectRefused(`${h}.${p}.`, /not a compact JWS/);
  });
  it('characters outside base64url', async () => {
    const [h, p, s] = (await mintGood(keys.ES256)).split('.');
    await expectRefused(`${h}.${p}.${s!.slice(0, -2)}+/`, /not a compact JWS/);
  });
  it('a non-canonical base64url signature (same bytes, other spelling)', async () => {
    const token = await mintGood(keys.ES256);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 64 signature bytes leave 4 unused bits in the 86th character.
    const last = alphabet.indexOf(token.at(-1)!);
    const alias = alphabet[(last & 0b110000) | ((last & 0b1111) ^ 1)]!;
    const forged = token.slice(0, -1) + alias;
    expect(Buffer.from(forged.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
    await expectRefused(forged, /not a compact JWS/);
  });
  it('a header that is not JSON', async () => {
    const [, p, s] = (await mintGood(keys.ES256)).split('.');
    await expectRefused(`${encodeSegment('not json')}.${p}.${s}`, /header is not a JSON object/);
  });
  it('a header that is a JSON array', async () => {
    const [, p, s] = (await mintGood(keys.ES256)).split('.');
    await expectRefused(`${encodeSegment([goodHeader(keys.ES256)])}.${p}.${s}`, /header is not a JSON object/);
  });
});

describe('the Action refuses any alg but ES256 and EdDSA, before verifying', () => {
  it('alg none with a signature', async () => {
    await expectRefused(withDummySignature({ ...goodHeader(keys.ES256), alg: 'none' }, goodClaims(keys.ES256)), /alg must be/);
  });
  it('no alg', async () => {
    const { alg: _alg, ...header } = goodHeader(keys.ES256);
    await expectRefused(withDummySignature(header, goodClaims(keys.ES256)), /alg must be/);
  });
  it.each(['HS256', 'HS384', 'HS512'])('%s signed with a secret (alg confusion)', async (alg) => {
    const secret = (await generateSecret(alg, { extractable: true })) as Uint8Array;
    await expectRefused(await signRaw({ ...goodHeader(keys.ES256), alg }, goodClaims(keys.ES256), secret), /alg must be/);
  });
  it('HS256 keyed with the public key bytes (classic confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(keys.ES256.publicJwk));
    await expectRefused(await signRaw({ ...goodHeader(keys.ES256), alg: 'HS256' }, goodClaims(keys.ES256), secret), /alg must be/);
  });
  it('RS256 with an RSA key it carries', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const claims = { ...goodClaims(keys.ES256), sub: kid };
    await expectRefused(await signRaw({ alg: 'RS256', typ: 'omni-local+jwt', jwk, kid }, claims, privateKey), /alg must be/);
  });
  it('ES384 with a P-384 key it carries', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384');
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const claims = { ...goodClaims(keys.ES256), sub: kid };
    await expectRefused(await signRaw({ alg: 'ES384', typ: 'omni-local+jwt', jwk, kid }, claims, privateKey), /alg must be/);
  });
  it('the fully-specified "Ed25519" alg name (only "EdDSA" is in the contract)', async () => {
    const token = await signWith(keys.EdDSA, goodClaims(keys.EdDSA), { alg: 'Ed25519' });
    await expectRefused(token, /alg must be/);
  });
});

describe('the Action refuses a wrong typ', () => {
  it.each([
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['application/omni-local+jwt', 'application/omni-local+jwt'],
    ['upper case', 'OMNI-LOCAL+JWT'],
  ])('typ %s', async (_name, typ) => {
    const header = { ...goodHeader(keys.ES256), typ };
    if (typ === undefined) delete header.typ;
    await expectRefused(await signRaw(header, goodClaims(keys.ES256), keys.ES256.privateKey), /typ must be omni-local\+jwt/);
  });
});

describe('the Action refuses a bad header jwk', () => {
  it('no jwk', async () => {
    await expectRefused(await signWith(keys.ES256, goodClaims(keys.ES256), { jwk: undefined }), /no jwk/);
  });
  it('the private key itself as jwk (with d)', async () => {
    const token = await signWith(keys.ES256, goodClaims(keys.ES256), { jwk: await privateJwk(keys.ES256) });
    await expectRefused(token, /private key members/);
  });
  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])('a jwk with the private member "%s"', async (member) => {
    const jwk = { ...keys.EdDSA.publicJwk, [member]: member === 'oth' ? [] : 'AQAB' };
    await expectRefused(await signWith(keys.EdDSA, goodClaims(keys.EdDSA), { jwk }), /private key members/);
  });
  it('ES256 with a P-384 key', async () => {
    const { publicKey } = await generateKeyPair('ES384');
    const jwk = await exportJWK(publicKey);
    const header = { ...goodHeader(keys.ES256), jwk, kid: await calculateJwkThumbprint(jwk) };
    await expectRefused(withDummySignature(header, goodClaims(keys.ES256)), /ES256 requires a EC key on P-256/);
  });
  it('ES256 with an Ed25519 key', async () => {
    const header = { ...goodHeader(keys.EdDSA), alg: 'ES256' };
    await expectRefused(withDummySignature(header, goodClaims(keys.EdDSA)), /ES256 requires a EC key on P-256/);
  });
  it('EdDSA with a P-256 key', async () => {
    const header = { ...goodHeader(keys.ES256), alg: 'EdDSA' };
    await expectRefused(withDummySignature(header, goodClaims(keys.ES256)), /EdDSA requires a OKP key on Ed25519/);
  });
  it('EdDSA with an Ed448 key', async () => {
    const jwk: JWK = { kty: 'OKP', crv: 'Ed448', x: Buffer.alloc(57, 7).toString('base64url') };
    const header = { ...goodHeader(keys.EdDSA), jwk, kid: await calculateJwkThumbprint(jwk) };
    await expectRefused(withDummySignature(header, goodClaims(keys.EdDSA), 114), /EdDSA requires a OKP key on Ed25519/);
  });
  it('an EC jwk without y', async () => {
    const { y: _y, ...jwk } = keys.ES256.publicJwk;
    await expectRefused(await signWith(keys.ES256, goodClaims(keys.ES256), { jwk }), /no valid "y"/);
  });
  it('a kid that is not the thumbprint of the jwk', async () => {
    const claims = { ...goodClaims(keys.ES256), sub: other.thumbprint };
    await expectRefused(await signWith(keys.ES256, claims, { kid: other.thumbprint }), /kid is not the RFC 7638 thumbprint/);
  });
  it('no kid', async () => {
    await expectRefused(await signWith(keys.ES256, goodClaims(keys.ES256), { kid: undefined }), /kid is not/);
  });
  it('a jwk that is not a point on the curve', async () => {
    const jwk = { ...keys.ES256.publicJwk, y: Buffer.alloc(32, 1).toString('base64url') };
    const kid = await calculateJwkThumbprint(jwk as JWK);
    const token = await signWith(keys.ES256, { ...goodClaims(keys.ES256), sub: kid }, { jwk, kid });
    await expectRefused(token, /not a valid public key/);
  });
});

describe('the Action refuses a bad signature', () => {
  it('signed by another key than the one in the header', async () => {
    const token = await signRaw(goodHeader(keys.ES256), goodClaims(keys.ES256), other.privateKey);
    await expectRefused(token, /signature is invalid/);
  });
  it('claims changed after signing', async () => {
    const [h, , s] = (await mintGood(keys.EdDSA)).split('.');
    const changed = encodeSegment({ ...goodClaims(keys.EdDSA), azp: 'cli-client-id' });
    await expectRefused(`${h}.${changed}.${s}`, /signature is invalid/);
  });
  it('a signature of the wrong length', async () => {
    const [h, p] = (await mintGood(keys.ES256)).split('.');
    await expectRefused(`${h}.${p}.${Buffer.alloc(63, 1).toString('base64url')}`, /signature is invalid/);
  });
  it('a signed payload that is not a JSON object', async () => {
    await expectRefused(await signWith(keys.ES256, ['not', 'an', 'object']), /payload is not a JSON object/);
  });
});

describe('the Action refuses bad claims in a well-signed token', () => {
  const cases: Array<[string, () => Record<string, unknown>, RegExp]> = [
    ['iss of another issuer', () => claimsWith({ iss: 'someone-else' }), /iss must be omni-auth/],
    ['no iss', () => claimsWith({ iss: undefined }), /iss must be omni-auth/],
    ['sub other than kid', () => claimsWith({ sub: 'not-the-thumbprint' }), /sub must equal kid/],
    ['no sub', () => claimsWith({ sub: undefined }), /sub must equal kid/],
    ['aud of another tenant', () => claimsWith({ aud: 'https://evil.example.com/' }), /aud/],
    ['aud without the trailing slash', () => claimsWith({ aud: 'https://tenant.example.auth0.com' }), /aud/],
    ['aud as an array', () => claimsWith({ aud: ['https://tenant.example.auth0.com/'] }), /aud/],
    ['no aud', () => claimsWith({ aud: undefined }), /aud/],
    ['azp of another client', () => claimsWith({ azp: 'another-client' }), /azp/],
    ['no azp', () => claimsWith({ azp: undefined }), /azp/],
    ['no iat', () => claimsWith({ iat: undefined }), /iat is missing or not a number/],
    ['iat as a string', () => claimsWith({ iat: String(nowSeconds()) }), /iat is missing or not a number/],
    ['no exp', () => claimsWith({ exp: undefined }), /exp is missing or not a number/],
    ['exp as a string', () => claimsWith({ exp: String(nowSeconds() + 60) }), /exp is missing or not a number/],
    ['nbf as a string', () => claimsWith({ nbf: String(nowSeconds()) }), /nbf is not a number/],
    ['exp before iat', () => claimsWith({ exp: nowSeconds() - 1 }), /exp must be after iat/],
    ['a lifetime of 121 s', () => claimsWith({ exp: nowSeconds() + 121 }), /longer than 120 seconds/],
    ['a lifetime of 300 s (the old maximum)', () => claimsWith({ exp: nowSeconds() + 300 }), /longer than 120 seconds/],
    ['iat 70 s in the future', () => ({ ...goodClaims(keys.ES256, nowSeconds() + 70) }), /iat is in the future/],
    ['nbf 90 s in the future', () => claimsWith({ nbf: nowSeconds() + 90 }), /not valid yet/],
    ['expired 40 s ago', () => ({ ...goodClaims(keys.ES256, nowSeconds() - 160) }), /expired/],
    ['no jti', () => claimsWith({ jti: undefined }), /jti must be/],
    ['a jti of 21 characters', () => claimsWith({ jti: 'A'.repeat(21) }), /jti must be/],
    ['a jti outside base64url', () => claimsWith({ jti: `${'A'.repeat(30)}+/=` }), /jti must be/],
    ['a numeric jti', () => claimsWith({ jti: 1234567890123456789012345 }), /jti must be/],
    ['no machine', () => claimsWith({ machine: undefined }), /machine is missing/],
    ['machine as a string', () => claimsWith({ machine: 'devbox' }), /machine is missing/],
    ['machine as an array', () => claimsWith({ machine: ['devbox', 'alice', 'linux'] }), /machine is missing/],
    ['machine.user not a string', () => claimsWith({ machine: { host: 'h', user: 7, platform: 'linux' } }), /strings/],
    ['no machine.platform', () => claimsWith({ machine: { host: 'h', user: 'u' } }), /strings/],
    ['an empty machine.host', () => claimsWith({ machine: { host: ' ', user: 'u', platform: 'linux' } }), /must not be empty/],
    ['a machine.user of control characters only', () => claimsWith({ machine: { host: 'h', user: '\u0000\n\u202e', platform: 'linux' } }), /must not be empty/],
  ];
  it.each(cases)('%s', async (_name, claims, reason) => {
    await expectRefused(await signWith(keys.ES256, claims()), reason);
  });

  it('an EdDSA token with a bad claim is refused too', async () => {
    await expectRefused(await signWith(keys.EdDSA, claimsWith({ sub: keys.ES256.thumbprint }, keys.EdDSA)), /sub must equal kid/);
  });

  it('a token refused for its claims leaves no trace in the replay cache', async () => {
    const run = await runAction(await signWith(keys.ES256, claimsWith({ aud: 'https://evil.example.com/' })), { secrets: SECRETS });
    expect(run.result.kind).toBe('reject');
    expect(run.cache.keys()).toEqual([]);
  });
});
