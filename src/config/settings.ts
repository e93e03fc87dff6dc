/**
 * Settings resolution, in this order: command-line flags, OMNI_AUTH_* environment variables, the
 * seed-era AUTH0_* names, then what an earlier `login` or `setup` saved. Pure except for the saved
 * file, which is read and written here. The file holds no secret.
 */
import { readFile } from 'node:fs/promises';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';
import { SUBJECT_TOKEN_TYPE } from '../identity/contract.js';
import { issuerOf, normalizeDomain } from './domain.js';

export const DEFAULT_SCOPE = 'openid profile email offline_access';

export interface SettingsFlags {
  domain?: string;
  clientId?: string;
  audience?: string;
  scope?: string;
  subjectTokenType?: string;
}

export interface SavedSettings {
  domain?: string;
  client_id?: string;
  audience?: string;
  scope?: string;
  subject_token_type?: string;
}

export type SettingSource = 'flag' | 'env' | 'saved' | 'default';

export interface Settings {
  /** Origin, e.g. https://tenant.eu.auth0.com or http://127.0.0.1:PORT. */
  domain: string;
  /** `${domain}/`, as in Auth0's tokens. */
  issuer: string;
  clientId: string;
  audience: string;
  scope: string;
  subjectTokenType: string;
  sources: Record<'domain' | 'clientId' | 'audience' | 'scope' | 'subjectTokenType', SettingSource>;
}

type Field = keyof SettingsFlags;
const ENV_NAMES: Record<Field, readonly string[]> = {
  domain: ['OMNI_AUTH_DOMAIN', 'AUTH0_DOMAIN'],
  clientId: ['OMNI_AUTH_CLIENT_ID', 'AUTH0_CLIENT_ID'],
  audience: ['OMNI_AUTH_AUDIENCE', 'AUTH0_AUDIENCE'],
  scope: ['OMNI_AUTH_SCOPE'],
  subjectTokenType: ['OMNI_AUTH_SUBJECT_TOKEN_TYPE'],
};
const SAVED_NAMES: Record<Field, keyof SavedSettings> = {
  domain: 'domain',
  clientId: 'client_id',
  audience: 'audience',
  scope: 'scope',
  subjectTokenType: 'subject_token_type',
};
const FLAG_NAMES: Record<Field, string> = {
  domain: '--domain',
  clientId: '--client-id',
  audience: '--audience',
  scope: '--scope',
  subjectTokenType: '--subject-token-type',
};

/** One setting by the resolution order, or undefined when nothing gives it (setup resolves field by field). */
export function pickSetting(field: Field, flags: SettingsFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined):
  { value: string; source: SettingSource; label: string } | undefined {
  const flag = flags[field];
  if (flag !== undefined && flag.trim() !== '') return { value: flag.trim(), source: 'flag', label: FLAG_NAMES[field] };
  for (const name of ENV_NAMES[field]) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') return { value: v.trim(), source: 'env', label: name };
  }
  const s = saved?.[SAVED_NAMES[field]];
  if (typeof s === 'string' && s.trim() !== '') return { value: s.trim(), source: 'saved', label: 'saved settings' };
  return undefined;
}

/** Resolves every setting or throws a usage error naming what is missing and how to give it. */
export function resolveSettings(flags: SettingsFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined): Settings {
  const missing: string[] = [];
  const required = (field: Field): { value: string; source: SettingSource; label: string } => {
    const got = pickSetting(field, flags, env, saved);
    if (!got) missing.push(`${FLAG_NAMES[field]} (or ${ENV_NAMES[field][0]})`);
    return got ?? { value: '', source: 'default', label: '' };
  };
  const domain = required('domain');
  const clientId = required('clientId');
  const audience = required('audience');
  if (missing.length > 0) {
    throw new UsageError('settings_missing', `missing setting${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      hint: 'pass them once to `omni-auth login` (they are saved), or run `omni-auth setup` to provision the tenant and save them',
    });
  }
  const origin = normalizeDomain(domain.value, domain.label);
  const scope = pickSetting('scope', flags, env, saved);
  const stt = pickSetting('subjectTokenType', flags, env, saved);
  const subjectTokenType = stt?.value ?? SUBJECT_TOKEN_TYPE;
  if (!/^(https:\/\/|urn:)/.test(subjectTokenType)) {
    throw new UsageError('invalid_subject_token_type', `${stt?.label ?? 'subject token type'} "${subjectTokenType}" must start with https:// or urn:`, {
      hint: `the default is ${SUBJECT_TOKEN_TYPE}`,
    });
  }
  return {
    domain: origin,
    issuer: issuerOf(origin),
    clientId: clientId.value,
    audience: audience.value,
    scope: normalizeScope(scope?.value ?? DEFAULT_SCOPE),
    subjectTokenType,
    sources: {
      domain: domain.source,
      clientId: clientId.source,
      audience: audience.source,
      scope: scope?.source ?? 'default',
      subjectTokenType: stt?.source ?? 'default',
    },
  };
}

/** Space-separated, de-duplicated, in the order given. */
export function normalizeScope(scope: string): string {
  return [...new Set(scope.split(/\s+/).filter(Boolean))].join(' ');
}

/**
 * Reads the saved settings. Missing file → undefined. A file that does not parse is a usage error
 * naming it: it is never silently replaced (the user may have edited it by hand).
 */
export async function readSavedSettings(file: string): Promise<SavedSettings | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError('settings_unreadable', `cannot read ${file}: ${(e as Error).message}`, {
      hint: `check the file's permissions, or set OMNI_AUTH_HOME to another directory`,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError('settings_corrupt', `${file} is not valid JSON: ${(e as Error).message}`, {
      hint: `fix or delete ${file}, then run \`omni-auth login\` again`,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('settings_corrupt', `${file} must hold a JSON object`, { hint: `fix or delete ${file}` });
  }
  const out: SavedSettings = {};
  for (const k of Object.values(SAVED_NAMES)) {
    const v = (parsed as Record<string, unknown>)[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** What `login` and `setup` save: only non-default values, so defaults can evolve. */
export function toSaved(s: Settings): SavedSettings {
  return {
    domain: s.domain,
    client_id: s.clientId,
    audience: s.audience,
    ...(s.scope !== DEFAULT_SCOPE ? { scope: s.scope } : {}),
    ...(s.subjectTokenType !== SUBJECT_TOKEN_TYPE ? { subject_token_type: s.subjectTokenType } : {}),
  };
}

/** Writes the settings file (0600, in the private home directory) the way `login` and `setup` share. */
export async function saveSettings(files: { home: string; settings: string }, settings: Settings): Promise<void> {
  await ensurePrivateDir(files.home);
  await writeFileAtomic(files.settings, `${JSON.stringify(toSaved(settings), null, 2)}\n`, { mode: 0o600 });
}
