/**
 * `omni-auth profile list|show|use|remove` (issue 14 §3): the saved settings profiles, and which one
 * commands use without --profile. Named like kubectl's `config get-contexts|use-context|delete-context`
 * and gcloud's `config configurations list|describe|activate|delete`, under one noun (as `mcp …`):
 *  - `list`              every saved profile, the default marked `*`, whether a token is cached;
 *  - `show [NAME]`       one profile's settings (default: the one commands use now) — the file holds no secret;
 *  - `use NAME`          saves NAME as default_profile; an unknown name is refused (exit 2), and so is a
 *                        change while MCP entries wired without --profile follow the default (--force);
 *  - `remove NAME`       takes NAME's settings out of the file; refused (exit 2) while it is the default
 *                        (unless --force) and while MCP entries are wired for it (they would point at
 *                        nothing); its own cached tokens are removed and their refresh tokens revoked,
 *                        those another profile shares (same tenant, application, API) are kept.
 * list and show print data on stdout (`--json`: one document); use and remove report on stderr.
 * OMNI_AUTH_PROFILE and --profile still win over the saved default.
 */
import { readCache, cacheKeyOf, isFresh, type CacheKey } from '../cache/token-cache.js';
import {
  defaultInUse, profileFromEnv, profileSettings, removeProfileSettings, sameTenant, savedDefault, sharedWith, summarize, unknownProfile, useProfile,
  type ProfileSummary,
} from '../config/profiles.js';
import { DEFAULT_PROFILE, profileName, profileNames, readSavedSettings, selectProfile, type SavedSettings } from '../config/settings.js';
import { Secret } from '../util/secret.js';
import { UsageError } from '../util/errors.js';
import { homeContext } from './context.js';
import { dim, info, warn } from './output.js';
import { describeExpiry } from './time.js';

/** What `profile list --json` and `profile show --json` print for each profile: never a token. */
export interface ProfileListing extends ProfileSummary {
  token: { cached: boolean; fresh?: boolean; expires_at?: number; shared_with?: string[] };
}

const MIN_TTL = 300;

async function listing(saved: SavedSettings | undefined, names: string[], tokensFile: string, now = Math.floor(Date.now() / 1000)): Promise<ProfileListing[]> {
  const { entries } = await readCache(tokensFile);
  return names.map((name) => {
    const summary = summarize(saved, name);
    const s = profileSettings(saved, name).settings;
    const t = s ? entries[cacheKeyOf(s)] : undefined;
    const shared = s && t ? sharedWith(saved, name, s, true) : [];
    return {
      ...summary,
      token: t ? { cached: true, fresh: isFresh(t, MIN_TTL, now), expires_at: t.expires_at, ...(shared.length > 0 ? { shared_with: shared } : {}) } : { cached: false },
    };
  });
}

function tokenText(p: ProfileListing): string {
  if (!p.token.cached) return dim('no token cached');
  const shared = p.token.shared_with ? ` ${dim(`(shared with ${p.token.shared_with.join(', ')})`)}` : '';
  return `token ${describeExpiry(p.token.expires_at!)}${shared}`;
}

