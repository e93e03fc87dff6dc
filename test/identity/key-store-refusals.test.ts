/**
 * The key store's refusals and acceptances, for a key file and for OMNI_AUTH_KEY alike: only a private
 * P-256 or Ed25519 key whose halves belong together is used; anything else is a usage error (exit 2)
 * with a stable code, naming where the key came from and the fix, and never quoting the key material.
 */
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_ENV, currentThumbprint, loadOrCreateKey, parsePrivateKey, readKeyFile } from '../../src/identity/key-store.js';
import { thumbprint, type PublicJwk } from '../../src/identity/thumbprint.js';
import { ExitCode, OmniAuthError } from '../../src/util/errors.js';

type Jwk = Record<string, string>;
const jwkOf = (k: KeyObject): Jwk => k.export({ format: 'jwk' }) as Jwk;
const pkcs8 = (k: KeyObject): string => k.export({ format: 'pem', type: 'pkcs8' }).toString();
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).privateKey;
const b64 = (bytes: Buffer) => bytes.toString('base64url');

/** The key material a message must never quote: the private scalar and the base64 body of the PEM. */
function materialOf(text: string): string[] {
  const out: string[] = [];
  try {
    const d = (JSON.parse(text) as Jwk).d;
    if (d && d.length >= 8) out.push(d);
  } catch { /* PEM */ }
  for (const line of text.split('\n')) if (line.length >= 32 && !line.startsWith('-----')) out.push(line);
  return out;
}

async function emptyDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'omni-keys-'));
}

/** The error parsePrivateKey and the key file and OMNI_AUTH_KEY routes give for `text`, checked for shape. */
async function refusal(text: string): Promise<{ code: string; message: string }> {
  const dir = await emptyDir();
  const file = join(dir, 'machine-key.json');
  await writeFile(file, text, { mode: 0o600 });
  const errors: OmniAuthError[] = [];
  const attempts: (() => unknown)[] = [
    () => parsePrivateKey(text, 'the test'),
    () => readKeyFile(file),
    () => loadOrCreateKey(join(dir, 'unused.json'), { [KEY_ENV]: text }),
    () => currentThumbprint(join(dir, 'unused.json'), { [KEY_ENV]: text }),
  ];
  for (const attempt of attempts) {
    const e = await Promise.resolve().then(attempt).then(() => undefined, (x: unknown) => x);
    expect(e, 'expected a refusal').toBeInstanceOf(OmniAuthError);
    errors.push(e as OmniAuthError);
  }
  const [fromText, fromFile, fromEnv, fromStatus] = errors as [OmniAuthError, OmniAuthError, OmniAuthError, OmniAuthError];
  expect(new Set(errors.map((e) => e.code)).size, 'one code on every route').toBe(1);
  for (const e of errors) {
    expect(e.exitCode).toBe(ExitCode.usage);
    expect(e.hint).toBeTruthy();
    for (const secret of materialOf(text)) {
      expect(e.message).not.toContain(secret);
      expect(e.hint).not.toContain(secret);
    }
  }
  expect(fromText.message).toContain('the test');
  expect(fromFile.message).toContain(file);
  expect(fromFile.hint).toContain(`move ${file} aside`);
  for (const e of [fromEnv, fromStatus]) {
    expect(e.message).toContain(KEY_ENV);
    expect(e.hint).toContain(`set ${KEY_ENV}`);
  }
  // Refusing never writes a key anywhere (no replacement, no key from the env route).
  expect((await readdir(dir)).sort()).toEqual(['machine-key.json']);
  return { code: fromText.code, message: fromText.message };
}

