/** `omni-auth logout [--forget-key]`. */
import { logout } from '../broker/logout.js';
import { Secret } from '../util/secret.js';
import { homeContext } from './context.js';
import { info, warn } from './output.js';

export async function runLogout(opts: { forgetKey?: boolean }): Promise<void> {
  const secret = process.env.OMNI_AUTH_CLIENT_SECRET;
  const r = await logout(homeContext(), {
    forgetKey: Boolean(opts.forgetKey),
    env: process.env,
    ...(secret ? { clientSecret: new Secret(secret) } : {}),
  });
  for (const f of r.revokeFailures) warn(`could not revoke the refresh token at ${f.domain}: ${f.error}`);
  info(`removed ${r.removed} cached token${r.removed === 1 ? '' : 's'}, revoked ${r.revoked} refresh token${r.revoked === 1 ? '' : 's'}`);
  if (opts.forgetKey) info(r.keyRemoved ? 'machine key deleted: the next login creates a new Auth0 user' : 'no machine key file to delete');
}
