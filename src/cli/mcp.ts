/**
 * `omni-auth mcp list|wire|unwire|add`, and the MCP steps of `login` and `logout`: flags in, one call
 * into src/mcp, the report out on stderr (mcp-report.ts). Only `mcp list` writes to stdout.
 */
import { getToken } from '../broker/get-token.js';
import { pinsDefault, savedDefault } from '../config/profiles.js';
import { readSavedSettings, selectProfile, type SettingsFlags } from '../config/settings.js';
import {
  addServer, CLIENTS, installLauncher, issuedBy, launcherPath, listClients, displayUrl, newRun, PROJECT_ENV, recipients, renderList, unwireClients, urlVerdict, wireClients,
  type McpReport, type WireClientsOptions,
} from '../mcp/index.js';
import { UsageError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { homeContext, tenantContext, type TenantContext } from './context.js';
import { DEFAULT_SERVER_NAME, DEFAULT_TOKEN_VAR, type McpMode, type TargetFlags, type WireFlags } from './mcp-options.js';
import { printMcpReport } from './mcp-report.js';
import { dim, info, warn } from './output.js';

/** A token stored in a config should outlive the command by more than the usual margin. */
const STORED_TOKEN_MIN_TTL = 3600;

export type UnwireFlags = TargetFlags & { server?: string; all?: boolean; envVar: string; dryRun?: boolean };
export type AddFlags = TargetFlags & { url?: string; mode: McpMode; envVar: string; dryRun?: boolean; yes?: boolean };

/** Unknown `--client` ids are a usage error before anything else happens (login: before the exchange). */
export function checkClientIds(ids: readonly string[] | undefined): void {
  const unknown = (ids ?? []).filter((id) => !CLIENTS.some((c) => c.id === id));
  if (unknown.length === 0) return;
  throw new UsageError('unknown_client', `unknown MCP client ${unknown.map((u) => `"${u}"`).join(', ')}`, {
    hint: `supported clients: ${CLIENTS.map((c) => c.id).join(', ')}`,
  });
}

export function nothingToWire(server: string): string {
  return `no MCP client config has a server named "${server}" (see \`omni-auth mcp list\`; add one with \`omni-auth mcp add ${server} -- <command>\`)`;
}

/**
 * Where the commands look: this process's environment and directory, the chosen clients, and the
 * user's own files — the current directory's project files only with --project (issue 9 §2).
 */
export function target(flags: TargetFlags): Pick<WireClientsOptions, 'env' | 'cwd' | 'clients' | 'scope'> {
  return { env: process.env, cwd: process.cwd(), ...(flags.client ? { clients: flags.client } : {}), scope: flags.project ? 'all' : 'user' };
}

/** `--project --mode env`: refused before anything happens (no exchange, no file read). */
export function checkProjectMode(flags: TargetFlags & { mode: McpMode }): void {
  if (flags.project && flags.mode === 'env') {
    throw new UsageError('project_token_refused', `--project with --mode env: ${PROJECT_ENV}`, {
      hint: 'drop --mode env (exec wiring fetches a fresh token at each server start), or wire your own files with --mode env without --project',
    });
  }
}

/**
 * Says, before anything is written, which servers will get tokens: the host of each remote one, the
 * command of each stdio one (issue 9 §2: "login states which servers will receive tokens").
 */
export async function announceRecipients(o: Parameters<typeof recipients>[0], dryRun: boolean | undefined): Promise<void> {
  const list = await recipients(o);
  if (list.length === 0) return;
  info(`${dryRun ? 'would hand' : 'will hand'} tokens to:`);
  const said = new Set<string>();
  for (const r of list) {
    const what = r.origin !== undefined ? `remote server ${r.origin}` : `local command ${r.command ?? '?'}`;
    const line = `    ${what}  ${dim(`(${r.clientName} "${r.server}", ${r.scope === 'project' ? 'project file ' : ''}${r.path})`)}`;
    // Claude Code's ~/.claude.json can hold the same server once per project: said once.
    if (!said.has(line)) info(line);
    said.add(line);
  }
}

/** The tenant settings when they resolve: needed only to fetch a token, or to recognise one as ours. */
async function optionalTenant(flags: SettingsFlags): Promise<TenantContext | undefined> {
  try {
    return await tenantContext(flags);
  } catch {
    return undefined;
  }
}

/** Fetches the token to store (mode env, remote entries), at most once, and remembers its expiry. */
function tokenFetcher(flags: SettingsFlags): { get: () => Promise<Secret>; expiresAt: () => number | undefined } {
  let expiresAt: number | undefined;
  return {
    get: async () => {
      const ctx = await tenantContext(flags);
      const { token } = await getToken({ ...ctx, minTtl: STORED_TOKEN_MIN_TTL, warn });
      expiresAt = token.expires_at;
      return new Secret(token.access_token);
    },
    expiresAt: () => expiresAt,
  };
}

/** The settings profile wired entries carry: --profile, else OMNI_AUTH_PROFILE, else the file's default_profile. */
async function profileOf(flags: SettingsFlags): Promise<string> {
  return selectProfile(flags, process.env, await readSavedSettings(homeContext().settings)).name;
}

/** What `mcp wire` and `mcp add` hand the MCP code alike: how to wire, the launcher, the token source. */
async function wiring(
  flags: SettingsFlags & { mode: McpMode; envVar: string; dryRun?: boolean },
  tenant: TenantContext | undefined,
  tokens: ReturnType<typeof tokenFetcher>,
) {
  const profile = tenant?.settings.profile ?? await profileOf(flags);
  if (!tenant && profile !== 'default') warn(`profile "${profile}" has no usable settings yet: the entries will fail until \`omni-auth login --profile ${profile}\` (or setup) saves them`);
  // wire14: with named profiles (or a default_profile) an entry of "default" is written `--profile
  // default`, so that `profile use` cannot move it to another tenant (src/mcp/wire.ts).
  const pinDefault = pinsDefault(await readSavedSettings(homeContext().settings));
  return {
    profile,
    ...(pinDefault ? { pinDefault } : {}),
    mode: flags.mode,
    envVar: flags.envVar,
    launcherPath: await launcher(homeContext().home, flags.dryRun),
    getToken: tokens.get,
    ...(tenant ? { isOurToken: issuedBy(tenant.settings.issuer) } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    run: newRun(),
  };
}

/** The launcher the entries run: refreshed from this bundle, or on a dry run only named. */
async function launcher(home: string, dryRun: boolean | undefined): Promise<string> {
  return dryRun ? launcherPath(home) : (await installLauncher(home)).path;
}

export async function runMcpList(flags: TargetFlags & { json?: boolean; envVar: string }): Promise<number> {
  checkClientIds(flags.client);
  // Listing reads only: the project files are shown too, present but not wired until named.
  // A settings file that does not parse does not stop a listing (it only reads the client files).
  const defaultProfile = savedDefault(await readSavedSettings(homeContext().settings).catch(() => undefined));
  const list = await listClients({ ...target(flags), scope: 'all', envVar: flags.envVar, launcherPath: launcherPath(homeContext().home), defaultProfile });
  process.stdout.write(flags.json ? `${JSON.stringify(list)}\n` : renderList(list));
  return 0;
}

export async function runMcpWire(flags: SettingsFlags & WireFlags): Promise<number> {
  checkClientIds(flags.client);
  checkProjectMode(flags);
  // Mode env stores a token: settings that do not resolve are an error now, not once per file.
  if (flags.mode === 'env' && !flags.dryRun) await tenantContext(flags);
  const tenant = await optionalTenant(flags);
  const tokens = tokenFetcher(flags);
  const how = await wiring(flags, tenant, tokens);
  await announceRecipients({ ...target(flags), server: flags.server, mode: flags.mode, envVar: flags.envVar, launcherPath: how.launcherPath }, flags.dryRun);
  const report = await wireClients({
    ...target(flags),
    server: flags.server,
    ...how,
  });
  return printMcpReport(report, { action: 'wire', dryRun: flags.dryRun, expiresAt: tokens.expiresAt(), nothing: nothingToWire(flags.server) });
}

export async function runMcpUnwire(flags: SettingsFlags & UnwireFlags): Promise<number> {
  checkClientIds(flags.client);
  if (flags.all && flags.server !== undefined) {
    throw new UsageError('conflicting_options', '--server and --all cannot be used together', {
      hint: '--all restores every entry wired through omni-auth; --server NAME only that one',
    });
  }
  const server = flags.server ?? DEFAULT_SERVER_NAME;
  const report = await unwireFrom(flags, { ...(flags.all ? { allWired: true } : { server }) });
  return printMcpReport(report, {
    action: 'unwire',
    dryRun: flags.dryRun,
    nothing: flags.all ? 'no MCP client config has a server wired through omni-auth' : `no MCP client config has a server named "${server}"`,
  });
}

/**
 * `logout`'s step: every entry wired through omni-auth, in every client, back to its original. The
 * variable is only the default: with "all wired", our tokens under any `--env-var` are found too.
 */
export function unwireAll(profile?: string): Promise<McpReport> {
  // The user's files only: a project's files are touched only when named (mcp unwire --project --all).
  // `logout --profile NAME` (issue 14 §3): only the entries wired for that profile (its `--profile`, or
  // none while it is the saved default, wire14); a stored token is recognised as ours by that profile's tenant.
  if (profile !== undefined) return unwireFrom({ envVar: DEFAULT_TOKEN_VAR, profile }, { allWired: true, profile });
  return unwireFrom({ envVar: DEFAULT_TOKEN_VAR }, { allWired: true });
}

async function unwireFrom(flags: SettingsFlags & UnwireFlags, which: { server?: string; allWired?: boolean; profile?: string }): Promise<McpReport> {
  const tenant = await optionalTenant(flags);
  return unwireClients({
    ...target(flags),
    ...which,
    envVar: flags.envVar,
    launcherPath: launcherPath(homeContext().home),
    // Entries wired without --profile run with the saved default_profile (wire14).
    defaultProfile: savedDefault(await readSavedSettings(homeContext().settings)),
    // `mcp unwire --all --profile NAME`: only that profile's entries.
    ...(which.allWired && which.profile !== undefined ? { profile: which.profile }
      : which.allWired && flags.profile !== undefined ? { profile: await profileOf(flags) } : {}),
    ...(tenant ? { isOurToken: issuedBy(tenant.settings.issuer) } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    run: newRun(),
  });
}

export async function runMcpAdd(name: string, command: string[], flags: SettingsFlags & AddFlags): Promise<number> {
  checkClientIds(flags.client);
  if (name.trim() === '') throw new UsageError('invalid_server_name', 'the server name is empty');
  const [file, ...args] = command;
  if ((flags.url === undefined) === (file === undefined)) {
    throw new UsageError('invalid_server_spec', 'mcp add needs either --url URL or a command after --, not both', {
      hint: `omni-auth mcp add ${name} --url https://mcp.example.com/mcp   or   omni-auth mcp add ${name} -- npx -y some-mcp-server`,
    });
  }
  if (flags.url !== undefined && !/^https?:$/.test(safeUrl(flags.url)?.protocol ?? '')) {
    throw new UsageError('invalid_url', `--url ${displayUrl(flags.url)} is not an http:// or https:// URL`);
  }
  if (flags.url !== undefined) {
    const v = urlVerdict(flags.url);
    if (!v.ok) {
      throw new UsageError('insecure_url', `--url ${displayUrl(flags.url)}: ${v.reason}`, { hint: `use the server's https:// URL (http:// is accepted for localhost only)` });
    }
  }
  checkProjectMode(flags);
  if (flags.project && flags.url !== undefined) {
    throw new UsageError('project_token_refused', 'mcp add --project --url: a remote entry in a project file would send the token of everyone who clones '
      + 'the repository to that server from a file they did not write; in project files omni-auth adds only stdio servers (wired through omni-auth exec)', {
      hint: `add it to your own config instead: omni-auth mcp add ${name} --url ${displayUrl(flags.url)}`,
    });
  }
  if (flags.url !== undefined) {
    // Issue 11 §2: no domain or audience yet — discovered from the server, saved once confirmed.
    const { settingsFromServer } = await import('./mcp-discover.js');
    await settingsFromServer(flags.url, flags);
  }
  const tenant = await optionalTenant(flags);
  const tokens = tokenFetcher(flags);
  if (flags.url !== undefined) info(`${flags.dryRun ? 'would hand' : 'will hand'} tokens to: remote server ${new URL(flags.url).origin}`);
  const report = await addServer({
    ...target(flags),
    // --project: the project files instead of the user's.
    scope: flags.project ? 'project' : 'user',
    name,
    ...(flags.url !== undefined ? { url: flags.url } : { command: file as string, args }),
    ...(await wiring(flags, tenant, tokens)),
  });
  return printMcpReport(report, {
    action: 'add',
    dryRun: flags.dryRun,
    expiresAt: tokens.expiresAt(),
    nothing: 'no MCP client config found to add the server to; name the clients with --client (see `omni-auth mcp list`)',
  });
}

function safeUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}
