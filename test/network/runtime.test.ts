/**
 * In this process (started without any of them): NODE_EXTRA_CA_CERTS, OMNI_AUTH_CA_FILE and the proxy
 * variables are read when a request is made, not when Node started — the case of an MCP client or npx
 * that starts omni-auth without the variable Node would have read at start-up. Also the shared
 * `dispatcher()` / `networkFetch()` that other modules (the proxy's upstream, JWKS) build on.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeNetwork, networkConfig, redactProxy, setCaFileFlag } from '../../src/config/network.js';
import { getJson, DEFAULT_TIMEOUTS } from '../../src/exchange/http.js';
import { dispatcher, networkFetch } from '../../src/exchange/undici-transport.js';
import { isOmniAuthError } from '../../src/util/errors.js';
import { startHttpsEmulator, startProxy, type HttpsEmulator, type TestProxy } from './helpers.js';

let secure: HttpsEmulator;
let proxy: TestProxy;
const VARS = ['NODE_EXTRA_CA_CERTS', 'OMNI_AUTH_CA_FILE', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));

beforeAll(async () => {
  [secure, proxy] = await Promise.all([startHttpsEmulator(), startProxy()]);
});
afterAll(async () => {
  await Promise.all([secure?.close(), proxy?.close()]);
  for (const v of VARS) if (saved[v] !== undefined) process.env[v] = saved[v];
});
// Each test starts with none of them set (the machine running the suite may have some).
const unset = () => {
  for (const v of VARS) delete process.env[v];
  setCaFileFlag(undefined);
};
unset();
afterEach(unset);

const discovery = () => getJson(new URL('/.well-known/openid-configuration', secure.domain), { ...DEFAULT_TIMEOUTS });

describe('read at run time', () => {
  it('NODE_EXTRA_CA_CERTS set after the process started is honoured; without it the TLS failure is typed', async () => {
    const refused = await discovery().catch((e: unknown) => e);
    expect(isOmniAuthError(refused) && refused.code).toBe('tenant_unreachable');
    expect((refused as { details?: { reason?: string } }).details?.reason).toBe('tls');
    process.env.NODE_EXTRA_CA_CERTS = secure.ca.caFile;
    const r = await discovery();
    expect(r.status).toBe(200);
    expect((r.body as { issuer: string }).issuer).toBe(`${secure.domain}/`);
  });

  it('--ca-file (as the CLI sets it) and OMNI_AUTH_CA_FILE', async () => {
    setCaFileFlag(secure.ca.caFile);
    expect((await discovery()).status).toBe(200);
    setCaFileFlag(undefined);
    process.env.OMNI_AUTH_CA_FILE = secure.ca.caFile;
    expect((await discovery()).status).toBe(200);
  });

  it('HTTPS_PROXY set after start: the request tunnels through the proxy', async () => {
    process.env.NODE_EXTRA_CA_CERTS = secure.ca.caFile;
    process.env.HTTPS_PROXY = proxy.url;
    const mark = proxy.seen.length;
    expect((await discovery()).status).toBe(200);
    expect(proxy.seen.slice(mark)).toEqual([{ kind: 'CONNECT', hostname: '127.0.0.1', port: secure.front.port }]);
  });

  it('networkFetch() (for jose and the MCP SDK) goes through the same dispatcher', async () => {
    process.env.HTTPS_PROXY = proxy.url;
    setCaFileFlag(secure.ca.caFile);
    const mark = proxy.seen.length;
    const f = await networkFetch();
    expect(f).not.toBe(globalThis.fetch);
    const res = await f(new URL('/.well-known/jwks.json', secure.domain));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    expect(proxy.seen.slice(mark).length).toBe(1);
  });

  it('networkFetch() is the global fetch when no proxy or CA is configured (what msw-based tests intercept)', async () => {
    expect(await networkFetch()).toBe(globalThis.fetch);
  });

  it('NODE_EXTRA_CA_CERTS as Node saw it at start-up needs no dispatcher of ours; another value does', async () => {
    if (saved.NODE_EXTRA_CA_CERTS) {
      process.env.NODE_EXTRA_CA_CERTS = saved.NODE_EXTRA_CA_CERTS;
      expect(await networkFetch()).toBe(globalThis.fetch);
    }
    process.env.NODE_EXTRA_CA_CERTS = secure.ca.caFile;
    expect(await networkFetch()).not.toBe(globalThis.fetch);
  });

  it('dispatcher() is shared per configuration and renewed when the configuration changes', async () => {
    const a = await dispatcher();
    expect(await dispatcher()).toBe(a);
    process.env.HTTPS_PROXY = proxy.url;
    expect(await dispatcher()).not.toBe(a);
  });
});

describe('the Management API client', () => {
  it('goes through HTTP_PROXY like every other request (its token and its calls)', async () => {
    const { startEmulator } = await import('../../src/emulator/index.js');
    const { ManagementClient } = await import('../../src/tenant/management-client.js');
    const { Secret } = await import('../../src/util/secret.js');
    const emu = await startEmulator();
    try {
      process.env.HTTP_PROXY = proxy.url;
      const mark = proxy.seen.length;
      const info = emu.info();
      const mc = await ManagementClient.connect({
        domain: info.domain,
        credentials: { kind: 'client', clientId: info.management.client_id, clientSecret: new Secret(info.management.client_secret) },
      });
      const apis = await mc.get<{ identifier: string }[]>('/resource-servers');
      expect(apis.map((a) => a.identifier)).toContain(info.audience);
      const seen = proxy.seen.slice(mark);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.every((s) => s.hostname === '127.0.0.1' && s.port === emu.port)).toBe(true);
    } finally {
      await emu.close();
    }
  });
});

describe('bad settings', () => {
  it('a proxy URL that is not one: invalid_proxy naming the variable, never the URL (it may hold a password)', async () => {
    process.env.HTTPS_PROXY = 'socks5://user:p4ssw0rd@proxy:1080';
    const e = await discovery().catch((x: unknown) => x);
    expect(isOmniAuthError(e) && e.code).toBe('invalid_proxy');
    expect((e as Error).message).toContain('HTTPS_PROXY');
    expect(JSON.stringify({ m: (e as Error).message, h: (e as { hint?: string }).hint })).not.toContain('p4ssw0rd');
  });

  it('an unreadable NODE_EXTRA_CA_CERTS is ignored, as Node does; an unreadable OMNI_AUTH_CA_FILE is refused', async () => {
    process.env.NODE_EXTRA_CA_CERTS = join(secure.ca.dir, 'gone.pem');
    setCaFileFlag(secure.ca.caFile);
    expect((await discovery()).status).toBe(200);
    setCaFileFlag(undefined);
    process.env.OMNI_AUTH_CA_FILE = join(secure.ca.dir, 'gone.pem');
    const e = await discovery().catch((x: unknown) => x);
    expect(isOmniAuthError(e) && e.code).toBe('ca_file_unreadable');
  });
});

describe('networkConfig', () => {
  it('--ca-file wins over OMNI_AUTH_CA_FILE; NODE_EXTRA_CA_CERTS is added as well (never instead)', () => {
    const env = { NODE_EXTRA_CA_CERTS: '/a.pem', OMNI_AUTH_CA_FILE: '/b.pem' };
    expect(networkConfig(env, undefined).caFiles).toEqual([
      { path: '/a.pem', source: 'NODE_EXTRA_CA_CERTS' }, { path: '/b.pem', source: 'OMNI_AUTH_CA_FILE' },
    ]);
    expect(networkConfig(env, '/c.pem').caFiles).toEqual([
      { path: '/a.pem', source: 'NODE_EXTRA_CA_CERTS' }, { path: '/c.pem', source: '--ca-file' },
    ]);
  });

  it('lower-case proxy variables first (curl\'s order); blanks are unset', () => {
    expect(networkConfig({ https_proxy: 'http://a:1', HTTPS_PROXY: 'http://b:1', HTTP_PROXY: ' ', no_proxy: 'x' }, undefined))
      .toEqual({ httpsProxy: 'http://a:1', noProxy: 'x', caFiles: [] });
  });

  it('describeNetwork never shows proxy credentials', () => {
    expect(redactProxy('http://u:p4ss@proxy:8080')).toBe('http://proxy:8080 (credentials hidden)');
    const line = describeNetwork(networkConfig({ HTTP_PROXY: 'http://u:p4ss@proxy:8080' }, '/ca.pem'));
    expect(line).not.toContain('p4ss');
    expect(line).toBe('proxy: http via http://proxy:8080 (credentials hidden); CA: system roots + /ca.pem (--ca-file)');
  });
});
