/**
 * A corporate network on loopback (issue 11 §4): a private CA made with the `openssl` CLI, an https
 * front that terminates TLS with a certificate of that CA and pipes to the emulator's http port, and a
 * real forward proxy (`proxy-chain`) that records what it was asked to reach.
 *
 * The emulator is not modified: for the https front, the tenant is started unprovisioned, its
 * `domain`/`issuer` are set to the front's origin, and it is provisioned after that (so the Action's
 * ISSUER secret and the tokens' `iss` name `https://127.0.0.1:PORT/`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as ProxyServer } from 'proxy-chain';
import { startEmulator, type Emulator, type EmulatorSettings } from '../../src/emulator/index.js';
import { loadActionSource } from '../../src/emulator/action-source.js';
import { provisionTenant } from '../../src/emulator/provision.js';

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM file): what --ca-file / NODE_EXTRA_CA_CERTS name. */
  caFile: string;
  /** The server's key and certificate (127.0.0.1 and localhost), signed by the CA. */
  key: string;
  cert: string;
}

/** A fresh private CA and a server certificate for 127.0.0.1 / localhost, valid one day. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'omni-ca-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '1', '-subj', '/CN=omni-auth test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
  };
}

export interface TlsFront {
  port: number;
  origin: string;
  close(): Promise<void>;
}

/** https://127.0.0.1:PORT → http://127.0.0.1:target (the Host header rewritten to the emulator's own). */
export async function startTlsFront(targetPort: number, ca: TestCa): Promise<TlsFront> {
  const server: HttpsServer = createHttpsServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    const up = httpRequest({
      host: '127.0.0.1', port: targetPort, method: req.method, path: req.url,
      headers: { ...req.headers, host: `127.0.0.1:${targetPort}` },
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // A client refusing our certificate aborts the handshake: not an error of the front.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface HttpsEmulator {
  emu: Emulator;
  front: TlsFront;
  ca: TestCa;
  /** What --domain / OMNI_AUTH_DOMAIN is: the https front's origin. */
  domain: string;
  close(): Promise<void>;
}

/** The emulator behind the https front, its tenant named by the front's https:// origin. */
export async function startHttpsEmulator(settings: Partial<EmulatorSettings> = { exchangeRatePerSecond: 1000 }): Promise<HttpsEmulator> {
  const ca = makeTestCa();
  const emu = await startEmulator({ settings });
  const front = await startTlsFront(emu.port, ca);
  emu.tenant.domain = front.origin;
  emu.tenant.issuer = `${front.origin}/`;
  await provisionTenant(emu.tenant, await loadActionSource());
  return {
    emu, front, ca, domain: front.origin,
    close: async () => {
      await front.close();
      await emu.close();
    },
  };
}

export interface SeenRequest {
  /** CONNECT (a tunnel, for https:// and for undici's tunnelled http://) or a forwarded http request. */
  kind: 'CONNECT' | 'http';
  hostname: string;
  port: number;
}

export interface TestProxy {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** A real forward proxy on loopback that records every target it was asked for. */
export async function startProxy(): Promise<TestProxy> {
  const seen: SeenRequest[] = [];
  const server = new ProxyServer({
    port: 0,
    host: '127.0.0.1',
    prepareRequestFunction: ({ request, hostname, port, isHttp }) => {
      seen.push({ kind: !isHttp || request.method === 'CONNECT' ? 'CONNECT' : 'http', hostname, port });
      return {};
    },
  });
  await server.listen();
  return { url: `http://127.0.0.1:${server.port}`, seen, close: () => server.close(true) };
}
