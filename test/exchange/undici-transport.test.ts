/**
 * The production transport (undici) against a real HTTP server on 127.0.0.1: msw cannot intercept
 * undici's own sockets, so these failures are made by a real server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../src/exchange/errors.js';
import { exchangeToken } from '../../src/exchange/exchange.js';
import { postForm, type HttpOptions } from '../../src/exchange/http.js';
import { OmniAuthError } from '../../src/util/errors.js';
import { fakeTime, subjectTokenMinter, tokenBody } from './helpers.js';

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const routes = new Map<string, Route>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => routes.get(req.url ?? '')?.(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const opts: HttpOptions = { connectTimeoutMs: 1_000, totalTimeoutMs: 3_000 };

async function failure(promise: Promise<unknown>): Promise<OmniAuthError> {
  const e = await promise.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(OmniAuthError);
  return e as OmniAuthError;
}

describe('undiciTransport through postForm', () => {
  it('sends the form and reads status, lower-case headers and JSON', async () => {
    let seen: { type?: string; body?: string } = {};
    routes.set('/ok', (req, res, body) => {
      seen = { type: req.headers['content-type'], body };
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-RateLimit-Remaining': '9' }).end('{"a":1}');
    });
    const r = await postForm(new URL(`${base}/ok`), { x: 'y z' }, opts);
    expect(r).toEqual({ status: 201, headers: expect.objectContaining({ 'x-ratelimit-remaining': '9' }), body: { a: 1 } });
    expect(seen).toEqual({ type: 'application/x-www-form-urlencoded', body: 'x=y+z' });
  });

  it('a body cut short (Content-Length not reached) is a transient "reset"', async () => {
    routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
      res.write('{"access_token":"eyJ');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const e = await failure(postForm(new URL(`${base}/cut`), {}, opts));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.code).toBe('tenant_unreachable');
    expect(e.details).toEqual({ reason: 'reset' });
    expect(e.message).toContain(`127.0.0.1:${new URL(base).port}`);
    expect(e.message).not.toContain('eyJ');
  });

  it('a connection closed without an answer is a transient "reset"', async () => {
    routes.set('/drop', (req) => req.socket.destroy());
    const e = await failure(postForm(new URL(`${base}/drop`), {}, opts));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.details).toEqual({ reason: 'reset' });
  });

  it('a refused connection is a transient "refused" naming the host', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const e = await failure(postForm(new URL(`http://127.0.0.1:${port}/`), {}, opts));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.details).toEqual({ reason: 'refused' });
    expect(e.message).toBe(`could not reach 127.0.0.1:${port}: the connection was refused (ECONNREFUSED)`);
  });

  it('a TLS handshake that never completes hits the connect timeout (not the total one), redirects are answers', async () => {
    // A TCP server that accepts and stays silent: the TLS set-up never ends. (undici's default connect
    // timeout, 10 s, would end it as the total timeout instead.)
    const accepted: Socket[] = [];
    const silent = createNetServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const e = await failure(postForm(new URL(`https://127.0.0.1:${port}/`), {}, { connectTimeoutMs: 200, totalTimeoutMs: 5_000 }));
      expect(e).toBeInstanceOf(TransientError);
      expect(e.details).toEqual({ reason: 'connect_timeout' });
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
    routes.set('/moved', (_req, res) => {
      res.writeHead(302, { Location: `${base}/elsewhere`, 'Content-Type': 'application/json' });
      res.end('{"error":"moved"}');
    });
    routes.set('/elsewhere', (_req, res) => res.end('{"followed":true}'));
    const r = await postForm(new URL(`${base}/moved`), {}, opts);
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`${base}/elsewhere`);
    expect(r.body).toEqual({ error: 'moved' });
  });

  it('a body that stalls hits the total timeout', async () => {
    routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"access_token":');
    });
    const e = await failure(postForm(new URL(`${base}/stall`), {}, { ...opts, totalTimeoutMs: 200 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.details).toEqual({ reason: 'timeout' });
  });

  it('exchangeToken over real sockets: a cut answer, then a new subject token and success', async () => {
    const subjectTokens: string[] = [];
    routes.set('/oauth/token', (_req, res, body) => {
      subjectTokens.push(new URLSearchParams(body).get('subject_token')!);
      if (subjectTokens.length === 1) {
        res.writeHead(200, { 'Content-Length': '500' }).write('{"acc');
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(tokenBody()));
    });
    const time = fakeTime();
    const minter = subjectTokenMinter();
    const response = await exchangeToken({
      domain: base, clientId: 'c', audience: 'https://api', scope: 'openid', subjectTokenType: 'urn:omnispindle:local-auth',
      mintSubjectToken: minter.mint, retry: time,
    });
    expect(response.token_type).toBe('Bearer');
    expect(subjectTokens).toEqual(minter.minted);
    expect(new Set(subjectTokens).size).toBe(2);
    expect(time.sleeps).toHaveLength(1);
  });
});
