/**
 * The one seam between omni-auth and the network: a function that sends one request (a POST unless
 * `method` says otherwise) and returns the whole answer. The real one is undici
 * (`undici-transport.ts`); tests pass one built on the global `fetch`, which msw intercepts (msw 2
 * does not intercept the npm `undici` package's `request` or `fetch`: they open their own sockets).
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface TransportRequest {
  /** Default POST (the Authentication API's only method). */
  method?: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  /** Absent for GET and DELETE. */
  body?: string;
  /** Limit for TCP + TLS set-up. */
  connectTimeoutMs: number;
  /** Aborts the request and the body read: the caller's signal combined with the total timeout. */
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  bodyText: string;
}

/**
 * Resolves only with a complete answer. Rejects with whatever the underlying client threw (a
 * connection reset, a refused connection, a body cut short, the signal's reason): `http.ts` turns
 * those into typed errors, so a transport stays a few lines long.
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;
