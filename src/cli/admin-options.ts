/**
 * The options `setup` and `doctor` share: Management API credentials (flags or AUTH0_MGMT_*
 * environment variables) and the names of the tenant objects. Kept light: main.ts imports it
 * statically to declare the options.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import type { ManagementCredentials } from '../tenant/management-client.js';
import { addSettingsOptions } from './context.js';

export const DEFAULT_CONNECTION = 'omni-auth-machines'; // the machines' connection setup creates (MACHINES_CONNECTION in src/tenant/connection.ts)
export const DEFAULT_PROFILE_NAME = 'omnispindle-local-auth';

export interface ManagementFlags {
  mgmtClientId?: string;
  mgmtClientSecret?: string;
  mgmtToken?: string;
}

export function addManagementOptions(cmd: Command): Command {
  return cmd
    .option('--mgmt-client-id <id>', 'machine-to-machine application for the Management API (env AUTH0_MGMT_CLIENT_ID)')
    .option('--mgmt-client-secret <secret>', 'its client secret (env AUTH0_MGMT_CLIENT_SECRET; prefer the variable: flags show in `ps`)')
    .option('--mgmt-token <token>', 'a Management API token instead of the two above (env AUTH0_MGMT_TOKEN)')
    .option('--connection <name>', 'database connection for omni-auth users', DEFAULT_CONNECTION);
}

/** Every option of `omni-auth setup`. */
export function setupOptions(cmd: Command): Command {
  return addManagementOptions(addSettingsOptions(cmd))
    .option('--profile-name <name>', 'name of the Token Exchange Profile', DEFAULT_PROFILE_NAME)
    .option('--allowed-keys <thumbprints>', 'comma-separated key thumbprints the Action accepts; \'\' accepts any key (default: keep the tenant\'s allow-list, none on a new Action)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--json', 'print the plan and the result as JSON on stdout')
    // Hidden: deploys a modified copy of the Action (tests); also OMNI_AUTH_ACTION_DIR.
    .addOption(new Option('--action-dir <dir>', 'directory with custom_token_exchange.js and package.json').hideHelp());
}

/** Every option of `omni-auth doctor`. */
export function doctorOptions(cmd: Command): Command {
  return addManagementOptions(addSettingsOptions(cmd)).option('--json', 'print the checks as JSON on stdout');
}

const given = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);

/**
 * The credentials from flags, else the environment; undefined when none are given. A token wins over
 * a client id and secret given in the same place; half a client pair is a usage error.
 */
export function managementCredentials(flags: ManagementFlags, env: NodeJS.ProcessEnv): ManagementCredentials | undefined {
  const fromFlags = pickCredentials(flags.mgmtToken, flags.mgmtClientId, flags.mgmtClientSecret, '--mgmt-');
  return fromFlags ?? pickCredentials(env.AUTH0_MGMT_TOKEN, env.AUTH0_MGMT_CLIENT_ID, env.AUTH0_MGMT_CLIENT_SECRET, 'AUTH0_MGMT_');
}

function pickCredentials(token: string | undefined, clientId: string | undefined, secret: string | undefined, prefix: string): ManagementCredentials | undefined {
  const t = given(token);
  if (t) return { kind: 'token', token: new Secret(t) };
  const id = given(clientId);
  const s = given(secret);
  if (id && s) return { kind: 'client', clientId: id, clientSecret: new Secret(s) };
  const name = (n: string): string => (prefix === '--mgmt-' ? `--mgmt-${n}` : `AUTH0_MGMT_${n.toUpperCase().replace(/-/g, '_')}`);
  if (id) throw new UsageError('mgmt_secret_missing', `${name('client-id')} is given without ${name('client-secret')}`, { hint: `give both, or ${name('token')}` });
  if (s) throw new UsageError('mgmt_client_id_missing', `${name('client-secret')} is given without ${name('client-id')}`, { hint: `give both, or ${name('token')}` });
  return undefined;
}