describe('refused: the wrong kind of key', () => {
  it.each([
    ['P-384 (PKCS#8 PEM)', () => pkcs8(ec('P-384')), /a key of type EC \(secp384r1\); omni-auth needs P-256 or Ed25519/],
    ['P-384 (JWK)', () => JSON.stringify(jwkOf(ec('P-384'))), /type EC \(secp384r1\)/],
    ['secp256k1 (PEM)', () => pkcs8(ec('secp256k1')), /type EC \(secp256k1\)/],
    ['secp256k1 (JWK)', () => JSON.stringify(jwkOf(ec('secp256k1'))), /type EC \(secp256k1\)/],
    ['RSA (PKCS#8 PEM)', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), /type RSA;/],
    ['RSA (PKCS#1 PEM)', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString(), /type RSA;/],
    ['RSA (JWK)', () => JSON.stringify(jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)), /type RSA;/],
    ['X25519, not a signing key (JWK)', () => JSON.stringify(jwkOf(generateKeyPairSync('x25519').privateKey)), /type X25519;/],
    ['Ed448 (PEM)', () => pkcs8(generateKeyPairSync('ed448').privateKey), /type Ed448;/],
  ])('%s → key_wrong_type', async (_name, make, message) => {
    const r = await refusal(make());
    expect(r.code).toBe('key_wrong_type');
    expect(r.message).toMatch(message);
  });
});

