/**
 * `omni-auth logout [--profile NAME | --all-profiles] [--forget-key] [--keep-mcp]`. Unless --keep-mcp,
 * the MCP client entries wired through omni-auth get their original back (a token stored by
 * `--mode env` is removed when it was issued by the tenant of the settings).
 *
 * Which (issue 14 §3): logout acts on the selected profile (--profile > OMNI_AUTH_PROFILE > the file's
 * default_profile > "default"): the cached tokens of its tenant, application and API, and the entries
 * wired for it. A home with no named profiles and no profile named has one profile, so everything goes,
 * as before profiles; `--all-profiles` clears every profile's tokens and entries. The machine key is the
 * whole home's: --forget-key on one profile of several is refused (it would log the others out too).
 */
import { logout, type PostLogoutStep } from '../broker/logout.js';
import type { McpReport } from '../mcp/index.js';
import { DEFAULT_PROFILE, profileNames, readSavedSettings, resolveSettings, selectProfile, type SavedSettings, type Settings } from '../config/settings.js';
import type { CacheKey } from '../cache/key.js';
import { sharedWith } from '../config/profiles.js';
import { UsageError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { homeContext } from './context.js';
import { info, warn } from './output.js';

/**
 * OMNI_AUTH_CLIENT_SECRET belongs to the application of the current settings: it is sent only when
 * revoking that application's refresh tokens, never to another tenant in the cache.
 */
function secretOwner(settings: Settings | undefined, secret: string) {
  return settings ? { clientSecret: { secret: new Secret(secret), domain: settings.domain, clientId: settings.clientId } } : {};
}

function resolved(profile: string, saved: SavedSettings | undefined): Settings | undefined {
  try {
    return resolveSettings({ profile }, process.env, saved);
  } catch {
    return undefined;
  }
}

export interface LogoutFlags {
  forgetKey?: boolean;
  keepMcp?: boolean;
  profile?: string;
  allProfiles?: boolean;
}

/** Whose tokens and entries: one profile's (with its settings, when they resolve), or the whole home's. */
async function logoutScope(opts: LogoutFlags, settingsFile: string): Promise<{ all: true; settings?: Settings } | { all: false; profile: string; settings?: Settings; saved?: SavedSettings }> {
  if (opts.allProfiles && opts.profile !== undefined) {
    throw new UsageError('conflicting_options', '--profile and --all-profiles cannot be used together', {
      hint: '--all-profiles logs every profile out; --profile NAME only that one',
    });
  }
  // A settings file that does not parse must not stop a logout of everything; naming a profile needs it.
  let saved: SavedSettings | undefined;
  try {
    saved = await readSavedSettings(settingsFile);
  } catch (e) {
    if (opts.profile !== undefined || process.env.OMNI_AUTH_PROFILE?.trim()) throw e;
    return { all: true };
  }
  const selected = selectProfile({ ...(opts.profile !== undefined ? { profile: opts.profile } : {}) }, process.env, saved);
  // Also with --all-profiles: OMNI_AUTH_CLIENT_SECRET goes only to the selected profile's application.
  const settings = resolved(selected.name, saved);
  if (opts.allProfiles) return { all: true, ...(settings ? { settings } : {}) };
  const named = profileNames(saved).some((n) => n !== DEFAULT_PROFILE);
  if (selected.source === 'default' && !named) return { all: true, ...(settings ? { settings } : {}) };
  return { all: false, profile: selected.name, ...(settings ? { settings } : {}), ...(saved ? { saved } : {}) };
}

/** A cache entry of this profile: its tenant, application and API (any scopes, grant or CI job). */
const ofProfile = (s: Settings | undefined) => (k: CacheKey | undefined): boolean =>
  s !== undefined && k !== undefined && k.domain === s.domain && k.clientId === s.clientId && k.audience === s.audience;

export async function runLogout(opts: LogoutFlags): Promise<number> {
  const secret = process.env.OMNI_AUTH_CLIENT_SECRET;
  const files = homeContext();
  const scope = await logoutScope(opts, files.settings);
  if (!scope.all && opts.forgetKey) {
    throw new UsageError('forget_key_needs_all_profiles', `--forget-key deletes the machine key every profile signs in with, not only profile "${scope.profile}"'s`, {
      hint: 'omni-auth logout --all-profiles --forget-key',
    });
  }
  let report: McpReport | undefined;
  const steps: PostLogoutStep[] = [];
  if (!opts.keepMcp) {
    steps.push(async () => {
      // Loaded here: only the unwiring needs the MCP config code.
      const { unwireAll } = await import('./mcp.js');
      report = await unwireAll(scope.all ? undefined : scope.profile);
    });
  }
  if (!scope.all && !scope.settings) info(`profile "${scope.profile}" has no usable settings: none of the cached tokens is known to be its`);
  const r = await logout(files, {
    forgetKey: Boolean(opts.forgetKey),
    env: process.env,
    ...(secret ? secretOwner(scope.settings, secret) : {}),
    ...(scope.all ? {} : { only: ofProfile(scope.settings) }),
  }, steps);
  for (const f of r.revokeFailures) warn(`could not revoke the refresh token at ${f.domain}: ${f.error}`);
  const whose = scope.all ? '' : `profile "${scope.profile}": `;
  info(`${whose}removed ${r.removed} cached token${r.removed === 1 ? '' : 's'}, revoked ${r.revoked} refresh token${r.revoked === 1 ? '' : 's'}`);
  // Profiles of the same tenant, application and API share their tokens (one identity): say whose else went.
  const sharing = !scope.all && scope.settings && r.removed > 0 ? sharedWith(scope.saved, scope.profile, scope.settings) : [];
  if (sharing.length > 0) info(`the removed tokens were also profile ${sharing.map((n) => `"${n}"`).join(', ')}'s (same tenant, application and API: one cache entry); ${sharing.length === 1 ? 'it gets' : 'they get'} new ones when next used`);
  if (r.kept > 0) info(`kept ${r.kept} cached token${r.kept === 1 ? '' : 's'} of other profiles (omni-auth logout --all-profiles removes every profile's)`);
  if (opts.forgetKey) {
    info(r.keyRemoved
      ? 'machine key deleted: the next login creates a new Auth0 user'
      : r.keyKept === 'from_env'
        ? 'the machine key comes from OMNI_AUTH_KEY: nothing deleted (unset the variable to stop using it)'
        : 'no machine key file to delete');
    if (r.bindingsRemoved) info('the bindings of this key to people are deleted: a new key signs in again (omni-auth login --browser)');
  }
  if (!report || report.files.length === 0) return 0;
  info('MCP clients:');
  const { printMcpReport } = await import('./mcp-report.js');
  return printMcpReport(report, { action: 'unwire' });
}
