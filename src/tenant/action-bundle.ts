/**
 * The Action as setup deploys it: the code of `auth0-actions/custom_token_exchange.js`, its pinned
 * dependencies (`auth0-actions/package.json`), runtime node22, and its secrets.
 *
 * Auth0 never returns secret values, so a changed secret cannot be seen by reading the Action. The
 * code therefore ends with a marker line holding the SHA-256 of the desired secrets
 * (`// omni-auth:secrets-sha256=<hex>`): a changed ISSUER, CONNECTION or ALLOWED_KEYS changes the
 * code, and setup updates the Action. The values hashed are not sensitive (the issuer URL, the
 * connection name, public key thumbprints). A secret edited by hand in the Dashboard is not seen.
 * scripts/create-or-update-action.sh computes the same marker (canonical JSON, see `secretsDigest`).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { defaultActionDir, loadActionSource } from '../emulator/action-source.js';
import { UsageError, isOmniAuthError } from '../util/errors.js';
import type { Dependency } from './records.js';

export interface ActionSecretValue {
  name: string;
  value: string;
}

export interface DesiredAction {
  /** The source with the secrets marker appended. */
  code: string;
  dependencies: Dependency[];
  secrets: ActionSecretValue[];
  secretsDigest: string;
}

const MARKER = /\n*\/\/ omni-auth:secrets-sha256=([0-9a-f]{64})\s*$/;

/** Canonical JSON of the secrets — `[["NAME","value"],…]` sorted by name — hashed with SHA-256. */
export function secretsDigest(secrets: readonly ActionSecretValue[]): string {
  const pairs = [...secrets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((s) => [s.name, s.value]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex');
}

/** The code without its marker (what the Action file holds). */
export const stripMarker = (code: string): string => code.replace(MARKER, '\n').trimEnd();

/** The digest in a deployed Action's marker, if it has one. */
export const markerDigest = (code: string | undefined): string | undefined => (code === undefined ? undefined : MARKER.exec(code)?.[1]);

export const withMarker = (code: string, digest: string): string => `${stripMarker(code)}\n\n// omni-auth:secrets-sha256=${digest}\n`;

/**
 * The secrets: ISSUER (the tenant's issuer, `https://{domain}/`), CONNECTION, and ALLOWED_KEYS only
 * when key thumbprints are given.
 */
export function actionSecrets(issuer: string, connection: string, allowedKeys: readonly string[]): ActionSecretValue[] {
  return [
    { name: 'ISSUER', value: issuer },
    { name: 'CONNECTION', value: connection },
    ...(allowedKeys.length > 0 ? [{ name: 'ALLOWED_KEYS', value: allowedKeys.join(',') }] : []),
  ];
}

/** Reads the Action (from `dir`, default the package's auth0-actions/) and builds what setup deploys. */
export async function desiredAction(secrets: ActionSecretValue[], actionDir?: string): Promise<DesiredAction> {
  const dir = actionDir ?? defaultActionDir();
  let source;
  try {
    source = await loadActionSource(dir);
  } catch (e) {
    if (!isOmniAuthError(e)) throw e;
    throw new UsageError('action_missing', `could not read the Action from ${dir}`, {
      hint: `${join(dir, 'custom_token_exchange.js')} and ${join(dir, 'package.json')} must exist (reinstall omni-auth, or fix OMNI_AUTH_ACTION_DIR)`,
      cause: e,
    });
  }
  const digest = secretsDigest(secrets);
  return { code: withMarker(source.code, digest), dependencies: source.dependencies, secrets, secretsDigest: digest };
}

/**
 * Thumbprints for ALLOWED_KEYS: comma separated, each an RFC 7638 SHA-256 thumbprint (43 base64url
 * characters). Sorted and de-duplicated, so the same set always gives the same secret (and digest).
 */
export function parseAllowedKeys(value: string | undefined): string[] {
  if (value === undefined) return [];
  const keys = [...new Set(value.split(',').map((k) => k.trim()).filter(Boolean))].sort();
  const bad = keys.find((k) => !/^[A-Za-z0-9_-]{43}$/.test(k));
  if (bad !== undefined) {
    throw new UsageError('invalid_allowed_keys', `--allowed-keys: "${bad}" is not a key thumbprint`, {
      hint: 'give comma-separated thumbprints as `omni-auth status` prints them (43 characters each)',
    });
  }
  return keys;
}
