/** What every command that talks to a tenant resolves first: settings, home files, client secret. */
import type { Command } from 'commander';
import { homeFiles, omniAuthHome, type HomeFiles } from '../config/home.js';
import { setCaFileFlag } from '../config/network.js';
import { readSavedSettings, resolveSettings, type Settings, type SettingsFlags } from '../config/settings.js';
import { UsageError } from '../util/errors.js';
import { Secret } from '../util/secret.js';

export interface TenantContext {
  settings: Settings;
  files: HomeFiles;
  clientSecret?: Secret;
  env: NodeJS.ProcessEnv;
  /** `client-credentials` (--grant): machine-to-machine tokens for the application (src/broker/m2m.ts). */
  grant?: 'exchange' | 'client-credentials';
}

export const GRANT_NAMES = ['exchange', 'client-credentials'] as const;

/** --grant's parser. */
export function parseGrant(value: string): (typeof GRANT_NAMES)[number] {
  if ((GRANT_NAMES as readonly string[]).includes(value)) return value as (typeof GRANT_NAMES)[number];
  throw new UsageError('invalid_grant', `--grant must be exchange or client-credentials; got "${value}"`, {
    hint: 'client-credentials gets a machine-to-machine token for a confidential application (`omni-auth setup --m2m`)',
  });
}

export const GRANT_OPTION_HELP = 'exchange (default: this machine key, via Custom Token Exchange) | client-credentials (a machine-to-machine token for the application: Private Key JWT with the client key, or OMNI_AUTH_CLIENT_SECRET)';

export function addSettingsOptions(cmd: Command): Command {
  return cmd
    .option('--profile <name>', PROFILE_HELP)
    .option('--domain <domain>', 'Auth0 domain (tenant.region.auth0.com or a full URL; env OMNI_AUTH_DOMAIN)')
    .option('--client-id <id>', 'Auth0 application (client) id (env OMNI_AUTH_CLIENT_ID)')
    .option('--audience <url>', 'API identifier the token is for (env OMNI_AUTH_AUDIENCE)')
    .option('--scope <scopes>', 'space-separated scopes (env OMNI_AUTH_SCOPE; default "openid profile email offline_access")')
    .option('--subject-token-type <uri>', 'subject token type of the Token Exchange Profile (default urn:omnispindle:local-auth)')
    // Issue 11 §4: extra CAs for every request (src/config/network.ts); kept out of the settings.
    .option('--ca-file <path>', 'PEM file of extra CA certificates, added to the system roots (env OMNI_AUTH_CA_FILE)')
    .hook('preAction', (_cmd, action) => setCaFileFlag((action.opts() as { caFile?: string }).caFile));
}

export const PROFILE_HELP = 'named settings to use and save (env OMNI_AUTH_PROFILE; default: the settings file\'s default_profile, else "default")';

export function homeContext(env: NodeJS.ProcessEnv = process.env): HomeFiles {
  return homeFiles(omniAuthHome(env));
}

export async function tenantContext(flags: SettingsFlags & { grant?: TenantContext['grant'] }, env: NodeJS.ProcessEnv = process.env): Promise<TenantContext> {
  const files = homeContext(env);
  const saved = await readSavedSettings(files.settings);
  const m2m = flags.grant === 'client-credentials';
  const { grant: _grant, ...settingsFlags } = flags;
  const resolved = m2m ? await (await import('../broker/m2m.js')).m2mFlags(settingsFlags, env, files) : settingsFlags;
  const settings = resolveSettings(resolved, env, saved);
  const secret = env.OMNI_AUTH_CLIENT_SECRET;
  return { settings, files, env, ...(secret ? { clientSecret: new Secret(secret) } : {}), ...(m2m ? { grant: 'client-credentials' as const } : {}) };
}
