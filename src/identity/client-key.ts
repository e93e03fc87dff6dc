/**
 * The client key: the RSA key an application authenticates with at Auth0's /oauth/token by Private
 * Key JWT (client-credentials tokens, issue 12 §4) — no shared secret at all. Auth0 accepts only RSA
 * credentials (RS256, RS384, PS256: "Supported algorithms: RS256,RS384,PS256"), so this is not the
 * P-256 machine key: it is its own key, `<home>/client-key.json` (a private JWK, 0600, created by
 * `omni-auth setup --m2m`, never replaced silently), or `OMNI_AUTH_CLIENT_KEY` (a private JWK or PKCS#8
 * PEM, nothing written) for CI. Its public half is registered as the application's `public_key`
 * credential; the private half never leaves this machine.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';

export const CLIENT_KEY_ENV = 'OMNI_AUTH_CLIENT_KEY';
/** The one algorithm omni-auth signs assertions with (Auth0's default for a credential). */
export const CLIENT_ASSERTION_ALG = 'RS256';
/** Auth0 recommends a short life ("We recommend setting it to less than 1 minute"; at most 5 minutes). */
export const CLIENT_ASSERTION_LIFETIME_SECONDS = 60;
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientKey {
  privateKey: KeyObject;
  /** SPKI PEM of the public half: what Auth0 stores as the credential's `pem`. */
  publicPem: string;
  /** SHA-256 of the SPKI DER, base64url: names the credential `setup --m2m` registers. */
  fingerprint: string;
  source: string;
}

function fromPrivate(privateKey: KeyObject, source: string): ClientKey {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa' || (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new UsageError('client_key_wrong_type', `${source} does not hold an RSA private key of at least 2048 bits`, {
      hint: source === CLIENT_KEY_ENV
        ? `set ${CLIENT_KEY_ENV} to an RSA private key (Auth0 accepts RSA credentials only), e.g. from: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`
        : `move ${source} aside and run \`omni-auth setup --m2m\` again to create and register a new one`,
    });
  }
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKey,
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    fingerprint: createHash('sha256').update(der).digest('base64url'),
    source,
  };
}

/** Parses a private key given as JWK JSON or PEM text. Errors never quote the key material. */
export function parseClientKey(text: string, source: string): ClientKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as never, format: 'jwk' })
      : createPrivateKey({ key: trimmed, format: 'pem' });
  } catch {
    throw new UsageError('client_key_invalid', `${source} does not hold a usable private key (a private JWK or an unencrypted PKCS#8 PEM)`, {
      hint: source === CLIENT_KEY_ENV ? `set ${CLIENT_KEY_ENV} to an RSA private key` : `move ${source} aside and run \`omni-auth setup --m2m\` again`,
    });
  }
  return fromPrivate(key, source);
}

/** OMNI_AUTH_CLIENT_KEY, else the key file; undefined when there is neither. */
export async function readClientKey(file: string, env: NodeJS.ProcessEnv): Promise<ClientKey | undefined> {
  const fromEnv = env[CLIENT_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseClientKey(fromEnv, CLIENT_KEY_ENV);
  let text: string;
  try {
    if (process.platform !== 'win32') {
      const st = await stat(file);
      if (!st.isFile() || (st.mode & 0o077) !== 0) {
        throw new UsageError('client_key_permissions', `client key file ${file} is not a regular file readable only by you`, { hint: `run: chmod 600 ${file}` });
      }
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError('client_key_unreadable', `cannot read client key file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: `check that ${file} belongs to this user and has mode 0600`,
    });
  }
  return parseClientKey(text, file);
}

/** The client key, created (RSA 2048, exclusive write, 0600) when there is none: `setup --m2m`. */
export async function loadOrCreateClientKey(file: string, env: NodeJS.ProcessEnv): Promise<ClientKey & { created: boolean }> {
  const existing = await readClientKey(file, env);
  if (existing) return { ...existing, created: false };
  await ensurePrivateDir(dirname(file));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const body = `${JSON.stringify({ ...jwk, alg: CLIENT_ASSERTION_ALG, created_at: new Date().toISOString() }, null, 2)}\n`;
  const won = await writeFileAtomic(file, body, { mode: 0o600, exclusive: true });
  if (!won) {
    const winner = await readClientKey(file, env);
    if (winner) return { ...winner, created: false };
  }
  return { ...fromPrivate(privateKey, file), created: true };
}

/**
 * A client assertion (RFC 7523 §2.2 as Auth0 documents it): `iss` = `sub` = the client id, `aud` the
 * tenant's URL with its trailing slash (`https://{domain}/`), a one-minute life and a fresh random
 * `jti` every call, so a retry never replays one.
 */
export async function mintClientAssertion(key: ClientKey, clientId: string, issuer: string, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({})
    .setProtectedHeader({ alg: CLIENT_ASSERTION_ALG, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + CLIENT_ASSERTION_LIFETIME_SECONDS)
    .setJti(randomBytes(32).toString('base64url'))
    .sign(key.privateKey);
}
