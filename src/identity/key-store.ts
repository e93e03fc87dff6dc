/**
 * The machine key: one per OS user, created on first use under OMNI_AUTH_HOME (0600), or taken from
 * OMNI_AUTH_KEY (a private JWK or PKCS#8 PEM) so a CI pipeline keeps one identity across ephemeral
 * runners — then nothing is written. A key file that is unreadable, malformed, of the wrong type or
 * readable by others is an error naming the file and the fix; it is never silently replaced.
 *
 * Only node:crypto here (no jose), so `status` can name the key cheaply.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';
import type { LocalTokenAlg } from './contract.js';
import { publicMembers, thumbprint, type PublicJwk } from './thumbprint.js';

export interface LoadedKey {
  alg: LocalTokenAlg;
  privateKey: KeyObject;
  publicJwk: PublicJwk;
  thumbprint: string;
  /** Where the key came from: the key file's path, or the environment variable. */
  source: string;
  created: boolean;
}

export const KEY_ENV = 'OMNI_AUTH_KEY';

const KEY_TYPE_NAMES: Record<string, string> = {
  rsa: 'RSA', 'rsa-pss': 'RSA-PSS', dsa: 'DSA', dh: 'DH', ec: 'EC', ed448: 'Ed448', x25519: 'X25519', x448: 'X448',
};

function fromKeyObject(privateKey: KeyObject, source: string): Omit<LoadedKey, 'created'> {
  if (privateKey.type !== 'private') {
    throw new UsageError('key_wrong_type', `${source} holds a ${privateKey.type} key, not a private key`, {
      hint: hintFor(source),
    });
  }
  let alg: LocalTokenAlg;
  const t = privateKey.asymmetricKeyType;
  if (t === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'ES256';
  else if (t === 'ed25519') alg = 'EdDSA';
  else {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    const name = `${KEY_TYPE_NAMES[t ?? ''] ?? t ?? 'unknown'}${curve ? ` (${curve})` : ''}`;
    const generate = 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256';
    throw new UsageError('key_wrong_type', `${source} holds a key of type ${name}; omni-auth needs P-256 or Ed25519`, {
      hint: source === KEY_ENV ? `set ${KEY_ENV} to a P-256 or Ed25519 private key, e.g. from: ${generate}` : `${hintFor(source)}, or replace it with a P-256 key from: ${generate}`,
    });
  }
  const publicKey = createPublicKey(privateKey);
  // A key whose public half does not belong to its private half (a JWK with someone else's x/y, or an
  // out-of-range d) would sign tokens the tenant can never verify, under another key's thumbprint.
  const probe = Buffer.from('omni-auth key check');
  const digest = alg === 'ES256' ? 'sha256' : null;
  let pairs = false;
  try {
    pairs = verify(digest, probe, publicKey, sign(digest, probe, privateKey));
  } catch {
    pairs = false;
  }
  if (!pairs) {
    throw new UsageError('key_invalid', `${source} does not hold a usable private key: its public part does not match its private part`, {
      hint: hintFor(source),
    });
  }
  const publicJwk = publicMembers(publicKey.export({ format: 'jwk' }) as PublicJwk);
  return { alg, privateKey, publicJwk, thumbprint: thumbprint(publicJwk), source };
}

function hintFor(source: string): string {
  return source === KEY_ENV
    ? `set ${KEY_ENV} to a private JWK or a PKCS#8 PEM (P-256 or Ed25519)`
    : `move ${source} aside and run omni-auth again to create a new key (this creates a new Auth0 user)`;
}

/** Parses a private key given as JWK JSON or PEM text. Errors never quote the key material. */
export function parsePrivateKey(text: string, source: string): Omit<LoadedKey, 'created'> {
  const trimmed = text.trim();
  let key: KeyObject;
  let given: Record<string, unknown> | undefined;
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof jwk.d !== 'string') throw new Error('the JWK has no private member "d"');
      given = jwk;
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else if (trimmed.startsWith('-----BEGIN')) {
      // Encrypted keys would need a passphrase (OpenSSL's own error for them is "interrupted or cancelled").
      if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: *4, *ENCRYPTED/m.test(trimmed)) {
        throw new Error('the PEM key is encrypted with a passphrase; omni-auth needs it unencrypted (openssl pkey -in key.pem -out plain.pem)');
      }
      key = createPrivateKey({ key: trimmed, format: 'pem' });
    } else {
      throw new Error('expected a JSON Web Key ({…}) or a PEM block (-----BEGIN PRIVATE KEY-----)');
    }
  } catch (e) {
    const why = e instanceof SyntaxError ? 'it is not valid JSON' : (e as Error).message.split('\n')[0];
    throw new UsageError('key_invalid', `${source} does not hold a usable private key: ${why}`, { hint: hintFor(source) });
  }
  const loaded = fromKeyObject(key, source);
  // Node takes an Ed25519 JWK's public key from "d" and ignores "x": a different "x" is a broken key too.
  if (given) {
    const wrong = (['x', 'y'] as const).filter((m) => given[m] !== undefined && given[m] !== (loaded.publicJwk as unknown as Record<string, unknown>)[m]);
    if (wrong.length > 0) {
      throw new UsageError('key_invalid', `${source} does not hold a usable private key: its public member${wrong.length > 1 ? 's' : ''} ${wrong.map((m) => `"${m}"`).join(' and ')} do${wrong.length > 1 ? '' : 'es'} not match its private member "d"`, {
        hint: hintFor(source),
      });
    }
  }
  return loaded;
}

