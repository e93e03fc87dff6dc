/** `omni-auth login`: the use case, then who you are — for a person, on stderr. */
import { login, type PostLoginStep } from '../broker/login.js';
import type { SettingsFlags } from '../config/settings.js';
import { tenantContext } from './context.js';
import { dim, green, info, warn } from './output.js';
import { describeExpiry } from './time.js';

export async function runLogin(flags: SettingsFlags & { write: boolean }): Promise<void> {
  const ctx = await tenantContext(flags);
  // Issue #5 adds the MCP client wiring step here; --no-write leaves the list empty.
  const steps: PostLoginStep[] = [];
  const result = await login({ ...ctx, minTtl: 0, warn }, flags.write ? steps : []);
  const who = result.user.name ? `${result.user.name} (${result.user.sub ?? 'unknown user id'})` : (result.user.sub ?? 'unknown user');
  info(`${green('✓')} Logged in to ${ctx.settings.domain} as ${who}`);
  info(`  key      ${result.thumbprint} ${dim(`(${result.keySource})`)}`);
  info(`  audience ${ctx.settings.audience}`);
  info(`  token    ${describeExpiry(result.token.expires_at)}${result.token.refresh_token ? ', renewable' : ''}`);
  info(`  settings saved to ${ctx.files.settings}`);
}
