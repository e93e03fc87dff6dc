/**
 * `omni-auth login`: the use case, then who you are and what happened to the MCP clients — for a
 * person, on stderr. Post-login steps: refresh the launcher that wired entries run, then (unless
 * --no-write) route the `--server` entry of each MCP client through omni-auth.
 * `--dry-run` requests no token and writes nothing: it resolves the settings and prints the diff the
 * wiring would make, a placeholder where a token would be stored.
 */
import { browserLogin } from '../broker/browser-login.js';
import { deviceLogin } from '../broker/device-login.js';
import { login, type LoginResult, type PostLoginStep } from '../broker/login.js';
import { bindingExpiresAt } from '../identity/binding.js';
import { pinsDefault } from '../config/profiles.js';
import { readSavedSettings, type SettingsFlags } from '../config/settings.js';
import { installLauncher, issuedBy, launcherPath, newRun, wireClients, type McpReport } from '../mcp/index.js';
import { UsageError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { tenantContext, type TenantContext } from './context.js';
import { announceRecipients, checkClientIds, checkProjectMode, nothingToWire } from './mcp.js';
import type { WireFlags } from './mcp-options.js';
import { printMcpReport } from './mcp-report.js';
import { dim, green, info, warn, yellow } from './output.js';
import { atTerminal, deviceSignInWith, isBindingRequired, noBrowserFromEnv, signInLockMs, signInWith, type SignInChoice, type SignInFlags } from './signin.js';
import { describeExpiry } from './time.js';

/** `browser`: true with --browser, false with --no-browser (paste-back), undefined with neither. */
export type LoginFlags = SettingsFlags & WireFlags & SignInFlags & { write: boolean; browser?: boolean; device?: boolean };

export async function runLogin(flags: LoginFlags): Promise<number> {
  checkClientIds(flags.client);
  if (flags.device && flags.browser !== undefined) {
    throw new UsageError('conflicting_flags', '--device cannot be combined with --browser or --no-browser', { hint: 'choose one way to sign in' });
  }
  if (flags.write) checkProjectMode(flags);
  const ctx = await tenantContext(flags);
  if (flags.dryRun) return dryRun(ctx, flags);
  // Before the exchange and before any write: which servers the wiring will hand tokens to.
  if (flags.write) await announceRecipients({ ...where(ctx, flags), server: flags.server, mode: flags.mode, envVar: flags.envVar, launcherPath: launcherPath(ctx.files.home) }, false);

  let launcher = launcherPath(ctx.files.home);
  let report: McpReport | undefined;
  const steps: PostLoginStep[] = [
    async () => {
      launcher = (await installLauncher(ctx.files.home)).path;
    },
  ];
  if (flags.write) {
    steps.push(async (result) => {
      report = await wire(ctx, flags, launcher, result);
    });
  }
  const result = flags.device
    ? await deviceLogin({ ...ctx, warn, signIn: deviceSignInWith(flags), lockTimeoutMs: signInLockMs(flags) }, steps)
    : await loginOrSignIn(ctx, flags, steps);
  const who = result.user.name ? `${result.user.name} (${result.user.sub ?? 'unknown user id'})` : (result.user.sub ?? 'unknown user');
  info(`${green('✓')} Logged in to ${ctx.settings.domain} as ${who}`);
  info(`  key      ${result.thumbprint} ${dim(`(${result.keySource})`)}`);
  info(`  audience ${ctx.settings.audience}`);
  info(`  token    ${describeExpiry(result.token.expires_at)}${result.token.refresh_token ? ', renewable' : ''}`);
  if (result.source === 'browser') {
    info(`  bound    this machine key to ${result.user.sub ?? 'you'}: later exchanges get your tokens, no browser needed`);
    if (result.boundAt !== undefined) {
      const until = describeExpiry(bindingExpiresAt({ bound_at: result.boundAt })).replace(/^expires /, '');
      info(`           until ${until} ${dim('(the default 30-day maximum age; the tenant\'s Action may set another)')}`);
    }
  }
  if (result.source === 'device') {
    info(yellow('  not bound: the device flow carries no nonce, so it cannot bind this machine key to you.'));
    info(yellow('           These are your own tokens (renewed with their refresh token); when they run out, exchanges'));
    info(yellow(`           under a \`person\` policy still need one browser sign-in: omni-auth login --browser (or --no-browser)`));
  }
  info(`  settings saved to ${ctx.files.settings}`);
  if (!report) return 0;
  info('MCP clients:');
  return printMcpReport(report, { action: 'wire', expiresAt: result.token.expires_at, nothing: nothingToWire(flags.server) });
}

/**
 * --browser / --no-browser sign in at once. Without either, the exchange; when the tenant wants a person
 * (binding_required), a person at a terminal gets the browser sign-in — in CI (no TTY) the error stands,
 * and no browser ever opens.
 */
async function loginOrSignIn(ctx: TenantContext, flags: LoginFlags, steps: PostLoginStep[]): Promise<LoginResult> {
  const viaBrowser = (choice: SignInChoice) => browserLogin({ ...ctx, warn, signIn: signInWith(flags, ctx.env, choice), lockTimeoutMs: signInLockMs(flags) }, steps);
  const terminalInput = process.stdin.isTTY === true ? { input: process.stdin } : {};
  if (flags.browser === true) return viaBrowser({ mode: 'browser', ...terminalInput });
  if (flags.browser === false) return viaBrowser({ mode: 'paste', input: process.stdin });
  try {
    return await login({ ...ctx, minTtl: 0, warn }, steps);
  } catch (e) {
    if (!isBindingRequired(e) || !atTerminal()) throw e;
    const noBrowser = noBrowserFromEnv(ctx.env);
    if (noBrowser && process.stdin.isTTY !== true) throw e;
    info(yellow(`${ctx.settings.domain} gives tokens only to people: sign in once in the browser to bind this machine key to you`));
    return viaBrowser(noBrowser ? { mode: 'paste', input: process.stdin } : { mode: 'browser', ...terminalInput });
  }
}

/** The user's MCP files; the current directory's project files too only with --project (issue 9 §2). */
function where(ctx: TenantContext, flags: LoginFlags) {
  return { env: ctx.env, cwd: process.cwd(), ...(flags.client ? { clients: flags.client } : {}), scope: flags.project ? 'all' as const : 'user' as const };
}

async function wire(ctx: TenantContext, flags: LoginFlags, launcher: string, result?: LoginResult): Promise<McpReport> {
  // wire14: "default" is written `--profile default` once the home has named profiles (src/mcp/wire.ts).
  const pinDefault = pinsDefault(await readSavedSettings(ctx.files.settings).catch(() => undefined));
  return wireClients({
    ...where(ctx, flags),
    server: flags.server,
    mode: flags.mode,
    envVar: flags.envVar,
    launcherPath: launcher,
    ...(ctx.settings.profile !== undefined ? { profile: ctx.settings.profile } : {}),
    ...(pinDefault ? { pinDefault } : {}),
    isOurToken: issuedBy(ctx.settings.issuer),
    ...(result ? { getToken: async () => new Secret(result.token.access_token) } : { dryRun: true }),
    run: newRun(),
  });
}

async function dryRun(ctx: TenantContext, flags: LoginFlags): Promise<number> {
  info(`dry run: settings resolved for ${ctx.settings.domain}; no token requested, nothing written`);
  if (!flags.write) {
    info('--no-write: MCP client configs would be left alone');
    return 0;
  }
  await announceRecipients({ ...where(ctx, flags), server: flags.server, mode: flags.mode, envVar: flags.envVar, launcherPath: launcherPath(ctx.files.home) }, true);
  const report = await wire(ctx, flags, launcherPath(ctx.files.home));
  info('MCP clients:');
  return printMcpReport(report, { action: 'wire', dryRun: true, nothing: nothingToWire(flags.server) });
}
