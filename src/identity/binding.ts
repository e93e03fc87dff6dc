/**
 * The key↔person binding (docs/signin.md, docs/local-token.md): the ID token of one browser sign-in
 * whose `nonce` was derived from this machine key's thumbprint, kept beside the key in
 * `<home>/bindings.json` (0600) and carried in every later local token as the `binding` claim.
 *
 * It is identity, not cache: a deleted or corrupt token cache leaves it alone; only
 * `logout --forget-key` removes it. Its content (the ID token) is never printed.
 *
 * Only node:crypto and node:fs here (no jose): the exchange path reads it cheaply.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';

/** The domain-separation prefix of the nonce (CONTRACTS-10 §2); the Action derives the same. */
export const BINDING_NONCE_PREFIX = 'omni-auth-bind/v1:';
/** The default maximum age of a binding; the Action's BINDING_MAX_AGE_DAYS secret may say otherwise. */
export const DEFAULT_BINDING_MAX_AGE_DAYS = 30;
/**
 * A local token stays ≤ 8192 characters, and its payload is base64url (4/3 larger): an ID token longer
 * than this would not fit beside the key, the machine names and the signature.
 */
export const MAX_ID_TOKEN_LENGTH = 5120;

const VERSION = 1;

export interface Binding {
  /** The Auth0-signed ID token of the sign-in: the attestation. Never printed. */
  id_token: string;
  /** 16 random bytes, base64url (22 characters). */
  salt: string;
  /** The RFC 7638 thumbprint of the key the nonce was derived from. */
  thumbprint: string;
  /** The person (the ID token's `sub`). */
  sub: string;
  name?: string;
  /** Epoch seconds: the ID token's `iat`. */
  bound_at: number;
}

/** What a local token carries: `binding: {id_token, salt}`. */
export interface BindingClaim {
  id_token: string;
  salt: string;
}

/** The path of the bindings file under a home directory. */
export function bindingsFile(home: string): string {
  return join(home, 'bindings.json');
}

/** `"<issuer>|<client_id>"`: one binding per tenant and application. */
export function bindingKey(issuer: string, clientId: string): string {
  return `${issuer}|${clientId}`;
}

/** A fresh salt: 16 random bytes, base64url, 22 characters. */
export function newSalt(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The sign-in nonce that binds `thumbprint`: base64url(SHA-256(utf8("omni-auth-bind/v1:" + thumbprint
 * + ":" + salt))), 43 characters.
 *
 * @example bindingNonce('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs', 'AAAAAAAAAAAAAAAAAAAAAA')
 */
export function bindingNonce(thumbprint: string, salt: string): string {
  check(typeof thumbprint === 'string' && /^[A-Za-z0-9_-]{43}$/.test(thumbprint), '"thumbprint" (RFC 7638, 43 base64url characters)');
  check(typeof salt === 'string' && /^[A-Za-z0-9_-]{22}$/.test(salt), '"salt" (16 bytes, 22 base64url characters)');
  return createHash('sha256').update(`${BINDING_NONCE_PREFIX}${thumbprint}:${salt}`, 'utf8').digest('base64url');
}

/** When a binding stops being accepted by default (the Action's secret may differ). */
export function bindingExpiresAt(binding: Pick<Binding, 'bound_at'>, maxAgeDays = DEFAULT_BINDING_MAX_AGE_DAYS): number {
  return binding.bound_at + maxAgeDays * 86_400;
}

export interface BindingsRead {
  bindings: Record<string, Binding>;
  /** Why the file (or some of it) was ignored; for a person. Never quotes the file. */
  warning?: string;
}

/** Reads `<home>/bindings.json`. Missing → empty; unparsable or malformed → empty with a warning (never fatal). */
export async function readBindings(home: string): Promise<BindingsRead> {
  const file = bindingsFile(home);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { bindings: {} };
    throw new UsageError('bindings_unreadable', `cannot read ${file} (${code ?? (e as Error).message})`, {
      hint: `check that ${file} belongs to this user and has mode 0600`,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { bindings: {}, warning: `${file} is not valid JSON; ignoring it (sign in again: omni-auth login --browser)` };
  }
  if (!isRecord(doc) || doc.version !== VERSION || !isRecord(doc.bindings)) {
    return { bindings: {}, warning: `${file} has an unknown format; ignoring it (sign in again: omni-auth login --browser)` };
  }
  const bindings: Record<string, Binding> = {};
  for (const [key, value] of Object.entries(doc.bindings)) if (isBinding(value)) bindings[key] = value;
  return { bindings };
}

/**
 * The binding for (issuer, client) made with the key `thumbprint`, or undefined. A binding made with
 * another key is ignored: it is useless with this one (the Action would refuse it).
 */
export async function findBinding(home: string, issuer: string, clientId: string, thumbprint: string, warn?: (message: string) => void): Promise<Binding | undefined> {
  const { bindings, warning } = await readBindings(home);
  if (warning) warn?.(warning);
  const b = bindings[bindingKey(issuer, clientId)];
  return b && b.thumbprint === thumbprint ? b : undefined;
}

/** Stores (replaces) the binding for (issuer, client): atomic write, 0600, in the private home. */
export async function saveBinding(home: string, issuer: string, clientId: string, binding: Binding): Promise<void> {
  check(isBinding(binding), 'binding');
  if (binding.id_token.length > MAX_ID_TOKEN_LENGTH) {
    throw new UsageError('id_token_too_large', `the ID token of this sign-in is ${binding.id_token.length} characters; a binding holds at most ${MAX_ID_TOKEN_LENGTH}`, {
      hint: 'the local token must stay within 8192 characters: remove large custom claims from the ID token (post-login Actions)',
    });
  }
  await ensurePrivateDir(home);
  // Read-modify-write: the caller holds the sign-in lock. A corrupt file is replaced.
  const { bindings } = await readBindings(home);
  bindings[bindingKey(issuer, clientId)] = binding;
  await writeFileAtomic(bindingsFile(home), `${JSON.stringify({ version: VERSION, bindings }, null, 2)}\n`, { mode: 0o600 });
}

/** Deletes every binding (logout --forget-key). True when there was a file. */
export async function forgetBindings(home: string): Promise<boolean> {
  try {
    await rm(bindingsFile(home));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function check(ok: boolean, description: string): asserts ok {
  if (!ok) throw new TypeError(`${description} missing or invalid`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isBinding(v: unknown): v is Binding {
  return isRecord(v)
    && typeof v.id_token === 'string' && v.id_token.split('.').length === 3
    && typeof v.salt === 'string' && /^[A-Za-z0-9_-]{22}$/.test(v.salt)
    && typeof v.thumbprint === 'string' && v.thumbprint !== ''
    && typeof v.sub === 'string' && v.sub !== ''
    && (v.name === undefined || typeof v.name === 'string')
    && typeof v.bound_at === 'number' && Number.isFinite(v.bound_at);
}
