/**
 * One request to the tenant, with the safety rules that apply to every call: https:// only (http:// to
 * loopback), a connect timeout and a total timeout, failures turned into typed errors naming the host,
 * and the body parsed as JSON. The network itself is behind `Transport` (undici unless told otherwise).
 */
import { badResponseError, unreachableError, type NetworkReason } from './errors.js';
import { OmniAuthError } from '../util/errors.js';
import { assertSecureUrl } from './secure-url.js';
import type { HttpMethod, Transport } from './transport.js';
import { undiciTransport } from './undici-transport.js';

export interface HttpOptions {
  connectTimeoutMs: number;
  /** For the whole request, body included. */
  totalTimeoutMs: number;
  /** The caller's cancellation; its reason is rethrown as is. */
  signal?: AbortSignal;
  transport?: Transport;
  /** Extra request headers (e.g. a Management API `authorization`); never part of an error. */
  headers?: Record<string, string>;
}

export const DEFAULT_TIMEOUTS = { connectTimeoutMs: 5_000, totalTimeoutMs: 15_000 } as const;

/**
 * Auth0 ends a flow's Actions after 20 seconds ("Actions Limitations"): until then the tenant may
 * still be preparing the answer to a token request it has accepted.
 */
export const AUTH0_ACTION_LIMIT_MS = 20_000;

/**
 * The per-attempt total timeout of a call to /oauth/token (exchange, refresh, client credentials):
 * longer than Auth0 may legitimately take. Giving up on a request the tenant is still answering does
 * not stop it — the token is issued all the same, and the request has spent one of the tenant's
 * rate-limited exchanges — so retrying after a shorter timeout spends two for one token (issue 14 §2:
 * a herd on a loaded tenant made 219 exchanges for 200 identities with 15 s). The connect timeout
 * stays short: until a connection is made no request has reached the tenant.
 */
export const TOKEN_REQUEST_TIMEOUT_MS = AUTH0_ACTION_LIMIT_MS + 10_000;

export interface HttpResult {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The parsed JSON body; undefined when empty, or when a non-2xx body is not JSON (the status says enough). */
  body: unknown;
}

/** POSTs `application/x-www-form-urlencoded` (the token endpoint's format); undefined fields are left out. */
export function postForm(url: URL, fields: Record<string, string | undefined>, options: HttpOptions): Promise<HttpResult> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) form.set(name, value);
  }
  return send('POST', url, { type: 'application/x-www-form-urlencoded', text: form.toString() }, options);
}

/** POSTs JSON (the revocation endpoint's documented format); undefined members are left out. */
export function postJson(url: URL, value: Record<string, unknown>, options: HttpOptions): Promise<HttpResult> {
  return requestJson('POST', url, value, options);
}

/** GETs a JSON document (discovery, JWKS, the Management API). */
export function getJson(url: URL, options: HttpOptions): Promise<HttpResult> {
  return send('GET', url, undefined, options);
}

/** Any method with an optional JSON body (a Management API array or object). */
export function requestJson(method: HttpMethod, url: URL, value: unknown, options: HttpOptions): Promise<HttpResult> {
  return send(method, url, value === undefined ? undefined : { type: 'application/json', text: JSON.stringify(value) }, options);
}

async function send(method: HttpMethod, url: URL, body: { type: string; text: string } | undefined, options: HttpOptions): Promise<HttpResult> {
  assertSecureUrl(url);
  // Whole milliseconds (what is left of a retry budget need not be): AbortSignal.timeout takes no fraction.
  const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(options.totalTimeoutMs)));
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const transport = options.transport ?? undiciTransport;
  let response;
  try {
    response = await transport({
      method,
      url,
      headers: {
        ...options.headers,
        ...(body ? { 'content-type': body.type } : {}),
        accept: 'application/json',
        'user-agent': 'omni-auth',
      },
      ...(body ? { body: body.text } : {}),
      connectTimeoutMs: options.connectTimeoutMs,
      signal,
    });
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason;
    // Our own refusal before any byte was sent (a CA file that cannot be read): said as it is.
    if (e instanceof OmniAuthError) throw e;
    const code = systemCodeOf(e);
    throw unreachableError(url.host, timeout.aborted ? 'timeout' : reasonOf(code), e, code);
  }
  return { status: response.status, headers: response.headers, body: parseBody(url.host, response.status, response.bodyText) };
}

function parseBody(host: string, status: number, text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // A success we cannot read is a fault on the way (a cut body, a proxy's page): worth another
    // attempt. An error status is classified by the status alone.
    if (status >= 200 && status < 300) throw badResponseError(host, `HTTP ${status} with a body that is not JSON (${text.length} bytes)`, true);
    return undefined;
  }
}

/** Node and undici put the system code on the error; fetch wraps it in `cause`. */
function systemCodeOf(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = err?.code ?? err?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

function reasonOf(code: string | undefined): NetworkReason {
  if (code === undefined) return 'network';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'connect_timeout';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (RESET_CODES.has(code)) return 'reset';
  if (code === 'ENOTFOUND') return 'dns';
  // Node's certificate codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN, …) and TLS errors.
  if (/CERT|TLS|SSL|SIGNATURE|ISSUER/.test(code)) return 'tls';
  return 'network';
}
