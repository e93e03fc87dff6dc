/**
 * Settings resolution, in this order: command-line flags, OMNI_AUTH_* environment variables, the
 * seed-era AUTH0_* names, then what an earlier `login` or `setup` saved. Pure except for the saved
 * file, which is read and written here. The file holds no secret.
 *
 * Profiles (issue 14 §3): the file holds named settings side by side —
 *   {"domain": …, "client_id": …, "audience": …,              ← the "default" profile (the old format)
 *    "profiles": {"work": {"domain": …, …}, …}, "default_profile": "work"}
 * Which profile: `--profile` > OMNI_AUTH_PROFILE > the file's "default_profile" > "default". The
 * per-setting flags and variables still override the chosen profile's values. A file without
 * profiles is the "default" profile and reads exactly as before; older omni-auth versions read only
 * the top-level (default) settings of a file with profiles.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../util/errors.js';
import { SUBJECT_TOKEN_TYPE } from '../identity/contract.js';
import { issuerOf, normalizeDomain } from './domain.js';

export const DEFAULT_SCOPE = 'openid profile email offline_access';

export interface SettingsFlags {
  /** The named settings to use (`--profile`); validated by profileName(). */
  profile?: string;
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
  /** Named settings beside the top-level ("default") ones; only valid names (readSavedSettings). */
  profiles?: Record<string, SavedSettings>;
  /** The profile used when neither --profile nor OMNI_AUTH_PROFILE names one. */
  default_profile?: string;
}

/** The name of the top-level settings of the file. */
export const DEFAULT_PROFILE = 'default';
export const PROFILE_ENV = 'OMNI_AUTH_PROFILE';
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type ProfileSource = 'flag' | 'env' | 'saved' | 'default';

/** A profile name, or a usage error (exit 2) naming where the bad one came from. */
export function profileName(value: string, source: string): string {
  const v = value.trim();
  if (!PROFILE_NAME.test(v)) {
    throw new UsageError('invalid_profile', `${source} "${value}" is not a valid profile name`, {
      hint: 'a profile name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. work, eu-prod)',
    });
  }
  return v;
}

