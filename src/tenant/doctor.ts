/**
 * The `doctor` use case: every check in order, each pass / fail / skip (or warn) with a fix. The exit
 * code is 0 only when every check passes, else that of the first failure: 2 local configuration
 * (settings, clock, key, the domain), 3 the tenant is not set up right, 4 unreachable, 5 rate limited
 * or throttled. Every check the issue lists fails when it is not in its good state; `warn` is left to
 * the lines that report and never fail: MCP clients (a machine may use omni-auth without any MCP
 * client) and post-login Actions (a heuristic that reads their code). `skip` is a check that could not run: after a failure it depends on, or the Management
 * checks without credentials (they run only when credentials are given). Makes exactly one
 * token-exchange request (the probe).
 */
import type { HomeFiles } from '../config/home.js';
import { describeNetwork, networkConfig } from '../config/network.js';
import type { Settings, SettingsFlags } from '../config/settings.js';
import type { HttpOptions } from '../exchange/http.js';
import { ExitCode } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { fail, failFrom, skip, type Check } from './doctor-check.js';
import { checkKey, checkSettings } from './doctor-local.js';
import { managementChecks } from './doctor-management.js';
import { checkMcpClients } from './doctor-mcp.js';
import { CTE_AVAILABILITY } from '../exchange/errors.js';
import { checkClock, checkDiscovery, httpDefaults, probeExchange, type ProbeResult } from './doctor-tenant.js';
import { ManagementClient, type ManagementCredentials, type ManagementOptions } from './management-client.js';

export interface DoctorRequest {
  flags: SettingsFlags;
  env: NodeJS.ProcessEnv;
  files: HomeFiles;
  credentials?: ManagementCredentials;
  connection: string;
  http?: Partial<HttpOptions>;
  management?: Omit<ManagementOptions, 'domain' | 'credentials'>;
  /** Milliseconds since the epoch (tests move the clock). */
  now?: () => number;
  actionDir?: string;
  /** Where project-scoped MCP configs are looked for (default: the current directory). */
  cwd?: string;
  /** `--server-url`: the remote MCP server to check (default: those wired through `omni-auth proxy`). */
  serverUrl?: string;
}

/** The `doctor --json` document. */
export interface DoctorReport {
  ok: boolean;
  exit_code: ExitCode;
  checks: Check[];
  /** The proxy and CAs every request used (issue 11 §4; src/config/network.ts), never a proxy's credentials. */
  network: string;
}

const NEEDS_SETTINGS = 'skipped: the settings do not resolve';

/** Issue 11 §2: the remote servers omni-auth hands tokens to (doctor-server.ts), loaded only here. */
async function remoteServers(req: DoctorRequest, settings: Settings, http: HttpOptions): Promise<Check[]> {
  const { checkRemoteServers } = await import('./doctor-server.js');
  const secret = req.env.OMNI_AUTH_CLIENT_SECRET?.trim();
  return checkRemoteServers({
    settings, files: req.files, env: req.env, http, cwd: req.cwd ?? process.cwd(),
    ...(secret ? { clientSecret: new Secret(secret) } : {}),
    ...(req.serverUrl !== undefined ? { serverUrl: req.serverUrl } : {}),
  });
}

export async function doctor(req: DoctorRequest): Promise<DoctorReport> {
  const http: HttpOptions = { ...httpDefaults(), ...req.http };
  const checks: Check[] = [];
  const { check: settingsCheck, settings } = await checkSettings(req.flags, req.env, req.files);
  checks.push(settingsCheck);

  if (settings) {
    const { check, date } = await checkDiscovery(settings, http);
    // No answer at all: nothing to compare with, and discovery already failed for that.
    const clock = date === undefined && check.status === 'fail'
      ? skip('clock', 'clock', 'skipped: the tenant did not answer')
      : checkClock(date, (req.now ?? Date.now)());
    checks.push(check, clock);
  } else {
    checks.push(skip('discovery', 'OIDC discovery and JWKS', NEEDS_SETTINGS), skip('clock', 'clock', NEEDS_SETTINGS));
  }
  checks.push(await checkKey(req.files, req.env));

  let probe: ProbeResult | undefined;
  if (settings) {
    const secret = req.env.OMNI_AUTH_CLIENT_SECRET?.trim();
    probe = await probeExchange(settings, secret ? new Secret(secret) : undefined, http);
    checks.push(probe.check);
  } else {
    checks.push(skip('probe', 'probe exchange', NEEDS_SETTINGS));
  }

  if (!settings) {
    checks.push(skip('management', 'Management API checks', NEEDS_SETTINGS));
  } else if (!req.credentials) {
    checks.push(skip('management', 'Management API checks', 'skipped: no Management API credentials (--mgmt-client-id/--mgmt-client-secret, --mgmt-token or AUTH0_MGMT_*)'));
  } else {
    try {
      const mc = await ManagementClient.connect({ ...req.management, domain: settings.domain, credentials: req.credentials });
      const found = await managementChecks(mc, settings, req.connection, req.actionDir);
      checks.push(...found);
      const { checkCiTrust } = await import('./doctor-ci.js');
      checks.push(await checkCiTrust(mc, req.connection).catch((e: unknown) => failFrom('ci_trust', 'CI trust policy', e, 'check the Management API credentials (read:actions)')));
      // The grant refused although the application is set up for it: what is left is the tenant itself.
      if (probe?.errorCode === 'unauthorized_client' && found.find((c) => c.id === 'application')?.status === 'pass') {
        const at = checks.indexOf(probe.check);
        checks[at] = fail('probe', probe.check.title,
          `the tenant refuses the token exchange grant although the application ${settings.clientId} is set up for Custom Token Exchange: the tenant may lack the feature (${probe.check.detail})`,
          CTE_AVAILABILITY, ExitCode.refused);
      }
    } catch (e) {
      checks.push(failFrom('management', 'Management API', e, 'check the Management API credentials'));
    }
  }

  // Issue 12 §4: only where setup --m2m ran or a client key is given.
  const m2m = await (await import('./doctor-m2m.js')).checkM2m(settings, req.files, req.env, http);
  if (m2m) checks.push(m2m);

  checks.push(await checkMcpClients(req.env, req.cwd ?? process.cwd()));
  if (settings) checks.push(...await remoteServers(req, settings, http));

  const firstFailure = checks.find((c) => c.status === 'fail');
  const exitCode = firstFailure ? (firstFailure.exit_code ?? ExitCode.internal) : ExitCode.ok;
  return { ok: firstFailure === undefined, exit_code: exitCode, checks, network: describeNetwork(networkConfig(req.env)) };
}
