/**
 * One browser sign-in, top to bottom: discover the tenant, listen on the loopback callback, print the
 * URL (always) and open the browser (unless told not to), wait — bounded — for the callback or a
 * pasted address, check it, redeem the code and verify the ID token. The caller (broker) chose the
 * nonce (it binds the machine key) and stores what comes back.
 */
import type { Readable } from 'node:stream';
import type { Secret } from '../util/secret.js';
import { openBrowser as systemBrowser } from './browser.js';
import { browserUnavailable, signinTimeout } from './errors.js';
import { listenLoopback, type Loopback } from './loopback.js';
import { parsePasted, readPastedLine } from './paste.js';
import { authorizationRequest, checkCallback, discover, redeem, type SignInTokens } from './protocol.js';

export type { SignInTokens } from './protocol.js';

export const DEFAULT_CALLBACK_PORT = 8765;
export const DEFAULT_TIMEOUT_SECONDS = 300;

export interface SignInOptions {
  issuer: string;
  clientId: string;
  clientSecret?: Secret;
  audience: string;
  /** Space-separated; `openid` is added when missing (the ID token is the point). */
  scope: string;
  /** Derived from the machine key (src/identity/binding.ts). */
  nonce: string;
  /** Loopback callback port (the redirect URI's). */
  port: number;
  timeoutSeconds: number;
  /**
   * `browser`: open the browser and wait on the loopback callback; when the browser cannot open and
   * `input` is given (a terminal), a pasted address is accepted too. `paste`: no browser, no listener:
   * read the address (or code) from `input`.
   */
  mode: 'browser' | 'paste';
  input?: Readable;
  /** Lines for the person (stderr). Never given a secret. */
  say: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /**
   * When no browser starts and nothing can be pasted: fail at once (`exec` under an MCP client, where
   * nobody reads the URL) instead of waiting for someone to open the URL by hand.
   */
  failWithoutBrowser?: boolean;
  /** Replaces the system browser (tests). Resolves to whether a browser started. */
  openBrowser?: (url: string) => Promise<boolean>;
}

export async function signIn(o: SignInOptions): Promise<SignInTokens> {
  const tenant = { issuer: o.issuer, clientId: o.clientId, ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}) };
  const discovered = await discover(tenant);
  const scope = /(^|\s)openid(\s|$)/.test(o.scope) ? o.scope : `openid ${o.scope}`.trim();
  const redirectUri = `http://127.0.0.1:${o.port}/callback`;

  let loopback: Loopback | undefined;
  if (o.mode === 'browser') loopback = await listenLoopback(o.port);
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    const req = await authorizationRequest(discovered, tenant, { redirectUri: loopback?.redirectUri ?? redirectUri, scope, audience: o.audience, nonce: o.nonce });
    const waits: Promise<URLSearchParams>[] = [];
    if (loopback) {
      // The browser is told at once whether its callback was good: state and error= are checked here.
      waits.push(loopback.next((params) => {
        try {
          checkCallback(discovered, tenant, req, params);
          return undefined;
        } catch (e) {
          return { failure: e as Error, page: (e as Error).message };
        }
      }));
    }
    o.say(`Sign in to ${discovered.host} in your browser:`);
    o.say(`  ${req.url.href}`);
    let opened = false;
    if (o.mode === 'browser') {
      opened = await (o.openBrowser ?? ((url: string) => systemBrowser(url, o.env)))(req.url.href);
      if (!opened && o.failWithoutBrowser && !o.input) throw browserUnavailable();
      o.say(opened ? `Waiting for the sign-in (up to ${o.timeoutSeconds} s)…` : 'Could not open a browser: open the address above yourself.');
    }
    if (o.input && (o.mode === 'paste' || !opened)) {
      o.say(o.mode === 'paste'
        ? 'After signing in, the browser ends on a page that does not load (http://127.0.0.1:…/callback?code=…): paste its whole address here and press Enter:'
        : 'If the browser is on another machine, paste here the address it ends on (http://127.0.0.1:…/callback?code=…) and press Enter:');
      waits.push(readPastedLine(o.input, abort.signal).then((line) => parsePasted(line ?? '', req.state)));
    }
    waits.push(new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(signinTimeout(o.timeoutSeconds)), o.timeoutSeconds * 1000);
    }));
    // The losers of the race settle later (or never); their rejections are not errors of this sign-in.
    for (const w of waits) w.catch(() => undefined);
    const params = checkCallback(discovered, tenant, req, await Promise.race(waits));
    return await redeem(discovered, tenant, req, params);
  } finally {
    clearTimeout(timer);
    abort.abort();
    await loopback?.close();
  }
}
