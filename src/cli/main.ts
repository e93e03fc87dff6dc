/**
 * The CLI entry point: parses flags and hands each command to its module, loaded on demand so that
 * the warm `token` path never loads the HTTP client, the JWT library or the MCP code.
 * stdout is an API (data only); everything for people goes to stderr.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, isOmniAuthError } from '../util/errors.js';
import type { SettingsFlags } from '../config/settings.js';
import { GRANT_OPTION_HELP, PROFILE_HELP, addSettingsOptions, parseGrant } from './context.js';
import { doctorOptions, setupOptions } from './admin-options.js';
import type { DoctorFlags } from './doctor.js';
import type { ExecFlags } from './exec.js';
import type { LoginFlags } from './login.js';
import type { AddFlags, UnwireFlags } from './mcp.js';
import { addClientOption, addWireOptions, addWiringOptions, parseEnvVar, DEFAULT_TOKEN_VAR, type TargetFlags, type WireFlags } from './mcp-options.js';
import type { SetupFlags } from './setup.js';
import { leanHeapRerun } from './lean-heap.js';
import { printError } from './output.js';
import { DEFAULT_CALLBACK_PORT, DEFAULT_SIGNIN_TIMEOUT, parseCallbackPort, parseTimeout } from './signin.js';
import { parseFormat, parseMinTtl, type TokenFormat } from './token.js';
import { RENEW_ONLY_SYMBOL } from '../warm/files.js';
import { parseCiMode, type CiMode } from '../broker/ci-token.js';

declare const __OMNI_AUTH_VERSION__: string | undefined;
const VERSION = typeof __OMNI_AUTH_VERSION__ === 'string' ? __OMNI_AUTH_VERSION__ : '0.0.0-dev';

export function buildProgram(): Command {
  const program = new Command('omni-auth')
    .description('Auth0 access tokens for MCP servers, from a machine-bound key (Custom Token Exchange)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .enablePositionalOptions()
    // Issue 14 §3: `omni-auth --profile NAME <command>` is `<command> --profile NAME` (the command's own wins).
    .option('--profile <name>', PROFILE_HELP)
    .hook('preAction', (self, action) => {
      const global = (self.opts() as { profile?: string }).profile;
      if (global !== undefined && (action.opts() as { profile?: string }).profile === undefined) action.setOptionValue('profile', global);
    });

  program
    .command('emulator')
    .description('run a local Auth0 tenant emulator on loopback (prints one JSON line, runs until SIGINT/SIGTERM)')
    .option('--port <n>', 'port to listen on (default: a free port)', parsePort)
    .option('--provisioned', 'deploy the Action, create the profile, enable token exchange, consent skipping and browser sign-in')
    .option('--identity <policy>', 'with --provisioned: the Action\'s IDENTITY secret, person|machine|both (default both)')
    .option('--user <email:password>', 'create a person in Username-Password-Authentication who can sign in on /authorize (repeatable; throw-away passwords only)', (v: string, prev: unknown) => [...((prev as string[] | undefined) ?? []), v])
    .option('--plan <plan>', 'the token-exchange rate limit of an Auth0 plan: essentials|professional (burst 4, 4/s) or enterprise (15, 15/s)')
    .option('--rate-limit-rate <n>', 'token exchanges regained per second, tenant-wide (default 10; overrides --plan)')
    .option('--rate-limit-burst <n>', 'token exchanges allowed at once, tenant-wide (default: the rate; overrides --plan)')
    .action(async (opts: { port?: number; provisioned?: boolean; identity?: string; user?: string[]; plan?: string; rateLimitRate?: string; rateLimitBurst?: string }) => {
      const { runEmulator, parseEmulatorUser, parseIdentity, parseRateLimits } = await import('./emulator.js');
      await runEmulator({
        settings: parseRateLimits(opts),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.provisioned !== undefined ? { provisioned: opts.provisioned } : {}),
        ...(opts.identity !== undefined ? { identity: parseIdentity(opts.identity) } : {}),
        ...(opts.user !== undefined ? { user: opts.user.reduce<{ email: string; password: string }[]>((all, v) => parseEmulatorUser(v, all), []) } : {}),
      });
    });

  addWireOptions(addSettingsOptions(
    program
      .command('login')
      .description('get a token for this machine (exchange), cache it, save the settings, and route MCP clients through omni-auth')
      .option('--no-write', 'do not write MCP client configs')
      .option('--browser', 'sign in in the browser (authorization code + PKCE): get your own tokens and bind this machine key to you')
      .option('--no-browser', 'sign in without opening a browser: print the URL, then paste back the address the browser ended on (or the code)')
      .option('--device', 'sign in with the device flow (enter a code on any device): your own tokens only — it cannot bind this machine key')
      .option('--callback-port <n>', 'the loopback port of the sign-in callback, http://127.0.0.1:<n>/callback', parseCallbackPort, DEFAULT_CALLBACK_PORT)
      .option('--timeout <seconds>', 'how long to wait for the browser (or device) sign-in', parseTimeout, DEFAULT_SIGNIN_TIMEOUT)
      .option('--dry-run', 'request no token and write nothing: print on stderr a diff of what would change in each MCP client config'),
  )).action(async (opts: LoginFlags) => {
    const { runLogin } = await import('./login.js');
    process.exitCode = await runLogin(opts);
  });

  addSettingsOptions(
    program
      .command('token')
      .description('print an access token on stdout (from the cache while it has more than --min-ttl seconds left)')
      .option('--min-ttl <seconds>', 'minimum remaining lifetime of a cached token', parseMinTtl, 300)
      .option('--format <format>', 'raw | json | header | env | headers-json', parseFormat, 'raw')
      .option('--grant <grant>', GRANT_OPTION_HELP, parseGrant)
      .option('--ci <mode>', 'keyless CI identity: auto | github | gitlab (the job\'s OIDC token instead of a machine key)', parseCiMode)
      .option('--ci-token-env <name>', 'with --ci gitlab: the variable holding the GitLab ID token (default OMNI_AUTH_ID_TOKEN)'),
  ).action(async (opts: SettingsFlags & { minTtl: number; format: TokenFormat; grant?: 'exchange' | 'client-credentials'; ci?: CiMode; ciTokenEnv?: string }) => {
    const { runToken } = await import('./token.js');
    await runToken(opts);
  });

  addSettingsOptions(
    program
      .command('exec')
      .description('run a command with a fresh token in an environment variable (no token stored anywhere)')
      .option('--env-var <name>', 'the variable that receives the token', 'AUTH0_TOKEN')
      .option('--token-file-var <name>', 'the variable naming the token file kept fresh while the command runs (default AUTH0_TOKEN_FILE)')
      .option('--min-ttl <seconds>', 'minimum remaining lifetime of a cached token', parseMinTtl, 300)
      .option('--no-browser', 'never open the browser sign-in when the tenant wants a person (also OMNI_AUTH_NO_BROWSER=1)')
      .option('--callback-port <n>', 'the loopback port of the browser sign-in callback', parseCallbackPort, DEFAULT_CALLBACK_PORT)
      .option('--signin-timeout <seconds>', 'how long to wait for the browser sign-in before failing', parseTimeout, DEFAULT_SIGNIN_TIMEOUT)
      .option('--grant <grant>', GRANT_OPTION_HELP, parseGrant)
      .option('--ci <mode>', 'keyless CI identity: auto | github | gitlab (the job\'s OIDC token instead of a machine key)', parseCiMode)
      .option('--ci-token-env <name>', 'with --ci gitlab: the variable holding the GitLab ID token (default OMNI_AUTH_ID_TOKEN)')
      .argument('<command...>', 'the command and its arguments, after --')
      .passThroughOptions(),
  ).action(async (command: string[], opts: ExecFlags) => {
    const { runExec } = await import('./exec.js');
    process.exitCode = await runExec(command, opts);
  });

  addSettingsOptions(
    program
      .command('status')
      .description('show identity, tenant and cached token expiry (never the token)')
      .option('--json', 'print a JSON document on stdout')
      .option('--min-ttl <seconds>', 'the freshness threshold to report against', parseMinTtl, 300),
  ).action(async (opts: SettingsFlags & { json?: boolean; minTtl: number }) => {
    const { runStatus } = await import('./status.js');
    process.exitCode = await runStatus(opts);
  });

  // `omni-auth verify` (issue 12 §2): src/cli/verify.ts, loaded only when it runs.
  const verifyCommand = program.command('verify');
  verifyCommand
    .description('check an access token as a server would (tenant keys, issuer, audience, expiry, scopes, permissions) and say why it would be refused; never prints the token')
    .argument('[token]', 'the token, or - to read it from stdin (default: the cached token)')
    .option('--domain <domain>', 'Auth0 domain (env OMNI_AUTH_DOMAIN; default: the saved settings)')
    .option('--audience <id>', 'the API identifier the server expects (env OMNI_AUTH_AUDIENCE; default: the saved settings)')
    .option('--profile <name>', PROFILE_HELP)
    .option('--client-id <id>', 'with the cached token: the application it was obtained for')
    .option('--scope <scopes>', 'with the cached token: the scopes it was requested with')
    .option('--require-scope <scope>', 'a scope the server requires, in scope or permissions (repeatable)', (v: string, p?: string[]) => [...(p ?? []), ...v.split(/[\s,]+/).filter(Boolean)])
    .option('--require-permission <permission>', 'a permission the server requires in the permissions claim, e.g. tool:echo (repeatable)', (v: string, p?: string[]) => [...(p ?? []), ...v.split(/[\s,]+/).filter(Boolean)])
    .option('--clock-tolerance <seconds>', 'leeway on exp and nbf (default 0)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) verifyCommand.error(`error: --clock-tolerance must be a whole number of seconds, got "${v}"`, { exitCode: ExitCode.usage, code: 'omni-auth.invalidClockTolerance' });
      return n;
    })
    .option('--json', 'print the report as JSON on stdout')
    .action(async (token: string | undefined, opts: import('./verify.js').VerifyFlags) => {
      const { runVerify } = await import('./verify.js');
      process.exitCode = await runVerify(token, opts);
    });

  program
    .command('logout')
    .description('delete the selected profile\'s cached tokens (revoking refresh tokens), restore the MCP client entries omni-auth wired for it; with --forget-key also the machine key')
    .option('--profile <name>', 'the profile to log out (env OMNI_AUTH_PROFILE; default: the settings file\'s default_profile, else "default"; a home without named profiles: everything)')
    .option('--all-profiles', 'log every profile out: every cached token, every entry omni-auth wired')
    .option('--forget-key', 'also delete the machine key and its bindings to people (the next login creates a new Auth0 user; with named profiles, only with --all-profiles)')
    .option('--keep-mcp', 'leave the MCP client configs as they are')
    .action(async (opts: import('./logout.js').LogoutFlags) => {
      const { runLogout } = await import('./logout.js');
      process.exitCode = await runLogout(opts);
    });

  // `omni-auth proxy <url>` (issue 11 §1): src/cli/proxy.ts, then src/proxy (compiled on first use).
  const proxyCommand = program.command('proxy');
  addSettingsOptions(
    proxyCommand
      .description('bridge an MCP client (stdio) to a remote MCP server (Streamable HTTP, HTTP+SSE fallback), sending a fresh token with every request')
      .argument('<url>', 'the MCP server URL (https://, or http:// on loopback)')
      .option('--min-ttl <seconds>', 'renew a cached token with fewer seconds than this left', parseMinTtl, 60)
      .option('--grant <grant>', GRANT_OPTION_HELP, parseGrant)
      .option('--transport <kind>', 'auto | streamable-http | sse', (v: string) => {
        if (v === 'auto' || v === 'streamable-http' || v === 'sse') return v;
        return proxyCommand.error(`error: --transport must be auto, streamable-http or sse; got "${v}"`, { exitCode: ExitCode.usage, code: 'omni-auth.invalidTransport' });
      }, 'auto'),
  ).action(async (url: string, opts: import('./proxy.js').ProxyFlags) => {
    const { runProxy } = await import('./proxy.js');
    process.exitCode = await runProxy(url, opts);
  });

  addMcpCommands(program);
  addProfileCommands(program);

  setupOptions(program.command('setup').description('provision the Auth0 tenant for omni-auth (plan, then apply; safe to repeat)'))
    .action(async (opts: SetupFlags) => {
      const { runSetup } = await import('./setup.js');
      await runSetup(opts);
    });
  doctorOptions(program.command('doctor').description('check settings, key, clock and tenant, each with a fix'))
    .option('--server-url <url>', 'check this remote MCP server (default: those wired through omni-auth proxy): metadata, issuer, token accepted')
    .action(async (opts: DoctorFlags) => {
      const { runDoctor } = await import('./doctor.js');
      process.exitCode = await runDoctor(opts);
    });

  program
    .command('demo')
    .description('run the whole flow offline against an in-process emulator, in a throw-away home')
    .action(async () => {
      const { runDemo } = await import('./demo.js');
      await runDemo();
    });

  return program;
}

/** `omni-auth mcp …`: each command's module is loaded only when it runs. */
function addMcpCommands(program: Command): void {
  const mcp = program
    .command('mcp')
    .description('MCP client configs: list them, route servers through omni-auth (wire), restore them (unwire), add servers');

  addClientOption(mcp.command('list').description('every supported MCP client, its config files, and which servers go through omni-auth'))
    .option('--json', 'print a JSON document on stdout')
    .option('--env-var <name>', 'the variable a stored token is looked for in', parseEnvVar, DEFAULT_TOKEN_VAR)
    .action(async (opts: TargetFlags & { json?: boolean; envVar: string }) => {
      const { runMcpList } = await import('./mcp.js');
      process.exitCode = await runMcpList(opts);
    });

  addSettingsOptions(addWireOptions(mcp.command('wire').description('route a server of each MCP client through omni-auth (default: every client that has it)')))
    .option('--dry-run', 'print on stderr a diff of what would change in each file, and write nothing')
    .action(async (opts: SettingsFlags & WireFlags) => {
      const { runMcpWire } = await import('./mcp.js');
      process.exitCode = await runMcpWire(opts);
    });

  addSettingsOptions(addClientOption(mcp.command('unwire').description('give the entries omni-auth wired their original back')))
    .option('--server <name>', 'the server entry to restore (default omnispindle)')
    .option('--all', 'every entry wired through omni-auth, whatever its name')
    .option('--env-var <name>', 'the variable a token stored by --mode env is in', parseEnvVar, DEFAULT_TOKEN_VAR)
    .option('--dry-run', 'print on stderr a diff of what would change in each file, and write nothing')
    .action(async (opts: SettingsFlags & UnwireFlags) => {
      const { runMcpUnwire } = await import('./mcp.js');
      process.exitCode = await runMcpUnwire(opts);
    });

  addSettingsOptions(addWiringOptions(
    mcp
      .command('add')
      .description('add a server, routed through omni-auth, to MCP clients (default: every client whose config file exists)')
      .argument('<name>', 'the server name')
      .argument('[command...]', 'a stdio server: its command and arguments, after --')
      .option('--url <url>', 'a remote (HTTP) server instead of a command; without settings, the domain and audience are discovered from it')
      .option('--yes', 'save the settings discovered from --url without asking')
      .option('--dry-run', 'print on stderr a diff of what would change in each file, and write nothing'),
  )).action(async (name: string, command: string[], opts: SettingsFlags & AddFlags) => {
    const { runMcpAdd } = await import('./mcp.js');
    process.exitCode = await runMcpAdd(name, command, opts);
  });
}

