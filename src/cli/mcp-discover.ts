/**
 * `mcp add NAME --url URL` without tenant settings (issue 11 §2): discover the domain and audience
 * from the server (src/mcp/discover.ts), say what was found on stderr, and save them as settings
 * after `--yes` or a yes at a terminal. The client id is never discovered: it must be given.
 */
import { createInterface } from 'node:readline/promises';
import { normalizeDomain } from '../config/domain.js';
import { pickSetting, readSavedSettings, resolveSettings, type SettingsFlags } from '../config/settings.js';
import { saveSettings } from '../config/settings-write.js';
import { ExitCode, isOmniAuthError, UsageError } from '../util/errors.js';
import { homeContext } from './context.js';
import { dim, info, warn } from './output.js';

export interface DiscoverFlags extends SettingsFlags {
  yes?: boolean;
  dryRun?: boolean;
}

/**
 * Fills the missing domain and audience from the server and saves them; does nothing when both
 * already resolve (flags, environment or saved settings).
 */
export async function settingsFromServer(url: string, flags: DiscoverFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const files = homeContext(env);
  const saved = await readSavedSettings(files.settings);
  const domain = pickSetting('domain', flags, env, saved);
  const audience = pickSetting('audience', flags, env, saved);
  if (domain && audience) return;

  info(`no ${[domain ? '' : 'domain', audience ? '' : 'audience'].filter(Boolean).join(' or ')} set: discovering them from ${new URL(url).origin}`);
  // Through the MCP subtree's index: compiled on first use (scripts/build.mjs).
  const { discoverServer } = await import('../mcp/index.js');
  let d;
  try {
    d = await discoverServer(url);
  } catch (e) {
    // The server cannot be reached now: the entry is still added (the proxy needs no settings to be
    // wired), and the user is told how to give the settings. Refusals (a mismatching issuer, plain
    // http, a server that asks for no token) stay errors.
    if (!isOmniAuthError(e) || e.exitCode !== ExitCode.unreachable) throw e;
    warn(`could not discover the settings: ${e.message}`);
    warn(`the entry is added without them: run this again when the server is up, or pass --domain, --client-id and --audience to \`omni-auth login\``);
    return;
  }
  info('discovered (MCP authorization, RFC 9728):');
  info(`    resource metadata  ${d.resourceMetadataUrl} ${dim(d.foundVia === 'www-authenticate' ? '(from the 401\'s WWW-Authenticate)' : '(well-known URL)')}`);
  info(`    issuer             ${d.issuer} ${dim('(confirmed by its discovery document)')}`);
  info(`    domain             ${domain ? `${domain.value} ${dim(`(kept: ${domain.label})`)}` : d.domain}`);
  info(`    audience           ${audience ? `${audience.value} ${dim(`(kept: ${audience.label})`)}` : d.audience}`);
  if (d.scopes) info(`    scopes supported   ${d.scopes.join(' ')}`);
  if (domain && originOf(domain.value) !== d.domain) {
    warn(`the domain setting (${domain.value}) is not the server's authorization server (${d.domain}): its tokens may be refused`);
  }

  const clientId = pickSetting('clientId', flags, env, saved);
  if (flags.dryRun) {
    info(`dry run: the domain and audience would be saved to ${files.settings}${clientId ? '' : ' (with --client-id or OMNI_AUTH_CLIENT_ID: it cannot be discovered)'}`);
    return;
  }
  if (!clientId) {
    throw new UsageError('client_id_missing', 'the client id cannot be discovered from the server: it is the id of the Auth0 application omni-auth signs in with', {
      hint: `pass it with --client-id <id> (or set OMNI_AUTH_CLIENT_ID): ask the tenant's administrator, or run \`omni-auth setup\` on ${d.domain}`,
    });
  }
  const settings = resolveSettings({ ...flags, ...(domain ? {} : { domain: d.domain }), ...(audience ? {} : { audience: d.audience }) }, env, saved);
  if (!flags.yes && !(await confirm(`save them as the settings in ${files.settings}? [y/N] `))) {
    throw new UsageError('confirmation_required', 'the discovered settings were not saved', {
      hint: process.stdin.isTTY ? 'answer y to save them' : 'check what was discovered above, then run again with --yes to save them',
    });
  }
  await saveSettings(files, settings);
  info(`settings saved to ${files.settings}`);
}

/** A yes at a terminal; without one (CI, a pipe), no. */
async function confirm(question: string): Promise<boolean> {
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function originOf(domain: string): string | undefined {
  try {
    return normalizeDomain(domain);
  } catch {
    return undefined;
  }
}