/** The key to use: OMNI_AUTH_KEY if set, else the key file (created on first use). */
export async function loadOrCreateKey(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedKey> {
  const fromEnv = env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { ...parsePrivateKey(fromEnv, KEY_ENV), created: false };
  const existing = await readKeyFile(file);
  if (existing) return existing;
  return createKeyFile(file);
}

/**
 * The thumbprint of the key this machine would use now, without creating one (undefined when there
 * is none yet): what a cached token must have been obtained with to be served.
 */
export async function currentThumbprint(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const fromEnv = env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parsePrivateKey(fromEnv, KEY_ENV).thumbprint;
  return (await readKeyFile(file))?.thumbprint;
}

/** Reads the key file; undefined when it does not exist. */
export async function readKeyFile(file: string): Promise<LoadedKey | undefined> {
  let text: string;
  try {
    if (process.platform !== 'win32') {
      const st = await stat(file);
      if (!st.isFile()) {
        throw new UsageError('key_unusable', `key file ${file} is not a regular file`, { hint: `move ${file} aside; omni-auth creates a new key there` });
      }
      if ((st.mode & 0o077) !== 0) {
        throw new UsageError('key_permissions', `key file ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`, {
          hint: `run: chmod 600 ${file}`,
        });
      }
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new UsageError('key_unreadable', `cannot read key file ${file} (${code ?? (e as Error).message})`, {
      hint: `check that ${file} belongs to this user and has mode 0600`,
    });
  }
  return { ...parsePrivateKey(text, file), created: false };
}

/**
 * Creates the key file. Exclusive: when several processes start on an empty home at once, one key
 * wins and the others read it, so they all act as the same Auth0 user.
 */
async function createKeyFile(file: string): Promise<LoadedKey> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const body = `${JSON.stringify({ ...jwk, alg: 'ES256', created_at: new Date().toISOString() }, null, 2)}\n`;
  const won = await writeFileAtomic(file, body, { mode: 0o600, exclusive: true });
  if (!won) {
    // Another process created it first: use that key, so all act as one Auth0 user. When it cannot be
    // read back (a dangling symlink, say), fail: a key that is not saved would be a new user each run.
    const winner = await readKeyFile(file);
    if (winner) return winner;
    throw new UsageError('key_unusable', `key file ${file} exists but cannot be read as a file (a dangling link?)`, {
      hint: `remove ${file} or make it point to the key, then run omni-auth again`,
    });
  }
  return { ...fromKeyObject(privateKey, file), created: true };
}
