/**
 * The Action as setup deploys it: the code of `auth0-actions/custom_token_exchange.js`, its pinned
 * dependencies (`auth0-actions/package.json`), runtime node22, and its secrets.
 *
 * Auth0 never returns secret values, so a changed secret cannot be seen by reading the Action. The
 * code therefore ends with marker lines:
 *
 *   // omni-auth:allowed-keys=<thumbprint>,<thumbprint>   (only when there is an allow-list)
 *   // omni-auth:identity=<person|machine|both>          (the IDENTITY secret, always)
 *   // omni-auth:secrets-sha256=<hex>
 *
 * The digest covers the desired secrets: a changed ISSUER, CONNECTION, ALLOWED_KEYS or IDENTITY
 * changes the code, and setup updates the Action. The allow-list and identity lines let setup read
 * ALLOWED_KEYS and IDENTITY back, so a run without --allowed-keys / --identity keeps them instead of
 * silently dropping or changing them. Nothing here is sensitive (the issuer URL, the connection name,
 * public key thumbprints, the policy's name). A secret edited by hand in the Dashboard is not seen.
 * scripts/create-or-update-action.sh writes the same lines (canonical JSON, see `secretsDigest`).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { defaultActionDir, loadActionSource } from '../emulator/action-source.js';
import { UsageError, isOmniAuthError } from '../util/errors.js';
import type { ActionRecord, Dependency } from './records.js';

export interface ActionSecretValue {
  name: string;
  value: string;
}

/** The Action file and its pinned dependencies, as shipped (no marker). */
export interface ActionSource {
  code: string;
  dependencies: Dependency[];
}

export interface DesiredAction {
  /** The source with the marker lines appended. */
  code: string;
  dependencies: Dependency[];
  secrets: ActionSecretValue[];
  secretsDigest: string;
  /** The ALLOWED_KEYS thumbprints, sorted; empty: any key is accepted. */
  allowedKeys: string[];
  /** The IDENTITY secret: who the Action's tokens are for. */
  identity: IdentityPolicy;
}

/**
 * The Action's IDENTITY secret (CONTRACTS-10 §6): `person` — only keys a person bound by a browser
 * sign-in get tokens, for that person (the Action's default when the secret is absent: closed);
 * `machine` — every key is its own user (omni-auth before person binding); `both` — a bound key is
 * its person, any other key its own machine user.
 */
export const IDENTITY_POLICIES = ['person', 'machine', 'both'] as const;
export type IdentityPolicy = (typeof IDENTITY_POLICIES)[number];
export const isIdentityPolicy = (v: unknown): v is IdentityPolicy => (IDENTITY_POLICIES as readonly unknown[]).includes(v);

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
const MARKER = /\n*(?:\/\/ omni-auth:allowed-keys=([^\n]*)\n)?(?:\/\/ omni-auth:identity=([^\n]*)\n)?\/\/ omni-auth:secrets-sha256=([0-9a-f]{64})\s*$/;

