/** `omni-auth status [--json]`: identity, tenant, cached token expiry — never the token. */
import { status } from '../broker/status.js';
import type { SettingsFlags } from '../config/settings.js';
import { homeContext } from './context.js';
import { dim, green, info, red, yellow } from './output.js';
import { describeExpiry } from './time.js';

/** Exit code 0 when the settings resolve (whether or not a token is cached), 2 when they do not. */
export async function runStatus(flags: SettingsFlags & { json?: boolean; minTtl: number }): Promise<number> {
  const files = homeContext();
  const r = await status(flags, files, process.env, flags.minTtl);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    info(`home     ${r.home}`);
    if (r.key.present) info(`key      ${r.key.thumbprint} ${dim(`(${r.key.alg}, ${r.key.source})`)}`);
    else info(`key      ${r.key.error ? red(r.key.error) : yellow('none yet (created by the first login)')}`);
    if (r.profile && (r.profile.name !== 'default' || (r.profiles?.length ?? 0) > 1)) {
      const from = { flag: '--profile', env: 'OMNI_AUTH_PROFILE', saved: 'the settings\' default_profile', default: 'default' }[r.profile.source];
      info(`profile  ${r.profile.name} ${dim(`(${from})`)}`);
    }
    if (r.settings.resolved) {
      info(`tenant   ${r.settings.domain}  client ${r.settings.client_id}`);
      info(`audience ${r.settings.audience}  scope "${r.settings.scope}"`);
    } else {
      info(`tenant   ${red(r.settings.error ?? 'not configured')}`);
    }
    if (r.binding.present) {
      const who = r.binding.name ? `${r.binding.name} (${r.binding.sub})` : r.binding.sub;
      const until = r.binding.expired
        ? red(`the binding has expired (${describeExpiry(r.binding.expires_at!)}); sign in again: omni-auth login --browser`)
        : `until ${describeExpiry(r.binding.expires_at!).replace(/^expires /, '')} ${dim('(the default 30-day maximum age; the tenant\'s Action may set another)')}`;
      info(`bound to ${who}, ${until}`);
    } else if (r.settings.resolved) {
      info(`bound to ${dim(r.binding.note ?? 'nobody (a tenant that gives tokens only to people needs: omni-auth login --browser)')}`);
    }
    if (r.binding_warning) info(yellow(r.binding_warning));
    if (r.cache_warning) info(yellow(r.cache_warning));
    if (r.token.cached) {
      const mark = r.token.fresh ? green('✓') : yellow('!');
      info(`token    ${mark} ${describeExpiry(r.token.expires_at!)}${r.token.refreshable ? ', renewable' : ''}`);
      if (r.token.subject) info(`user     ${r.token.subject}`);
      if (r.token.scope) info(`granted  ${r.token.scope}`);
    } else if (r.settings.resolved) {
      info(`token    ${yellow('none cached')} (run omni-auth login or omni-auth token)`);
    }
    const profiles = r.profiles ?? [];
    if (profiles.length > 1 || (profiles.length === 1 && profiles[0]!.name !== 'default')) {
      const width = Math.max(...profiles.map((p) => p.name.length));
      profiles.forEach((p, i) => {
        const shared = p.token.shared_with ? ` ${dim(`(shared with ${p.token.shared_with.join(', ')})`)}` : '';
        const token = p.token.cached ? `${p.token.fresh ? green('✓') : yellow('!')} token ${describeExpiry(p.token.expires_at!)}${shared}` : dim('no token cached');
        const where = p.domain ? `${p.domain}  ${p.audience}` : red(p.error ?? 'not configured');
        info(`${i === 0 ? 'profiles' : '        '} ${p.active ? '*' : ' '} ${p.name.padEnd(width)}  ${where}  ${token}`);
      });
    }
    if (r.unowned_tokens) info(dim(`${r.unowned_tokens} cached token${r.unowned_tokens === 1 ? '' : 's'} of no saved profile (another audience or a removed profile; omni-auth logout --all-profiles removes ${r.unowned_tokens === 1 ? 'it' : 'them'})`));
  }
  return r.settings.resolved ? 0 : 2;
}