/** `profile list [--json]`. */
export async function runProfileList(flags: { json?: boolean }): Promise<number> {
  const files = homeContext();
  const saved = await readSavedSettings(files.settings);
  const profiles = await listing(saved, profileNames(saved), files.tokens);
  const env = profileFromEnv(process.env);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ default_profile: savedDefault(saved), ...(env !== undefined ? { env_profile: env } : {}), profiles })}\n`);
    return 0;
  }
  if (profiles.length === 0) {
    info(`no saved profiles in ${files.settings} (create one: omni-auth login --profile NAME --domain … --client-id … --audience …, or omni-auth setup --profile NAME)`);
    return 0;
  }
  const width = Math.max(...profiles.map((p) => p.name.length));
  for (const p of profiles) {
    const where = p.error ? p.error : `${p.domain}  ${p.audience}`;
    process.stdout.write(`${p.default ? '*' : ' '} ${p.name.padEnd(width)}  ${where}  ${tokenText(p)}\n`);
  }
  if (env !== undefined) info(`OMNI_AUTH_PROFILE=${env} is set: commands without --profile use "${env}", not the default marked *`);
  return 0;
}

/** `profile show [NAME] [--json]`: NAME, else the profile commands use now (OMNI_AUTH_PROFILE, default_profile, "default"). */
export async function runProfileShow(name: string | undefined, flags: { json?: boolean }): Promise<number> {
  const files = homeContext();
  const saved = await readSavedSettings(files.settings);
  const chosen = name !== undefined ? profileName(name, 'profile') : selectProfile({}, process.env, saved).name;
  if (!profileNames(saved).includes(chosen)) throw unknownProfile(chosen, saved, files.settings);
  const [p] = await listing(saved, [chosen], files.tokens);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(p)}\n`);
    return 0;
  }
  const line = (k: string, v: string | undefined) => { if (v !== undefined) process.stdout.write(`${k.padEnd(19)}${v}\n`); };
  line('profile', `${p!.name}${p!.default ? ' (default)' : ''}`);
  line('domain', p!.domain);
  line('client_id', p!.client_id);
  line('audience', p!.audience);
  line('scope', p!.scope);
  line('subject_token_type', p!.subject_token_type);
  line('error', p!.error);
  line('token', p!.token.cached ? tokenText(p!) : 'none cached');
  return 0;
}

interface WiredEntry { client: string; clientId: string; path: string; server: string; profile: string; followsDefault: boolean }

/**
 * The user's MCP entries wired through omni-auth, with the profile each runs with: its `--profile`, or
 * for an entry wired without one (followsDefault) the saved default profile `defaultProfile`.
 */
async function wiredEntries(defaultProfile: string): Promise<WiredEntry[]> {
  const { listClients, launcherPath } = await import('../mcp/index.js');
  const list = await listClients({ env: process.env, cwd: process.cwd(), scope: 'user', launcherPath: launcherPath(homeContext().home), defaultProfile });
  return list.clients.flatMap((c) => c.files.flatMap((f) => f.servers.filter((s) => s.wired).map((s) => ({
    client: c.name, clientId: c.id, path: f.path, server: s.name, profile: s.profile ?? defaultProfile, followsDefault: s.followsDefault === true,
  }))));
}

const names = (entries: { client: string; server: string }[]) => entries.map((e) => `${e.client} "${e.server}"`).join(', ');

/**
 * `profile use NAME [--force]`. An MCP entry wired without `--profile` (by a version before wire14, or
 * in a home that then had only the default profile) runs with whatever profile is the default when it
 * starts: changing the default would silently hand its server another tenant's tokens. So `use` refuses
 * (exit 2) while such entries exist, names them and the command that pins each to the profile it runs
 * with now (`mcp wire --profile PREVIOUS …`, which edits the client's file with the usual locks,
 * backups and no symlinks); `--force` changes the default anyway and says which entries moved. `use`
 * itself never edits a client's file. (Checked before the settings lock is taken: an entry wired in
 * between is pinned already, since wire pins "default" once the home has a named profile.)
 */
export async function runProfileUse(name: string, flags: { force?: boolean } = {}): Promise<number> {
  const files = homeContext();
  const chosen = profileName(name, 'profile');
  const before = await readSavedSettings(files.settings);
  if (!profileNames(before).includes(chosen)) throw unknownProfile(chosen, before, files.settings);
  const current = savedDefault(before);
  const following = current === chosen ? [] : (await wiredEntries(current)).filter((e) => e.followsDefault);
  const n = following.length;
  const them = n === 1 ? 'it' : 'them';
  if (n > 0 && !flags.force) {
    const commands = following.map((e) => `omni-auth mcp wire --profile ${current} --client ${e.clientId} --server ${shellWord(e.server)}`);
    throw new UsageError('profile_entries_follow_default', `${n} MCP ${n === 1 ? 'entry is' : 'entries are'} wired without --profile and run${n === 1 ? 's' : ''} with the default profile "${current}": `
      + `${names(following)}; making "${chosen}" the default would move ${them} to "${chosen}"`, {
      hint: `keep ${them} on "${current}" first: ${commands.join('; ')} — then run omni-auth profile use ${chosen} again; or pass --force to move ${them} to "${chosen}"`,
    });
  }
  const { previous } = await useProfile(files, chosen);
  info(previous === chosen ? `the default profile is already "${chosen}"` : `default profile: "${chosen}" (was "${previous}")`);
  const env = profileFromEnv(process.env);
  if (env !== undefined && env !== chosen) warn(`OMNI_AUTH_PROFILE=${env} is set in this environment: commands run here still use "${env}" (unset it to use "${chosen}")`);
  if (n > 0) warn(`${n} MCP ${n === 1 ? 'entry' : 'entries'} wired without --profile now run${n === 1 ? 's' : ''} with profile "${chosen}" (--force): ${names(following)}`);
  return 0;
}