describe('refused: not a usable private key', () => {
  const p256 = () => jwkOf(ec('P-256'));
  it.each([
    ['not JSON', () => '{"kty": "EC", "crv": "P-256",', /it is not valid JSON/],
    ['neither JWK nor PEM', () => 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg', /expected a JSON Web Key/],
    ['a JSON array', () => JSON.stringify([p256()]), /expected a JSON Web Key/],
    ['a public-only JWK', () => { const { d: _d, ...pub } = p256(); return JSON.stringify(pub); }, /no private member "d"/],
    ['a JWK without "x"/"y"', () => { const { x: _x, y: _y, ...rest } = p256(); return JSON.stringify(rest); }, /does not hold a usable private key/],
    ['a JWK with an unknown "kty"', () => JSON.stringify({ ...p256(), kty: 'XYZ' }), /does not hold a usable private key/],
    ['a JWK whose point is off the curve', () => { const j = p256(); return JSON.stringify({ ...j, x: j.y }); }, /does not hold a usable private key/],
    ['a JWK with another key\'s x/y (P-256)', () => { const b = p256(); return JSON.stringify({ ...p256(), x: b.x, y: b.y }); }, /public part does not match its private part/],
    ['a JWK with d = 0', () => JSON.stringify({ ...p256(), d: b64(Buffer.alloc(32)) }), /public part does not match its private part/],
    ['a JWK with d ≥ the group order', () => JSON.stringify({ ...p256(), d: b64(Buffer.alloc(32, 0xff)) }), /public part does not match its private part/],
    ['an Ed25519 JWK with another key\'s x', () => {
      const other = jwkOf(generateKeyPairSync('ed25519').privateKey);
      return JSON.stringify({ ...jwkOf(generateKeyPairSync('ed25519').privateKey), x: other.x });
    }, /public member "x" does not match its private member "d"/],
    ['a truncated PEM', () => { const lines = pkcs8(ec('P-256')).trim().split('\n'); return [...lines.slice(0, 2), lines.at(-1)].join('\n'); }, /does not hold a usable private key/],
    ['a PEM with a damaged body', () => pkcs8(ec('P-256')).replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!!!!!!!!!!!!!!!!!'), /does not hold a usable private key/],
    ['a public key PEM', () => createPublicKey(ec('P-256')).export({ format: 'pem', type: 'spki' }).toString(), /does not hold a usable private key/],
    ['a passphrase-protected PKCS#8 PEM', () => ec('P-256').export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(), /encrypted with a passphrase/],
    ['a passphrase-protected SEC1 PEM', () => ec('P-256').export({ format: 'pem', type: 'sec1', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(), /encrypted with a passphrase/],
  ])('%s → key_invalid', async (_name, make, message) => {
    const r = await refusal(make());
    expect(r.code).toBe('key_invalid');
    expect(r.message).toMatch(message);
  });
});

describe('accepted', () => {
  /** The key signs, and the signature verifies with the public JWK it reports (under that thumbprint). */
  function expectWorking(loaded: { alg: string; privateKey: KeyObject; publicJwk: PublicJwk; thumbprint: string }, expected: KeyObject): void {
    const probe = Buffer.from('payload');
    const digest = loaded.alg === 'ES256' ? 'sha256' : null;
    const pub = createPublicKey({ key: loaded.publicJwk as never, format: 'jwk' });
    expect(verify(digest, probe, pub, sign(digest, probe, loaded.privateKey))).toBe(true);
    expect(loaded.publicJwk).toEqual(Object.fromEntries(Object.entries(jwkOf(createPublicKey(expected))).filter(([k]) => ['kty', 'crv', 'x', 'y'].includes(k))));
    expect(loaded.thumbprint).toBe(thumbprint(loaded.publicJwk));
    expect(loaded.publicJwk).not.toHaveProperty('d');
  }

  it.each([
    ['P-256 JWK', 'ES256', () => ec('P-256'), (k: KeyObject) => JSON.stringify(jwkOf(k))],
    ['P-256 JWK with extra members (alg, kid, use, key_ops)', 'ES256', () => ec('P-256'), (k: KeyObject) => JSON.stringify({ ...jwkOf(k), alg: 'ES256', kid: 'mine', use: 'sig', key_ops: ['sign'] })],
    ['P-256 PKCS#8 PEM', 'ES256', () => ec('P-256'), pkcs8],
    ['P-256 SEC1 PEM ("EC PRIVATE KEY")', 'ES256', () => ec('P-256'), (k: KeyObject) => k.export({ format: 'pem', type: 'sec1' }).toString()],
    ['P-256 PEM behind an "EC PARAMETERS" block (openssl ecparam -genkey)', 'ES256', () => ec('P-256'),
      (k: KeyObject) => `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${k.export({ format: 'pem', type: 'sec1' }).toString()}`],
    ['Ed25519 JWK', 'EdDSA', () => generateKeyPairSync('ed25519').privateKey, (k: KeyObject) => JSON.stringify(jwkOf(k))],
    ['Ed25519 PKCS#8 PEM', 'EdDSA', () => generateKeyPairSync('ed25519').privateKey, pkcs8],
    ['a PEM with a BOM, CRLF line ends and blank lines around it', 'ES256', () => ec('P-256'), (k: KeyObject) => `\uFEFF\r\n${pkcs8(k).replace(/\n/g, '\r\n')}\r\n\r\n`],
  ])('%s via OMNI_AUTH_KEY: used as is, nothing written', async (_name, alg, make, encode) => {
    const key = make();
    const dir = await emptyDir();
    const file = join(dir, 'machine-key.json');
    const env = { [KEY_ENV]: encode(key) };
    const loaded = await loadOrCreateKey(file, env);
    expect(loaded).toMatchObject({ alg, source: KEY_ENV, created: false });
    expectWorking(loaded, key);
    expect(await currentThumbprint(file, env)).toBe(loaded.thumbprint);
    expect(await readdir(dir)).toEqual([]);
  });

  it('the same keys as a key file', async () => {
    for (const key of [ec('P-256'), generateKeyPairSync('ed25519').privateKey]) {
      for (const text of [JSON.stringify(jwkOf(key)), pkcs8(key)]) {
        const file = join(await emptyDir(), 'machine-key.json');
        await writeFile(file, text, { mode: 0o600 });
        const loaded = (await readKeyFile(file))!;
        expect(loaded.source).toBe(file);
        expectWorking(loaded, key);
      }
    }
  });

  it('a blank OMNI_AUTH_KEY is no key: the key file is used (and created)', async () => {
    const file = join(await emptyDir(), 'machine-key.json');
    const created = await loadOrCreateKey(file, { [KEY_ENV]: '  \n' });
    expect(created).toMatchObject({ created: true, source: file, alg: 'ES256' });
    expect((await loadOrCreateKey(file, { [KEY_ENV]: '' })).thumbprint).toBe(created.thumbprint);
  });
});
