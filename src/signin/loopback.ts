/**
 * The loopback callback of the sign-in (RFC 8252 §7.3): an HTTP server on 127.0.0.1:<port> that waits
 * for `GET /callback?…`, answers the browser with a page that says the person can close the tab, and
 * hands the parameters to the caller. Only the callback path counts; anything else is a 404.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { portInUse } from './errors.js';

export const CALLBACK_PATH = '/callback';

export interface Loopback {
  /** `http://127.0.0.1:<port>/callback`. */
  redirectUri: string;
  port: number;
  /**
   * The first callback's parameters. `check` decides what the browser is told: a string is an error
   * shown on the page (and the wait rejects with `failure`), undefined is success.
   */
  next(check: (params: URLSearchParams) => { failure?: Error; page?: string } | undefined): Promise<URLSearchParams>;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: any free port). A taken port is an error naming it. */
export async function listenLoopback(port: number): Promise<Loopback> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH || !handler) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' || e.code === 'EACCES' ? portInUse(port) : e));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    redirectUri: `http://127.0.0.1:${bound}${CALLBACK_PATH}`,
    next(check) {
      return new Promise<URLSearchParams>((resolve, reject) => {
        handler = (req, res) => {
          const params = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
          const verdict = check(params);
          const ok = !verdict?.failure;
          res.writeHead(ok ? 200 : 400, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            // The page's address holds the code: keep it out of any Referer.
            'referrer-policy': 'no-referrer',
            connection: 'close',
          }).end(page(ok, verdict?.page));
          handler = undefined;
          if (ok) resolve(params);
          else reject(verdict!.failure);
        };
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(ok: boolean, text: string | undefined): string {
  const title = ok ? 'Signed in to omni-auth' : 'omni-auth sign-in failed';
  const body = ok
    ? 'You are signed in. You can close this tab and return to the terminal.'
    : `The sign-in did not complete: ${escapeHtml(text ?? 'unknown error')}. You can close this tab; the terminal says what to do next.`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto"><h1>${title}</h1><p>${body}</p></body></html>\n`;
}
