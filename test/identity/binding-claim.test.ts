/** CONTRACTS-10 §5: the local token carries `binding: {id_token, salt}`, signed by the key, ≤ 8192 characters. */
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateMachineKey } from '../../src/identity/keys.js';
import { MAX_LOCAL_TOKEN_LENGTH, mintLocalToken } from '../../src/identity/local-token.js';

const machine = { host: 'h', user: 'u', platform: 'linux' };
const idToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'auth0|p', name: 'x'.repeat(800) })).toString('base64url')}.${'s'.repeat(342)}`;

describe('the binding claim', () => {
  it('is in the signed payload when given, with only id_token and salt', async () => {
    const key = await generateMachineKey();
    const token = await mintLocalToken({ ...key, audience: 'https://t/', clientId: 'c', machine, binding: { id_token: idToken, salt: 'AAAAAAAAAAAAAAAAAAAAAA', extra: 'no' } as never });
    const header = decodeProtectedHeader(token);
    const { payload } = await jwtVerify(token, await importJWK(header.jwk!, 'ES256'));
    expect(payload.binding).toEqual({ id_token: idToken, salt: 'AAAAAAAAAAAAAAAAAAAAAA' });
    expect(token.length).toBeLessThanOrEqual(MAX_LOCAL_TOKEN_LENGTH);
  });

  it('is absent without a binding', async () => {
    const key = await generateMachineKey();
    expect(decodeJwt(await mintLocalToken({ ...key, audience: 'https://t/', clientId: 'c', machine }))).not.toHaveProperty('binding');
  });

  it('never lets a local token grow past 8192 characters', async () => {
    const key = await generateMachineKey();
    const huge = `a.${'b'.repeat(8000)}.c`;
    await expect(mintLocalToken({ ...key, audience: 'https://t/', clientId: 'c', machine, binding: { id_token: huge, salt: 'AAAAAAAAAAAAAAAAAAAAAA' } })).rejects.toThrow(/8192/);
  });
});

describe('the largest binding bindings.json accepts', () => {
  it('still makes a local token of at most 8192 characters, with long machine names', async () => {
    const { MAX_ID_TOKEN_LENGTH } = await import('../../src/identity/binding.js');
    const key = await generateMachineKey();
    const longest = `a.${'b'.repeat(MAX_ID_TOKEN_LENGTH - 4)}.c`;
    const names = { host: 'h'.repeat(64), user: 'u'.repeat(32), platform: 'linux' };
    const token = await mintLocalToken({ ...key, audience: 'https://tenant-name.eu.auth0.com/', clientId: 'c'.repeat(32), machine: names, binding: { id_token: longest, salt: 'AAAAAAAAAAAAAAAAAAAAAA' } });
    expect(token.length).toBeLessThanOrEqual(MAX_LOCAL_TOKEN_LENGTH);
  });
});
