/**
 * Corporate networks (issue 11 §4): the built CLI's `token` through a real loopback proxy
 * (HTTP_PROXY, HTTPS_PROXY with a CONNECT tunnel, NO_PROXY), and against an emulator served over
 * https with a private CA — refused without the CA (the error names the TLS problem and the fix),
 * accepted with NODE_EXTRA_CA_CERTS, --ca-file or OMNI_AUTH_CA_FILE. (Built CLI: `npm run build` first.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cleanEnv, runCli, tempHome } from '../cli/run-cli.js';
import { startHttpsEmulator, startProxy, type HttpsEmulator, type TestProxy } from './helpers.js';

let emu: Emulator;
let secure: HttpsEmulator;
let proxy: TestProxy;

beforeAll(async () => {
  [emu, secure, proxy] = await Promise.all([
    startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } }),
    startHttpsEmulator(),
    startProxy(),
  ]);
});
afterAll(async () => {
  await Promise.all([emu?.close(), secure?.close(), proxy?.close()]);
});

/** A clean environment for one tenant: no proxy or CA variables but those a test adds. */
async function envFor(domain: string, info: { client_id: string; audience: string }, extra: Record<string, string | undefined> = {}): Promise<NodeJS.ProcessEnv> {
  const home = await tempHome();
  return cleanEnv({
    OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience,
    HTTP_PROXY: undefined, HTTPS_PROXY: undefined, http_proxy: undefined, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined,
    NODE_EXTRA_CA_CERTS: undefined, ...extra,
  });
}
const plainEnv = (extra: Record<string, string | undefined> = {}) => envFor(emu.info().domain, emu.info(), extra);
const secureEnv = (extra: Record<string, string | undefined> = {}) => envFor(secure.domain, secure.emu.info(), extra);
const seenSince = (mark: number) => proxy.seen.slice(mark);

describe('token through a proxy', () => {
  it('HTTP_PROXY: every request to the http:// emulator goes through the proxy', async () => {
    const mark = proxy.seen.length;
    const r = await runCli(['token'], await plainEnv({ HTTP_PROXY: proxy.url }));
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim()).aud).toEqual(expect.arrayContaining([emu.info().audience]));
    const seen = seenSince(mark);
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s).toMatchObject({ hostname: '127.0.0.1', port: emu.port });
  });

  it('HTTPS_PROXY: the https:// tenant is reached through a CONNECT tunnel (the token and its JWKS check)', async () => {
    const mark = proxy.seen.length;
    const r = await runCli(['token', '--ca-file', secure.ca.caFile], await secureEnv({ HTTPS_PROXY: proxy.url }));
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim()).iss).toBe(`${secure.domain}/`);
    const seen = seenSince(mark);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toContainEqual({ kind: 'CONNECT', hostname: '127.0.0.1', port: secure.front.port });
    expect(seen.every((s) => s.kind === 'CONNECT' && s.port === secure.front.port)).toBe(true);
  });

  it('lower-case https_proxy counts too', async () => {
    const mark = proxy.seen.length;
    const r = await runCli(['token', '--ca-file', secure.ca.caFile], await secureEnv({ https_proxy: proxy.url }));
    expect(r.code, r.stderr).toBe(0);
    expect(seenSince(mark)).toContainEqual({ kind: 'CONNECT', hostname: '127.0.0.1', port: secure.front.port });
  });

  it('NO_PROXY: a host it names is reached directly, even with a proxy set', async () => {
    const mark = proxy.seen.length;
    const r = await runCli(['token'], await plainEnv({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }));
    expect(r.code, r.stderr).toBe(0);
    expect(seenSince(mark)).toEqual([]);
  });

  it('a proxy that refuses connections is said as unreachable (exit 4), the proxy credentials never shown', async () => {
    const r = await runCli(['token'], await plainEnv({ HTTP_PROXY: 'http://user:hunter2-secret@127.0.0.1:9' }));
    expect(r.code).toBe(4);
    expect(r.stderr).not.toContain('hunter2-secret');
  });
});

describe('an https tenant with a private CA', () => {
  it('without the CA: refused, naming the TLS problem and the fix (exit 4)', async () => {
    const r = await runCli(['token'], await secureEnv());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/TLS/);
    expect(r.stderr).toMatch(/certificate/);
    expect(r.stderr).toContain('--ca-file');
    expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS');
    expect(r.stdout).toBe('');
  });

  it('NODE_EXTRA_CA_CERTS in the environment', async () => {
    const r = await runCli(['token'], await secureEnv({ NODE_EXTRA_CA_CERTS: secure.ca.caFile }));
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim()).iss).toBe(`${secure.domain}/`);
  });

  it('--ca-file', async () => {
    const r = await runCli(['token', '--ca-file', secure.ca.caFile], await secureEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim()).iss).toBe(`${secure.domain}/`);
  });

  it('OMNI_AUTH_CA_FILE', async () => {
    const r = await runCli(['token'], await secureEnv({ OMNI_AUTH_CA_FILE: secure.ca.caFile }));
    expect(r.code, r.stderr).toBe(0);
  });

  it('a CA file that is not PEM is a usage error naming it (exit 2), not a TLS failure', async () => {
    const bad = join(secure.ca.dir, 'not-a-ca.txt');
    writeFileSync(bad, 'hello\n');
    const r = await runCli(['token', '--ca-file', bad], await secureEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain('--ca-file');
  });

  it('a CA file that does not exist is a usage error naming it and where it was given', async () => {
    const r = await runCli(['token'], await secureEnv({ OMNI_AUTH_CA_FILE: join(secure.ca.dir, 'missing.pem') }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.pem');
    expect(r.stderr).toContain('OMNI_AUTH_CA_FILE');
  });
});

describe('doctor reports the network', () => {
  it('the proxy (credentials hidden) and the CA files in use', async () => {
    const env = await plainEnv({ HTTPS_PROXY: 'http://user:hunter2-secret@proxy.example:3128', NO_PROXY: '127.0.0.1' });
    const r = await runCli(['doctor', '--json', '--ca-file', secure.ca.caFile], env);
    const report = JSON.parse(r.stdout) as { network: string };
    expect(report.network).toContain('https via http://proxy.example:3128');
    expect(report.network).toContain('NO_PROXY: 127.0.0.1');
    expect(report.network).toContain(`${secure.ca.caFile} (--ca-file)`);
    expect(r.stdout + r.stderr).not.toContain('hunter2-secret');
  });

  it('direct and the system roots when nothing is set (human output)', async () => {
    const r = await runCli(['doctor'], await plainEnv());
    expect(r.stderr).toMatch(/network\s+proxy: none \(direct\); CA: system roots/);
  });
});
