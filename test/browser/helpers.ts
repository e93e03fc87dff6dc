/**
 * The real-browser harness: Debian's headless Chromium (`/usr/bin/chromium`, which `.ci/run`
 * installs when missing) driven by playwright-core — no browser download, nothing from the network.
 * Each launch gets a fresh profile directory (`--user-data-dir`), removed on close, so no cookie,
 * session or cache leaks from one test to the next. See test/browser/README.md.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The browser: OMNI_AUTH_CHROMIUM, else Debian's chromium package. */
export const CHROMIUM = process.env.OMNI_AUTH_CHROMIUM?.trim() || '/usr/bin/chromium';

/**
 * Flags for a quiet, deterministic headless run on a CI machine: no sandbox (CI runs as root, where
 * Chromium's sandbox refuses to start), no GPU, no QUIC, and none of the background traffic a fresh
 * profile would make (first-run pages, component and safe-browsing updates, sync).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/**
 * Whether the browser tests can run. When the browser is missing they are skipped — unless
 * OMNI_AUTH_REQUIRE_BROWSER=1 (`.ci/run` sets it), where a missing browser is a failure, not a skip.
 */
export function browserAvailable(path: string = CHROMIUM, env: NodeJS.ProcessEnv = process.env): boolean {
  if (existsSync(path)) return true;
  if (env.OMNI_AUTH_REQUIRE_BROWSER === '1') {
    throw new Error(`${path} is missing and OMNI_AUTH_REQUIRE_BROWSER=1: install Debian's chromium (apt-get install -y chromium), or set OMNI_AUTH_CHROMIUM`);
  }
  return false;
}

export interface Browser {
  context: BrowserContext;
  /** A new tab. */
  page: () => Promise<Page>;
  /** Closes the browser and deletes its profile directory. */
  close: () => Promise<void>;
}

/** Launches headless Chromium with a fresh profile. Always `close()` it (afterEach / finally). */
export async function launchBrowser(options: { timeoutMs?: number } = {}): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'omni-auth-chromium-'));
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes a profile directory of ours (it refuses
    // --user-data-dir in `args`); the directory is new and empty, so the profile is fresh.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      chromiumSandbox: false,
      timeout: options.timeoutMs ?? 30_000,
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  context.setDefaultTimeout(options.timeoutMs ?? 30_000);
  return {
    context,
    page: () => context.newPage(),
    close: async () => {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A request a loopback server received (method, URL, headers), with its urlencoded form body parsed. */
export interface Received {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  port: number;
  received: Received[];
  close: () => Promise<void>;
}

/**
 * A tiny HTTP server on 127.0.0.1 (an ephemeral port unless `port` is given) answering with
 * `handle`; every request is recorded (method, URL, headers, urlencoded form body).
 */
export async function loopbackServer(
  handle: (req: Received, res: ServerResponse, raw: IncomingMessage) => void,
  options: { port?: number } = {},
): Promise<LoopbackServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      };
      received.push(r);
      handle(r, res, req);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** HTML-escapes text for a page. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
