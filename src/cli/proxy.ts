/**
 * `omni-auth proxy <url>`: parses, resolves the tenant settings, and hands over to src/proxy (loaded
 * on demand — the MCP SDK is not on any other command's path). stdout belongs to the MCP protocol;
 * stderr gets diagnostics only.
 */
import type { SettingsFlags } from '../config/settings.js';
import { tenantContext } from './context.js';
import { warn } from './output.js';

export interface ProxyFlags extends SettingsFlags {
  minTtl: number;
  grant?: 'exchange' | 'client-credentials';
  transport: 'auto' | 'streamable-http' | 'sse';
}

export async function runProxy(rawUrl: string, flags: ProxyFlags): Promise<number> {
  const { proxyUrl, proxyHeaders, brokerTokens, startProxy } = await import('../proxy/index.js');
  const url = proxyUrl(rawUrl);
  const headers = proxyHeaders(process.env);
  const ctx = await tenantContext(flags);
  const proxyWarn = (m: string): void => warn(`omni-auth proxy: ${m}`);
  const tokens = brokerTokens({ ...ctx, minTtl: flags.minTtl, warn: proxyWarn });
  // A token before the client's first message: a tenant problem shows at once, not as a tool error.
  await tokens.current();
  // The upstream goes through the same proxies and CAs as every other request (docs/network.md).
  const { networkFetch } = await import('../exchange/undici-transport.js');
  const fetch = await networkFetch({ env: ctx.env });
  const proxy = startProxy({ url, tokens, warn: proxyWarn, transport: flags.transport, headers, fetch });
  const stop = (): void => void proxy.close();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await proxy.done;
  // The client is gone: a keep-alive socket or a reconnection timer must not keep the process alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  return 0;
}

