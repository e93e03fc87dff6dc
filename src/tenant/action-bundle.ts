/**
 * The Action as setup deploys it: the code of `auth0-actions/custom_token_exchange.js`, its pinned
 * dependencies (`auth0-actions/package.json`), runtime node22, and its secrets.
 *
 * Auth0 never returns secret values, so a changed secret cannot be seen by reading the Action. The
 * code therefore ends with marker lines:
 *
 *   // omni-auth:allowed-keys=<thumbprint>,<thumbprint>   (only when there is an allow-list)
 *   // omni-auth:secrets-sha256=<hex>
 *
 * The digest covers the desired secrets: a changed ISSUER, CONNECTION or ALLOWED_KEYS changes the
 * code, and setup updates the Action. The allow-list line lets setup read ALLOWED_KEYS back, so a run
 * without --allowed-keys keeps it instead of silently dropping it. Nothing here is sensitive (the
 * issuer URL, the connection name, public key thumbprints). A secret edited by hand in the Dashboard
 * is not seen. scripts/create-or-update-action.sh writes the same lines (canonical JSON, see
 * `secretsDigest`).
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
}

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
const MARKER = /\n*(?:\/\/ omni-auth:allowed-keys=([^\n]*)\n)?\/\/ omni-auth:secrets-sha256=([0-9a-f]{64})\s*$/;

/** Canonical JSON of the secrets — `[["NAME","value"],…]` sorted by name — hashed with SHA-256. */
export function secretsDigest(secrets: readonly ActionSecretValue[]): string {
  const pairs = [...secrets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((s) => [s.name, s.value]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex');
}

/** The code without its marker lines (what the Action file holds). */
export const stripMarker = (code: string): string => code.replace(MARKER, '\n').trimEnd();

/** The digest in a deployed Action's marker, if it has one. */
export const markerDigest = (code: string | undefined): string | undefined => (code === undefined ? undefined : MARKER.exec(code)?.[2]);

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

export const withMarker = (code: string, digest: string, allowedKeys: readonly string[] = []): string =>
  `${stripMarker(code)}\n\n${allowedKeys.length > 0 ? `// omni-auth:allowed-keys=${allowedKeys.join(',')}\n` : ''}// omni-auth:secrets-sha256=${digest}\n`;

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

/** What setup deploys: the source, the secrets, and the marker lines that record them. */
export function desiredAction(source: ActionSource, issuer: string, connection: string, allowedKeys: readonly string[]): DesiredAction {
  const keys = [...new Set(allowedKeys)].sort();
  const secrets = actionSecrets(issuer, connection, keys);
  const digest = secretsDigest(secrets);
  return { code: withMarker(source.code, digest, keys), dependencies: source.dependencies, secrets, secretsDigest: digest, allowedKeys: keys };
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
