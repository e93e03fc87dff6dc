/**
 * `omni-auth verify [TOKEN | -]`: checks an access token the way a resource server configured with
 * `omni-auth/server` would (the tenant's JWKS, issuer, audience, expiry, and the required scopes and
 * permissions) and says whether it would be accepted and, if not, every reason. People read stderr;
 * `--json` puts the report on stdout. The token itself is never printed.
 *
 * Exit 0 accepted, 3 refused, 2 usage (nothing to verify, bad flags), 4 the tenant's keys unreachable.
 * Loaded only when `verify` runs (jose and src/server are not on the warm `token` path).
 */
import { readCache, cacheKeyOf } from '../cache/token-cache.js';
import { normalizeDomain } from '../config/domain.js';
import { readSavedSettings, pickSetting, resolveSettings, type SavedSettings, type SettingsFlags } from '../config/settings.js';
import { inspectAccessToken } from '../server/inspect.js';
import { isTokenError, ServerConfigError } from '../server/errors.js';
import type { TokenReport } from '../server/check.js';
import { ExitCode, OmniAuthError, UsageError } from '../util/errors.js';
import { homeContext } from './context.js';
import { dim, green, info, red, warn } from './output.js';
import { describeExpiry } from './time.js';

export interface VerifyFlags {
  /** The settings profile (issue 14 §3). */
  profile?: string;
  domain?: string;
  clientId?: string;
  scope?: string;
  /** The audience the server expects (default: the configured audience). */
  audience?: string;
  requireScope?: string[];
  requirePermission?: string[];
  clockTolerance?: number;
  json?: boolean;
}

