/**
 * What the warm entry's `exec` (src/warm/exec.ts) loads the full CLI for, once the token file's token
 * is due: the full exec's own renewal (src/cli/exec.ts), `getToken` with the context the exec started
 * with — cache, lock, refresh, exchange, the HTTP client, all of which the warm entry leaves out.
 * Exported by dist/omni-auth-full.cjs (src/cli/main.ts); its modules are loaded on the first call.
 */
import type { CachedToken } from '../cache/token-cache.js';
import type { TenantContext } from '../cli/context.js';

export async function renewExecToken(ctx: TenantContext, minTtl: number): Promise<CachedToken> {
  const [{ getToken }, { warn }] = await Promise.all([import('../broker/get-token.js'), import('../cli/output.js')]);
  return (await getToken({ ...ctx, minTtl, warn })).token;
}
