/**
 * Issue 14 §2: an answer the tenant is still preparing is waited for. Auth0 ends a flow's Actions
 * after 20 s ("Actions Limitations"), so a token request it has accepted may take that long; a client
 * that gives up sooner and asks again has spent two of the tenant's rate-limited exchanges for one
 * token (the first is issued all the same). Real sockets (undici against node:http on 127.0.0.1) and
 * real time: the server holds its answer past the old 15 s per-attempt timeout. The assertions are
 * counts, not durations.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeToken } from '../../src/exchange/exchange.js';
import { AUTH0_ACTION_LIMIT_MS, TOKEN_REQUEST_TIMEOUT_MS } from '../../src/exchange/http.js';
import { fakeTime, subjectTokenMinter, tokenBody } from './helpers.js';

/** Longer than the old per-attempt timeout (15 s), shorter than Auth0's Action limit (20 s). */
const HOLD_MS = 16_000;

let server: Server;
let base: string;
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('subject_token') ?? '');
      // Every request is answered, late: as Auth0 answers one whose Action runs for HOLD_MS.
      setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(tokenBody())), HOLD_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('a token request the tenant is slow to answer', () => {
  it('the per-attempt timeout of a token request outlasts Auth0\'s 20 s Action limit', () => {
    expect(AUTH0_ACTION_LIMIT_MS).toBe(20_000);
    expect(TOKEN_REQUEST_TIMEOUT_MS).toBeGreaterThan(AUTH0_ACTION_LIMIT_MS);
  });

  it('an answer after 16 s is taken: one request, one token, no second exchange', async () => {
    const minter = subjectTokenMinter();
    // Sleeps and the budget on a fake clock (the retry loop); the answer's delay is real.
    const time = fakeTime();
    const response = await exchangeToken({
      domain: base, clientId: 'c', audience: 'https://api', scope: 'openid', subjectTokenType: 'urn:omnispindle:local-auth',
      mintSubjectToken: minter.mint, retry: time,
    });
    expect(response.token_type).toBe('Bearer');
    expect(received).toEqual(minter.minted);
    expect(received).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  }, HOLD_MS + 30_000);
});
