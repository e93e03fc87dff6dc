/**
 * The `status` use case: identity, tenant, cached token expiry and scopes — never the token itself.
 * Reads only; works with whatever is configured (a missing setting is reported, not fatal).
 */
import type { HomeFiles } from '../config/home.js';
import { profileNames, readSavedSettings, resolveSettings, selectProfile, type SavedSettings, type Settings, type SettingsFlags } from '../config/settings.js';
import { cacheKeyOf, isFresh, parseCacheKey, readCache } from '../cache/token-cache.js';
import { profileSettings, sameTenant, sharedWith } from '../config/profiles.js';
import { bindingExpiresAt, bindingKey, readBindings } from '../identity/binding.js';
import { KEY_ENV, parsePrivateKey, readKeyFile } from '../identity/key-store.js';
import { isOmniAuthError } from '../util/errors.js';

/** The stable `status --json` document (documented in the README). */
export interface StatusReport {
  home: string;
  key: { present: boolean; source?: string; thumbprint?: string; alg?: string; error?: string };
  settings: { resolved: boolean; domain?: string; client_id?: string; audience?: string; scope?: string; subject_token_type?: string; error?: string };
  token: { cached: boolean; fresh?: boolean; expires_at?: number; expires_in?: number; scope?: string; subject?: string; refreshable?: boolean };
  /**
   * The person this key is bound to for the current (tenant, application) — never the ID token.
   * `expires_at` assumes the default maximum age (30 days); the Action's BINDING_MAX_AGE_DAYS may differ.
   */
  binding: { present: boolean; sub?: string; name?: string; bound_at?: number; expires_at?: number; expired?: boolean; note?: string };
  cache_warning?: string;
  binding_warning?: string;
  /** The settings profile in use and what chose it (issue 14 §3). */
  profile?: { name: string; source: 'flag' | 'env' | 'saved' | 'default' };
  /**
   * Every saved profile (the one in use too, even when not saved yet): its tenant and whether the cache
   * holds a token for it — never the token. Another profile's entry is looked up with its saved
   * values only (the per-setting flags and variables apply to the profile in use).
   */
  profiles?: ProfileReport[];
  /**
   * Cached tokens of the exchange that no saved profile (nor the settings in use) resolves to — e.g.
   * a profile's old audience, a one-off --audience, a removed profile: `logout --profile` never sees
   * them; `logout --all-profiles` removes them. Absent when there are none.
   */
  unowned_tokens?: number;
}

export interface ProfileReport {
  name: string;
  active: boolean;
  domain?: string;
  client_id?: string;
  audience?: string;
  /**
   * `shared_with`: the other profiles whose settings give the very same cache entry (same tenant,
   * application, API and scopes): one identity, one token — `logout --profile` of either removes it.
   */
  token: { cached: boolean; fresh?: boolean; expires_at?: number; shared_with?: string[] };
  error?: string;
}

export async function status(flags: SettingsFlags, files: HomeFiles, env: NodeJS.ProcessEnv, minTtl: number, now = Math.floor(Date.now() / 1000)): Promise<StatusReport> {
  const report: StatusReport = { home: files.home, key: { present: false }, settings: { resolved: false }, token: { cached: false }, binding: { present: false } };

  try {
    const fromEnv = env[KEY_ENV];
    const key = fromEnv?.trim() ? { ...parsePrivateKey(fromEnv, KEY_ENV), created: false } : await readKeyFile(files.key);
    if (key) report.key = { present: true, source: key.source, thumbprint: key.thumbprint, alg: key.alg };
  } catch (e) {
    report.key = { present: false, error: isOmniAuthError(e) ? e.message : String(e) };
  }

  let settings: Settings | undefined;
  let saved: SavedSettings | undefined;
  try {
    saved = await readSavedSettings(files.settings);
    const chosen = selectProfile(flags, env, saved);
    report.profile = { name: chosen.name, source: chosen.source };
    settings = resolveSettings(flags, env, saved);
    report.settings = {
      resolved: true,
      domain: settings.domain,
      client_id: settings.clientId,
      audience: settings.audience,
      scope: settings.scope,
      subject_token_type: settings.subjectTokenType,
    };
  } catch (e) {
    report.settings = { resolved: false, error: isOmniAuthError(e) ? e.message : String(e) };
  }

  if (report.profile) report.profiles = await listProfiles(files, saved, report.profile.name, settings, minTtl, now);
  if (report.profile) {
    const owners = [...(settings ? [settings] : []), ...profileNames(saved).flatMap((n) => profileSettings(saved, n).settings ?? [])];
    const { entries } = await readCache(files.tokens);
    const unowned = Object.keys(entries).map(parseCacheKey).filter((k) => k && k.grant === undefined && k.ci === undefined && !owners.some((o) => sameTenant(o, k))).length;
    if (unowned > 0) report.unowned_tokens = unowned;
  }

  if (settings) {
    try {
      const { bindings, warning } = await readBindings(files.home);
      if (warning) report.binding_warning = warning;
      const b = bindings[bindingKey(settings.issuer, settings.clientId)];
      if (b && report.key.present && b.thumbprint === report.key.thumbprint) {
        const expiresAt = bindingExpiresAt(b);
        report.binding = { present: true, sub: b.sub, ...(b.name ? { name: b.name } : {}), bound_at: b.bound_at, expires_at: expiresAt, expired: expiresAt <= now };
      } else if (b) {
        report.binding = { present: false, note: 'a binding exists for another machine key; it is ignored (sign in again: omni-auth login --browser)' };
      }
    } catch (e) {
      report.binding_warning = isOmniAuthError(e) ? e.message : String(e);
    }
    const { entries, warning } = await readCache(files.tokens);
    if (warning) report.cache_warning = warning;
    const t = entries[cacheKeyOf(settings)];
    if (t) {
      report.token = {
        cached: true,
        fresh: isFresh(t, minTtl, now),
        expires_at: t.expires_at,
        expires_in: t.expires_at - now,
        ...(t.scope ? { scope: t.scope } : {}),
        ...(t.subject ? { subject: t.subject } : {}),
        refreshable: Boolean(t.refresh_token),
      };
    }
  }
  return report;
}

async function listProfiles(files: HomeFiles, saved: SavedSettings | undefined, active: string, current: Settings | undefined, minTtl: number, now: number): Promise<ProfileReport[]> {
  const names = profileNames(saved);
  if (!names.includes(active)) names.push(active);
  const { entries } = await readCache(files.tokens);
  return names.map((name) => {
    const out: ProfileReport = { name, active: name === active, token: { cached: false } };
    let s: Settings | undefined;
    try {
      s = name === active ? current : resolveSettings({ profile: name }, {}, saved);
    } catch (e) {
      out.error = isOmniAuthError(e) ? e.message : String(e);
    }
    if (!s) {
      if (!out.error) out.error = 'settings do not resolve';
      return out;
    }
    Object.assign(out, { domain: s.domain, client_id: s.clientId, audience: s.audience });
    const t = entries[cacheKeyOf(s)];
    const shared = t ? sharedWith(saved, name, s, true) : [];
    if (t) out.token = { cached: true, fresh: isFresh(t, minTtl, now), expires_at: t.expires_at, ...(shared.length > 0 ? { shared_with: shared } : {}) };
    return out;
  });
}