/** The stable `verify --json` document. Never holds the token. */
export interface VerifyReport {
  valid: boolean;
  /** What the token was checked against. */
  expected: { issuer: string; audience: string; jwks_uri: string; required_scopes: string[]; required_permissions: string[]; clock_tolerance: number };
  signature_valid: boolean;
  subject?: string;
  audience?: string[];
  client_id?: string;
  scope?: string[];
  /** The `permissions` claim; absent when the token has none (RBAC off, or permissions not added). */
  permissions?: string[];
  expires_at?: number;
  refusals: { code: string; message: string; hint?: string }[];
  /** When the signature does not hold: what the token claims, unverified, to help tell which tenant it is from. */
  unverified?: { iss?: unknown; aud?: unknown; alg?: unknown };
  source: 'argument' | 'stdin' | 'cache';
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 65_536) throw new UsageError('token_too_large', 'the token on stdin is larger than 64 KiB', { hint: 'pipe only the access token' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** The token to check: the argument, stdin (`-`), or the cached token of the configured settings. */
async function tokenToCheck(arg: string | undefined, flags: VerifyFlags, env: NodeJS.ProcessEnv, saved: SavedSettings | undefined): Promise<{ token: string; source: VerifyReport['source'] }> {
  if (arg === '-') {
    const token = await readStdin();
    if (!token) throw new UsageError('no_token', 'nothing on stdin to verify', { hint: 'pipe a token: omni-auth token | omni-auth verify -' });
    return { token, source: 'stdin' };
  }
  if (arg !== undefined) {
    warn('a token on the command line is visible to other processes of this machine; prefer `omni-auth token | omni-auth verify -`');
    return { token: arg.trim(), source: 'argument' };
  }
  const files = homeContext(env);
  const settingsFlags: SettingsFlags = { ...(flags.profile ? { profile: flags.profile } : {}), ...(flags.domain ? { domain: flags.domain } : {}), ...(flags.clientId ? { clientId: flags.clientId } : {}), ...(flags.scope ? { scope: flags.scope } : {}) };
  const settings = resolveSettings(settingsFlags, env, saved);
  const { entries, warning } = await readCache(files.tokens);
  if (warning) warn(warning);
  const cached = entries[cacheKeyOf(settings)];
  if (!cached) {
    throw new UsageError('no_cached_token', `no cached token for ${settings.audience} at ${settings.domain}`, { hint: 'run `omni-auth token` first, or pass a token: omni-auth token | omni-auth verify -' });
  }
  return { token: cached.access_token, source: 'cache' };
}

/** The use case: resolve what to check and against what, check it, report. */
export async function verify(arg: string | undefined, flags: VerifyFlags, env: NodeJS.ProcessEnv = process.env): Promise<VerifyReport> {
  const saved = await readSavedSettings(homeContext(env).settings);
  const domainSetting = pickSetting('domain', flags, env, saved);
  const audienceSetting = pickSetting('audience', flags, env, saved);
  if (!domainSetting || !audienceSetting) {
    const missing = [!domainSetting && '--domain (or OMNI_AUTH_DOMAIN)', !audienceSetting && '--audience (or OMNI_AUTH_AUDIENCE)'].filter(Boolean).join(', ');
    throw new UsageError('settings_missing', `missing setting: ${missing}`, { hint: 'pass the tenant and the API identifier the server expects, or run `omni-auth login` once to save them' });
  }
  const domain = normalizeDomain(domainSetting.value, domainSetting.label);
  const { token, source } = await tokenToCheck(arg, flags, env, saved);
  const requiredScopes = [...new Set(flags.requireScope ?? [])];
  const requiredPermissions = [...new Set(flags.requirePermission ?? [])];
  const clockTolerance = flags.clockTolerance ?? 0;

  let report: TokenReport & { issuer: string; jwksUri: string };
  try {
    // Issue 11 §4: the JWKS through the proxy / extra CAs (src/exchange/undici-transport.ts).
    const jwks = { fetch: await (await import('../exchange/undici-transport.js')).networkFetch() };
    report = await inspectAccessToken(token, { domain, audience: audienceSetting.value, requiredScopes, requiredPermissions, clockTolerance, jwks });
  } catch (e) {
    if (isTokenError(e) && e.code === 'jwks_unavailable') {
      throw new OmniAuthError('jwks_unavailable', e.message, { exitCode: ExitCode.unreachable, hint: e.hint ?? 'check the network, then try again' });
    }
    if (e instanceof ServerConfigError) throw new UsageError(e.code, e.message, e.hint ? { hint: e.hint } : {});
    throw e;
  }
  const f = report.facts;
  return {
    valid: report.refusals.length === 0,
    expected: { issuer: report.issuer, audience: audienceSetting.value, jwks_uri: report.jwksUri, required_scopes: requiredScopes, required_permissions: requiredPermissions, clock_tolerance: clockTolerance },
    signature_valid: report.signatureValid,
    ...(f?.sub !== undefined ? { subject: f.sub } : {}),
    ...(f ? { audience: f.audience, scope: f.scope } : {}),
    ...(f?.clientId !== undefined ? { client_id: f.clientId } : {}),
    ...(f && f.claims.permissions !== undefined ? { permissions: f.permissions } : {}),
    ...(f?.expiresAt !== undefined ? { expires_at: f.expiresAt } : {}),
    refusals: report.refusals.map((r) => ({ code: r.code, message: r.message, ...(r.hint ? { hint: r.hint } : {}) })),
    ...(report.unverified ? { unverified: report.unverified } : {}),
    source,
  };
}

/** Printable, on one line: claims a token carries are the issuer's words, not ours — no control characters. */
const clean = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v)).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

export async function runVerify(arg: string | undefined, flags: VerifyFlags): Promise<number> {
  const r = await verify(arg, flags);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const verdict = r.valid ? green('✓ accepted') : red('✗ refused');
    info(`token       ${verdict} by a server expecting ${r.expected.audience} from ${r.expected.issuer}${r.source === 'cache' ? dim(' (the cached token)') : ''}`);
    if (r.signature_valid) {
      info(`subject     ${clean(r.subject ?? '(none)')}`);
      info(`audience    ${clean((r.audience ?? []).join(' '))}`);
      if (r.client_id) info(`client      ${clean(r.client_id)}`);
      info(`scopes      ${clean((r.scope ?? []).join(' ') || '(none)')}`);
      info(`permissions ${r.permissions ? clean(r.permissions.join(' ') || '(none)') : dim('(no permissions claim: RBAC permissions are not added to this API\'s tokens)')}`);
      if (r.expires_at !== undefined) info(`expiry      ${describeExpiry(r.expires_at)}`);
    } else if (r.unverified) {
      info(dim(`unverified  the token claims issuer ${clean(r.unverified.iss)}, audience ${clean(r.unverified.aud)}, alg ${clean(r.unverified.alg)}`));
    }
    for (const x of r.refusals) {
      info(`${red('refused:')}    ${x.message} ${dim(`[${x.code}]`)}`);
      if (x.hint) info(`${dim('hint:')}       ${x.hint}`);
    }
  }
  return r.valid ? ExitCode.ok : ExitCode.refused;
}