/** A server name as one shell word in a printed command. */
const shellWord = (w: string): string => (/^[A-Za-z0-9_.,:@%+=/-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/** `profile remove NAME [--force]`. */
export async function runProfileRemove(value: string, flags: { force?: boolean }): Promise<number> {
  const files = homeContext();
  const name = profileName(value, 'profile');
  const saved = await readSavedSettings(files.settings);
  if (!profileNames(saved).includes(name)) throw unknownProfile(name, saved, files.settings);
  const selected = selectProfile({}, process.env, saved);
  if (!flags.force && selected.name === name) throw defaultInUse(name, selected.label);
  if (!flags.force && savedDefault(saved) === name) throw defaultInUse(name, 'the settings\' default_profile');
  const wired = (await wiredEntries(savedDefault(saved))).filter((e) => e.profile === name);
  if (wired.length > 0) {
    throw new UsageError('profile_wired', `profile "${name}" has ${wired.length} MCP ${wired.length === 1 ? 'entry' : 'entries'} wired for it (${names(wired)}): removing it would leave ${wired.length === 1 ? 'it' : 'them'} pointing at no settings`, {
      hint: `omni-auth logout --profile ${name} restores ${wired.length === 1 ? 'it' : 'them'} and removes the profile's tokens (or omni-auth mcp unwire --all --profile ${name}); then remove the profile`,
    });
  }
  const settings = profileSettings(saved, name).settings;
  const { wasDefault } = await removeProfileSettings(files, name, Boolean(flags.force));
  info(`removed profile "${name}" from ${files.settings}`);
  if (wasDefault) info(`it was the default profile: commands without --profile now use ${name === DEFAULT_PROFILE ? 'no saved settings' : '"default"'} (omni-auth profile use NAME to choose another)`);
  if (!settings) return 0;
  // Its cached tokens: those no other profile resolves to go (refresh tokens revoked, as logout does).
  const sharing = sharedWith(saved, name, settings);
  const ofIt = (k: CacheKey | undefined) => k !== undefined && sameTenant(k, settings);
  if (sharing.length > 0) {
    const { entries } = await readCache(files.tokens);
    const { parseCacheKey } = await import('../cache/key.js');
    const n = Object.keys(entries).filter((k) => ofIt(parseCacheKey(k))).length;
    if (n > 0) info(`kept its ${n} cached token${n === 1 ? '' : 's'}: profile${sharing.length === 1 ? '' : 's'} ${sharing.map((s) => `"${s}"`).join(', ')} use${sharing.length === 1 ? 's' : ''} the same tenant, application and API`);
    return 0;
  }
  const { logout } = await import('../broker/logout.js');
  const secret = process.env.OMNI_AUTH_CLIENT_SECRET;
  const r = await logout(files, {
    forgetKey: false,
    env: process.env,
    ...(secret ? { clientSecret: { secret: new Secret(secret), domain: settings.domain, clientId: settings.clientId } } : {}),
    only: ofIt,
  });
  for (const f of r.revokeFailures) warn(`could not revoke the refresh token at ${f.domain}: ${f.error}`);
  info(`removed its ${r.removed} cached token${r.removed === 1 ? '' : 's'}, revoked ${r.revoked} refresh token${r.revoked === 1 ? '' : 's'}`);
  return 0;
}
