/**
 * `omni-auth logout [--forget-key] [--keep-mcp]`. Unless --keep-mcp, every MCP client entry wired
 * through omni-auth gets its original back (a token stored by `--mode env` is removed when it was
 * issued by the tenant of the current settings).
 */
import { logout, type PostLogoutStep } from '../broker/logout.js';
import type { McpReport } from '../mcp/index.js';
import { readSavedSettings, resolveSettings } from '../config/settings.js';
import { Secret } from '../util/secret.js';
import { homeContext } from './context.js';
import { info, warn } from './output.js';

/**
 * OMNI_AUTH_CLIENT_SECRET belongs to the application of the current settings: it is sent only when
 * revoking that application's refresh tokens, never to another tenant in the cache.
 */
async function secretOwner(settingsFile: string, secret: string) {
  try {
    const s = resolveSettings({}, process.env, await readSavedSettings(settingsFile));
    return { clientSecret: { secret: new Secret(secret), domain: s.domain, clientId: s.clientId } };
  } catch {
    return {};
  }
}

export async function runLogout(opts: { forgetKey?: boolean; keepMcp?: boolean }): Promise<number> {
  const secret = process.env.OMNI_AUTH_CLIENT_SECRET;
  let report: McpReport | undefined;
  const steps: PostLogoutStep[] = [];
  if (!opts.keepMcp) {
    steps.push(async () => {
      // Loaded here: only the unwiring needs the MCP config code.
      const { unwireAll } = await import('./mcp.js');
      report = await unwireAll();
    });
  }
  const files = homeContext();
  const r = await logout(files, {
    forgetKey: Boolean(opts.forgetKey),
    env: process.env,
    ...(secret ? await secretOwner(files.settings, secret) : {}),
  }, steps);
  for (const f of r.revokeFailures) warn(`could not revoke the refresh token at ${f.domain}: ${f.error}`);
  info(`removed ${r.removed} cached token${r.removed === 1 ? '' : 's'}, revoked ${r.revoked} refresh token${r.revoked === 1 ? '' : 's'}`);
  if (opts.forgetKey) {
    info(r.keyRemoved
      ? 'machine key deleted: the next login creates a new Auth0 user'
      : r.keyKept === 'from_env'
        ? 'the machine key comes from OMNI_AUTH_KEY: nothing deleted (unset the variable to stop using it)'
        : 'no machine key file to delete');
    if (r.bindingsRemoved) info('the bindings of this key to people are deleted: a new key signs in again (omni-auth login --browser)');
  }
  if (!report || report.files.length === 0) return 0;
  info('MCP clients:');
  const { printMcpReport } = await import('./mcp-report.js');
  return printMcpReport(report, { action: 'unwire' });
}
