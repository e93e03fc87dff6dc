/**
 * `omni-auth profile list|show|use|remove` (issue 14 §3): the saved profiles, which one is the default
 * (`default_profile`), and the edits of the settings file those commands make. Every edit re-reads the
 * file under the settings lock (settings.ts withSettingsLock), refuses a file that does not parse
 * (never silently replaced), and writes it atomically, 0600, never through a link. Not on the warm path.
 *
 * Profiles that resolve to the same tenant, application and API share their cached tokens (the cache
 * key is the tenant's, cache/key.ts: the same key gives the same identity); sharedWith() names them, so
 * `status`, `logout` and `profile remove` can say so.
 */
import { UsageError } from '../util/errors.js';
import {
  DEFAULT_PROFILE, PROFILE_ENV, profileName, profileNames, profileValues, readDocument, readSavedSettings, resolveSettings, selectProfile,
  type SavedSettings, type Settings,
} from './settings.js';
import { withSettingsLock, writeSettingsDocument, type SettingsFiles } from './settings-write.js';

/** One profile as `profile list` / `profile show` print it: its saved values, never a secret (the file holds none). */
export interface ProfileSummary {
  name: string;
  /** The profile a command uses when neither --profile nor OMNI_AUTH_PROFILE names one. */
  default: boolean;
  domain?: string;
  client_id?: string;
  audience?: string;
  scope?: string;
  subject_token_type?: string;
  /** Why its settings do not resolve (a value missing or invalid). */
  error?: string;
}

/** The profile bare commands use, from the file alone (default_profile, else "default"). */
export function savedDefault(saved: SavedSettings | undefined): string {
  return selectProfile({}, {}, saved).name;
}

/** The settings a profile resolves to from the file alone (no flags, no variables), or why not. */
export function profileSettings(saved: SavedSettings | undefined, name: string): { settings?: Settings; error?: string } {
  try {
    return { settings: resolveSettings({ profile: name }, {}, saved) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export function summarize(saved: SavedSettings | undefined, name: string): ProfileSummary {
  const values = profileValues(saved, name) ?? {};
  const { settings, error } = profileSettings(saved, name);
  return {
    name,
    default: savedDefault(saved) === name,
    ...(settings
      ? { domain: settings.domain, client_id: settings.clientId, audience: settings.audience, scope: settings.scope, subject_token_type: settings.subjectTokenType }
      : {
        ...(values.domain !== undefined ? { domain: values.domain } : {}),
        ...(values.client_id !== undefined ? { client_id: values.client_id } : {}),
        ...(values.audience !== undefined ? { audience: values.audience } : {}),
        error: error ?? 'settings do not resolve',
      }),
  };
}

/** Same tenant, application and API: the cache entries of one are the other's (any scopes). */
export function sameTenant(a: Pick<Settings, 'domain' | 'clientId' | 'audience'>, b: Pick<Settings, 'domain' | 'clientId' | 'audience'>): boolean {
  return a.domain === b.domain && a.clientId === b.clientId && a.audience === b.audience;
}

/**
 * The other saved profiles whose settings resolve to the same tenant, application and API as `of`
 * (and, with `exact`, the same scopes: the very same cache entry).
 */
export function sharedWith(saved: SavedSettings | undefined, name: string, of: Settings, exact = false): string[] {
  return profileNames(saved).filter((n) => {
    if (n === name) return false;
    const s = profileSettings(saved, n).settings;
    return s !== undefined && sameTenant(s, of) && (!exact || s.scope === of.scope);
  });
}

/** A usage error for a profile the file does not hold, listing those it does. */
export function unknownProfile(name: string, saved: SavedSettings | undefined, file: string): UsageError {
  const known = profileNames(saved);
  return new UsageError('unknown_profile', `no profile named "${name}" in ${file}`, {
    hint: `saved profiles: ${known.length > 0 ? known.join(', ') : 'none'}; create one with \`omni-auth login --profile ${name} --domain … --client-id … --audience …\` or \`omni-auth setup --profile ${name}\``,
  });
}

/** `profile use NAME`: saves NAME as default_profile ("default": the key is dropped, as in a file from before profiles). */
export async function useProfile(files: SettingsFiles, value: string): Promise<{ name: string; previous: string }> {
  const name = profileName(value, 'profile');
  return withSettingsLock(files, async () => {
    const saved = await readSavedSettings(files.settings);
    if (!profileNames(saved).includes(name)) throw unknownProfile(name, saved, files.settings);
    const previous = savedDefault(saved);
    const doc = await readDocument(files.settings);
    if (name === DEFAULT_PROFILE) delete doc.default_profile;
    else doc.default_profile = name;
    await writeSettingsDocument(files, doc);
    return { name, previous };
  });
}

/**
 * `profile remove NAME`: takes its settings out of the file (for "default": the top-level values),
 * and default_profile when it names it — only with `force` (checked by the caller before anything
 * else happens; checked again here under the lock). Every other profile stays byte for byte.
 */
export async function removeProfileSettings(files: SettingsFiles, name: string, force: boolean): Promise<{ wasDefault: boolean }> {
  return withSettingsLock(files, async () => {
    const saved = await readSavedSettings(files.settings);
    if (!profileNames(saved).includes(name)) throw unknownProfile(name, saved, files.settings);
    const wasDefault = savedDefault(saved) === name;
    if (wasDefault && !force) throw defaultInUse(name, 'the settings\' default_profile');
    const doc = await readDocument(files.settings);
    if (name === DEFAULT_PROFILE) {
      for (const k of ['domain', 'client_id', 'audience', 'scope', 'subject_token_type']) delete doc[k];
    } else if (typeof doc.profiles === 'object' && doc.profiles !== null && !Array.isArray(doc.profiles)) {
      const { [name]: _gone, ...rest } = doc.profiles as Record<string, unknown>;
      if (Object.keys(rest).length > 0) doc.profiles = rest;
      else delete doc.profiles;
    }
    if (doc.default_profile === name) delete doc.default_profile;
    await writeSettingsDocument(files, doc);
    return { wasDefault };
  });
}

/** `remove` of the profile bare commands use: refused unless --force. */
export function defaultInUse(name: string, by: string): UsageError {
  return new UsageError('profile_is_default', `profile "${name}" is the default profile (${by}): commands without --profile use it`, {
    hint: `make another one the default first (\`omni-auth profile use OTHER\`), or pass --force to remove it anyway (commands without --profile then use ${name === DEFAULT_PROFILE ? 'no saved settings' : 'the "default" profile'})`,
  });
}

/** Which profile the environment (OMNI_AUTH_PROFILE) selects, if any: it overrides default_profile. */
export function profileFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const v = env[PROFILE_ENV];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/**
 * Whether MCP entries wired for the default profile must say so (`--profile default`, src/mcp/wire.ts):
 * the home has a named profile or a default_profile, so "the default" can be changed under an entry
 * that names none (`profile use`). A home with only the default profile keeps the old entries' shape.
 */
export function pinsDefault(saved: SavedSettings | undefined): boolean {
  return saved?.default_profile !== undefined || profileNames(saved).some((n) => n !== DEFAULT_PROFILE);
}