/** Canonical JSON of the secrets — `[["NAME","value"],…]` sorted by name — hashed with SHA-256. */
export function secretsDigest(secrets: readonly ActionSecretValue[]): string {
  const pairs = [...secrets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((s) => [s.name, s.value]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex');
}

/** The code without its marker lines (what the Action file holds). */
export const stripMarker = (code: string): string => code.replace(MARKER, '\n').trimEnd();

/** The digest in a deployed Action's marker, if it has one. */
export const markerDigest = (code: string | undefined): string | undefined => (code === undefined ? undefined : MARKER.exec(code)?.[3]);

/** The IDENTITY a deployed Action's marker records; undefined without a marker, an identity line, or with a value that is no policy. */
export function markerIdentity(code: string | undefined): IdentityPolicy | undefined {
  const value = code === undefined ? undefined : MARKER.exec(code)?.[2];
  return isIdentityPolicy(value) ? value : undefined;
}

/**
 * The allow-list a deployed Action's marker records: its thumbprints, [] when the marker has no
 * allow-list line, undefined when there is no marker or the line is not a list of thumbprints.
 */
export function markerAllowedKeys(code: string | undefined): string[] | undefined {
  const m = code === undefined ? null : MARKER.exec(code);
  if (!m) return undefined;
  if (m[1] === undefined) return [];
  const keys = m[1].split(',').filter(Boolean);
  return keys.every((k) => THUMBPRINT.test(k)) ? keys : undefined;
}

export const withMarker = (code: string, digest: string, allowedKeys: readonly string[] = [], identity?: IdentityPolicy): string =>
  `${stripMarker(code)}\n\n${allowedKeys.length > 0 ? `// omni-auth:allowed-keys=${allowedKeys.join(',')}\n` : ''}`
  + `${identity !== undefined ? `// omni-auth:identity=${identity}\n` : ''}// omni-auth:secrets-sha256=${digest}\n`;

/**
 * The allow-list the tenant's Action runs with, as far as it can be known: [] when there is no Action
 * or it has no ALLOWED_KEYS secret; the marker's list; undefined when the Action has an ALLOWED_KEYS
 * secret whose value no marker records (deployed by hand or by an older omni-auth).
 */
export function deployedAllowedKeys(action: ActionRecord | undefined): string[] | undefined {
  if (!action) return [];
  const recorded = markerAllowedKeys(action.code);
  const hasSecret = (action.secrets ?? []).some((s) => s.name === 'ALLOWED_KEYS');
  if (recorded !== undefined && (recorded.length > 0 || !hasSecret)) return recorded;
  return hasSecret ? undefined : [];
}

/**
 * The IDENTITY policy the tenant's Action runs with, as far as it can be known: undefined when there
 * is no Action, or one without the secret that was never deployed (nothing ran it: like a new one, it
 * gets `person`); `machine` when a deployed Action has no IDENTITY secret (deployed before the policy
 * existed, it makes every key its own user — and keeps doing so); the marker's value; and `unknown`
 * when it has an IDENTITY secret no marker records (set by hand in the Dashboard).
 */
export function deployedIdentity(action: ActionRecord | undefined): IdentityPolicy | 'unknown' | undefined {
  if (!action) return undefined;
  if (!(action.secrets ?? []).some((s) => s.name === 'IDENTITY')) return action.deployed_version?.deployed === true ? 'machine' : undefined;
  return markerIdentity(action.code) ?? 'unknown';
}

/**
 * The secrets: ISSUER (the tenant's issuer, `https://{domain}/`), CONNECTION, ALLOWED_KEYS only when
 * key thumbprints are given, and IDENTITY (always: the Action's default without it is `person`, so a
 * tenant kept on `machine` must say so).
 */
export function actionSecrets(issuer: string, connection: string, allowedKeys: readonly string[], identity: IdentityPolicy = 'person'): ActionSecretValue[] {
  return [
    { name: 'ISSUER', value: issuer },
    { name: 'CONNECTION', value: connection },
    ...(allowedKeys.length > 0 ? [{ name: 'ALLOWED_KEYS', value: allowedKeys.join(',') }] : []),
    { name: 'IDENTITY', value: identity },
  ];
}

/** What setup deploys: the source, the secrets, and the marker lines that record them. */
export function desiredAction(source: ActionSource, issuer: string, connection: string, allowedKeys: readonly string[], identity: IdentityPolicy = 'person'): DesiredAction {
  const keys = [...new Set(allowedKeys)].sort();
  const secrets = actionSecrets(issuer, connection, keys, identity);
  const digest = secretsDigest(secrets);
  return {
    code: withMarker(source.code, digest, keys, identity), dependencies: source.dependencies, secrets, secretsDigest: digest, allowedKeys: keys, identity,
  };
}

/** `--identity`: one of the policies. */
export function parseIdentity(value: string): IdentityPolicy {
  const v = value.trim().toLowerCase();
  if (isIdentityPolicy(v)) return v;
  throw new UsageError('invalid_identity', `--identity must be one of ${IDENTITY_POLICIES.join(', ')}; got "${value}"`, {
    hint: 'person: only keys a person bound with `omni-auth login --browser`; machine: every key is its own user (CI keys, single-user tenants); both: either',
  });
}

/** Reads the Action (from `dir`, default the package's auth0-actions/). */
export async function readActionSource(actionDir?: string): Promise<ActionSource> {
  const dir = actionDir ?? defaultActionDir();
  try {
    return await loadActionSource(dir);
  } catch (e) {
    if (!isOmniAuthError(e)) throw e;
    throw new UsageError('action_missing', `could not read the Action from ${dir}`, {
      hint: `${join(dir, 'custom_token_exchange.js')} and ${join(dir, 'package.json')} must exist (reinstall omni-auth, or fix OMNI_AUTH_ACTION_DIR)`,
      cause: e,
    });
  }
}

/**
 * Thumbprints for ALLOWED_KEYS: comma separated, each an RFC 7638 SHA-256 thumbprint (43 base64url
 * characters). Sorted and de-duplicated, so the same set always gives the same secret (and digest).
 * An empty value is an empty list (setup then clears the allow-list).
 */
export function parseAllowedKeys(value: string): string[] {
  const keys = [...new Set(value.split(',').map((k) => k.trim()).filter(Boolean))].sort();
  const bad = keys.find((k) => !THUMBPRINT.test(k));
  if (bad !== undefined) {
    throw new UsageError('invalid_allowed_keys', `--allowed-keys: "${bad}" is not a key thumbprint`, {
      hint: 'give comma-separated thumbprints as `omni-auth status` prints them (43 characters each), or --allowed-keys \'\' to accept any key',
    });
  }
  return keys;
}
