/**
 * The options `setup` and `doctor` share: Management API credentials (flags or AUTH0_MGMT_*
 * environment variables) and the names of the tenant objects. Kept light: main.ts imports it
 * statically to declare the options.
 *
 * A secret given as a flag is visible to every user of the machine in `ps` and stays in the shell's
 * history: it works, with a warning naming the variable to use instead (never the value). `@file`
 * reads the secret from a file and `-` from standard input, so it never appears on a command line.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import type { ManagementCredentials } from '../tenant/management-client.js';
import { addSettingsOptions } from './context.js';
import { warn as printWarning } from './output.js';

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
    .option('--mgmt-client-secret <secret>', 'its client secret (env AUTH0_MGMT_CLIENT_SECRET; prefer the variable: flags show in `ps`), or @file, or - for stdin')
    .option('--mgmt-token <token>', 'a Management API token instead of the two above (env AUTH0_MGMT_TOKEN; prefer the variable), or @file, or - for stdin')
    .option('--connection <name>', 'database connection for omni-auth users', DEFAULT_CONNECTION);
}

/** Every option of `omni-auth setup`. */
export function setupOptions(cmd: Command): Command {
  return addManagementOptions(addSettingsOptions(cmd))
    .option('--profile-name <name>', 'name of the Token Exchange Profile', DEFAULT_PROFILE_NAME)
    .option('--identity <policy>', 'who tokens are for: person (only keys bound to a person by `login --browser`), machine (every key is its own user) or both '
      + '(default: keep the deployed Action\'s policy; person on a new Action; machine on one deployed before the policy existed)')
    .option('--allowed-keys <thumbprints>', 'comma-separated key thumbprints the Action accepts; \'\' accepts any key (default: keep the tenant\'s allow-list, none on a new Action)')
    .option('--rbac', 'turn on RBAC for the API with permissions in the access token (enforce_policies, token_dialect access_token_authz)')
    .option('--permissions <names>', 'with --rbac: comma-separated permissions to define on the API (added to its scopes), e.g. tool:echo,tool:add')
    .option('--role <name>', 'with --rbac: create (or reuse) this role, holding the --permissions')
    .option('--m2m', 'also a machine-to-machine application for `token --grant client-credentials`: this home\'s client key as its Private Key JWT credential (no secret) and a client grant for the API')
    .option('--ci-trust-file <file>', 'keyless CI identity: a JSON array of trust rules {issuer, claims, user} (docs/ci-oidc.md); default: keep the tenant\'s policy')
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

/** The secret-bearing flags, and the variable each should be replaced by. */
const SECRET_FLAGS = [
  { key: 'mgmtClientSecret', flag: '--mgmt-client-secret', variable: 'AUTH0_MGMT_CLIENT_SECRET' },
  { key: 'mgmtToken', flag: '--mgmt-token', variable: 'AUTH0_MGMT_TOKEN' },
] as const;

/** The source a secret flag names: `@file`, `-` (stdin), or the value itself (on the command line). */
type FlagSource = { kind: 'file'; path: string } | { kind: 'stdin' } | { kind: 'argv' };

function flagSource(value: string): FlagSource {
  if (value === '-') return { kind: 'stdin' };
  if (value.startsWith('@') && value.length > 1) return { kind: 'file', path: value.slice(1) };
  return { kind: 'argv' };
}

/** Reads what `@file` or `-` names. Errors name the flag and the file, never any content. */
function readFlagSecret(flag: string, source: FlagSource & { kind: 'file' | 'stdin' }, readStdin: () => string): string {
  const where = source.kind === 'file' ? source.path : 'standard input';
  let text: string;
  try {
    text = source.kind === 'file' ? readFileSync(source.path, 'utf8') : readStdin();
  } catch (e) {
    throw new UsageError('mgmt_secret_unreadable', `cannot read ${flag} from ${where} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      hint: source.kind === 'file' ? `check that ${source.path} exists and is readable by this user` : `pipe the secret in, e.g. ${flag} - < file`,
    });
  }
  if (text.trim() === '') {
    throw new UsageError('mgmt_secret_empty', `${flag}: ${where} is empty`, { hint: `put the secret in ${where}` });
  }
  return text.trim();
}

export interface CredentialOptions {
  /** Where warnings go (stderr by default). */
  warn?: (message: string) => void;
  /** Reads standard input for `-` (the process's fd 0 by default). */
  readStdin?: () => string;
}

/**
 * The credentials from flags, else the environment; undefined when none are given. A token wins over
 * a client id and secret given in the same place; half a client pair is a usage error. A secret typed
 * on the command line draws a warning naming its variable; `@file` and `-` read it from a file or stdin.
 */
export function managementCredentials(flags: ManagementFlags, env: NodeJS.ProcessEnv, options: CredentialOptions = {}): ManagementCredentials | undefined {
  const warn = options.warn ?? printWarning;
  const readStdin = options.readStdin ?? (() => readFileSync(0, 'utf8'));
  const resolved: ManagementFlags = { ...flags };
  const fromStdin = SECRET_FLAGS.filter(({ key }) => flags[key] === '-');
  if (fromStdin.length > 1) {
    throw new UsageError('mgmt_stdin_twice', `${fromStdin.map((f) => f.flag).join(' and ')} cannot both read standard input`, {
      hint: 'give one of them as @file, or use AUTH0_MGMT_CLIENT_SECRET / AUTH0_MGMT_TOKEN',
    });
  }
  for (const { key, flag, variable } of SECRET_FLAGS) {
    const value = flags[key];
    if (value === undefined || value.trim() === '') continue;
    const source = flagSource(value.trim());
    if (source.kind === 'argv') {
      warn(`${flag} on the command line is visible to other users in \`ps\` and stays in your shell history; set ${variable} instead (or pass ${flag} @file)`);
    } else {
      resolved[key] = readFlagSecret(flag, source, readStdin);
    }
  }
  const fromFlags = pickCredentials(resolved.mgmtToken, resolved.mgmtClientId, resolved.mgmtClientSecret, '--mgmt-');
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