/** Which profile: --profile, else OMNI_AUTH_PROFILE, else the file's default_profile, else "default". */
export function selectProfile(flags: SettingsFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined): { name: string; source: ProfileSource; label: string } {
  if (flags.profile !== undefined && flags.profile.trim() !== '') return { name: profileName(flags.profile, '--profile'), source: 'flag', label: '--profile' };
  const fromEnv = env[PROFILE_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { name: profileName(fromEnv, PROFILE_ENV), source: 'env', label: PROFILE_ENV };
  if (saved?.default_profile !== undefined) return { name: saved.default_profile, source: 'saved', label: 'default_profile of the saved settings' };
  return { name: DEFAULT_PROFILE, source: 'default', label: 'the default profile' };
}

/** The saved values of one profile (undefined when the file has none for it). */
export function profileValues(saved: SavedSettings | undefined, name: string): SavedSettings | undefined {
  if (!saved) return undefined;
  if (name !== DEFAULT_PROFILE) return saved.profiles?.[name];
  const { profiles: _p, default_profile: _d, ...top } = saved;
  return Object.keys(top).length > 0 ? top : undefined;
}

/** The saved values of the profile the flags and environment select. */
export function selectedValues(flags: SettingsFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined): SavedSettings | undefined {
  return profileValues(saved, selectProfile(flags, env, saved).name);
}

/** Every profile the file holds, "default" first when it has top-level settings. */
export function profileNames(saved: SavedSettings | undefined): string[] {
  if (!saved) return [];
  return [...(profileValues(saved, DEFAULT_PROFILE) ? [DEFAULT_PROFILE] : []), ...Object.keys(saved.profiles ?? {}).filter((n) => n !== DEFAULT_PROFILE)];
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
  /** The profile these settings were resolved for ("default": the file's top-level settings). */
  profile?: string;
  sources: Record<'domain' | 'clientId' | 'audience' | 'scope' | 'subjectTokenType', SettingSource>;
}

type Field = Exclude<keyof SettingsFlags, 'profile'>;
const ENV_NAMES: Record<Field, readonly string[]> = {
  domain: ['OMNI_AUTH_DOMAIN', 'AUTH0_DOMAIN'],
  clientId: ['OMNI_AUTH_CLIENT_ID', 'AUTH0_CLIENT_ID'],
  audience: ['OMNI_AUTH_AUDIENCE', 'AUTH0_AUDIENCE'],
  scope: ['OMNI_AUTH_SCOPE'],
  subjectTokenType: ['OMNI_AUTH_SUBJECT_TOKEN_TYPE'],
};
const SAVED_NAMES: Record<Field, 'domain' | 'client_id' | 'audience' | 'scope' | 'subject_token_type'> = {
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
  const profile = selectProfile(flags, env, saved);
  const s = profileValues(saved, profile.name)?.[SAVED_NAMES[field]];
  if (typeof s === 'string' && s.trim() !== '') {
    return { value: s.trim(), source: 'saved', label: profile.name === DEFAULT_PROFILE ? 'saved settings' : `saved settings of profile "${profile.name}"` };
  }
  return undefined;
}

/** Resolves every setting or throws a usage error naming what is missing and how to give it. */
export function resolveSettings(flags: SettingsFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined): Settings {
  const missing: string[] = [];
  const profile = selectProfile(flags, env, saved);
  const required = (field: Field): { value: string; source: SettingSource; label: string } => {
    const got = pickSetting(field, flags, env, saved);
    if (!got) missing.push(`${FLAG_NAMES[field]} (or ${ENV_NAMES[field][0]})`);
    return got ?? { value: '', source: 'default', label: '' };
  };
  const domain = required('domain');
  const clientId = required('clientId');
  const audience = required('audience');
  if (missing.length > 0) {
    const named = profile.name === DEFAULT_PROFILE ? '' : ` for profile "${profile.name}" (from ${profile.label})`;
    const known = profileNames(saved);
    const withProfile = profile.name === DEFAULT_PROFILE ? '' : ` --profile ${profile.name}`;
    throw new UsageError('settings_missing', `missing setting${missing.length > 1 ? 's' : ''}${named}: ${missing.join(', ')}`, {
      hint: `pass them once to \`omni-auth login${withProfile}\` (they are saved), or run \`omni-auth setup${withProfile}\` to provision the tenant and save them`
        + (profile.name !== DEFAULT_PROFILE && !known.includes(profile.name) ? ` (saved profiles: ${known.length > 0 ? known.join(', ') : 'none'})` : ''),
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
    profile: profile.name,
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
  const out = savedFields(parsed as Record<string, unknown>);
  const doc = parsed as Record<string, unknown>;
  if (isObject(doc.profiles)) {
    const profiles: Record<string, SavedSettings> = {};
    // A name no command could select (hand-edited) is left in the file, unused.
    for (const [name, v] of Object.entries(doc.profiles)) if (PROFILE_NAME.test(name) && name !== DEFAULT_PROFILE && isObject(v)) profiles[name] = savedFields(v);
    if (Object.keys(profiles).length > 0) out.profiles = profiles;
  }
  if (doc.default_profile !== undefined) {
    if (typeof doc.default_profile !== 'string') throw new UsageError('invalid_profile', `"default_profile" in ${file} must be a string`, { hint: `fix ${file}` });
    out.default_profile = profileName(doc.default_profile, `"default_profile" in ${file}`);
  }
  return out;
}

function savedFields(o: Record<string, unknown>): SavedSettings {
  const out: SavedSettings = {};
  for (const k of Object.values(SAVED_NAMES)) {
    const v = o[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

/**
 * The settings document after saving `settings` to their profile's place (top level for "default",
 * else under "profiles"); the other profiles and "default_profile" stay as they are. Pure: the write,
 * under the settings lock, is settings-write.ts saveSettings (util/lock.ts stays out of the warm entry).
 */
export function withSaved(current: Record<string, unknown>, settings: Settings): Record<string, unknown> {
  const profile = settings.profile ?? DEFAULT_PROFILE;
  const next: Record<string, unknown> = profile === DEFAULT_PROFILE ? { ...toSaved(settings) } : { ...savedFields(current) };
  for (const [k, v] of Object.entries(current)) if (!(Object.values(SAVED_NAMES) as string[]).includes(k)) next[k] = v;
  if (profile !== DEFAULT_PROFILE) next.profiles = { ...(isObject(current.profiles) ? current.profiles : {}), [profile]: toSaved(settings) };
  return next;
}

/** The file as a JSON object; missing or not an object → {} (callers read it through readSavedSettings first). */
export async function readDocument(file: string): Promise<Record<string, unknown>> {
  try {
    const doc: unknown = JSON.parse(await readFile(file, 'utf8'));
    return isObject(doc) ? doc : {};
  } catch {
    return {};
  }
}