/**
 * `omni-auth profile …` (issue 14 §3): src/cli/profile.ts, loaded only when it runs. One noun with
 * verbs, as `mcp`, kubectl's `config use-context` and gcloud's `config configurations activate`.
 */
function addProfileCommands(program: Command): void {
  const profile = program
    .command('profile')
    .description('saved settings profiles: list them, show one, choose the default (use), remove one');
  profile.command('list')
    .description('every saved profile, the default marked *, and whether a token is cached (never the token)')
    .option('--json', 'print a JSON document on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { runProfileList } = await import('./profile.js');
      process.exitCode = await runProfileList(opts);
    });
  profile.command('show')
    .description('one profile\'s settings (no secret is saved in them); default: the profile commands use now')
    .argument('[name]', 'the profile (default: OMNI_AUTH_PROFILE, else the default profile)')
    .option('--json', 'print a JSON document on stdout')
    .action(async (name: string | undefined, opts: { json?: boolean; profile?: string }) => {
      const { runProfileShow } = await import('./profile.js');
      // `omni-auth --profile NAME profile show`: the global option names it too.
      process.exitCode = await runProfileShow(name ?? opts.profile, opts);
    });
  profile.command('use')
    .description('make NAME the default profile: commands without --profile (and without OMNI_AUTH_PROFILE) use it; an unknown NAME is refused (exit 2)')
    .argument('<name>', 'a saved profile ("default": the top-level settings)')
    .option('--force', 'change the default even though MCP entries wired without --profile follow it (they move to NAME)')
    .action(async (name: string, opts: { force?: boolean }) => {
      const { runProfileUse } = await import('./profile.js');
      process.exitCode = await runProfileUse(name, opts);
    });
  profile.command('remove')
    .description('remove a profile\'s settings and the cached tokens no other profile shares (refresh tokens revoked); '
      + 'refused (exit 2) while MCP entries are wired for it (omni-auth logout --profile NAME restores them) or while it is the default')
    .argument('<name>', 'the profile to remove')
    .option('--force', 'remove it even if it is the default profile (commands without --profile then fall back to "default")')
    .action(async (name: string, opts: { force?: boolean }) => {
      const { runProfileRemove } = await import('./profile.js');
      process.exitCode = await runProfileRemove(name, opts);
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CommanderError(ExitCode.usage, 'omni-auth.invalidPort', `--port must be an integer 0..65535, got "${value}"`);
  }
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with exitCode 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : ExitCode.usage;
    }
    printError(e);
    return isOmniAuthError(e) ? e.exitCode : ExitCode.internal;
  }
}

// The warm entry's exec loads this bundle only to renew its token file (src/warm/exec.ts): no command then.
export { renewExecToken } from '../exec/renew.js';
if (!(globalThis as Record<symbol, unknown>)[Symbol.for(RENEW_ONLY_SYMBOL)]) {
  void (leanHeapRerun(process.argv) ?? main(process.argv)).then((code) => {
    if (code !== 0) process.exitCode = code;
  });
}
