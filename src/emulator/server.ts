/**
 * The emulator's HTTP server: loopback only, body parsing, routing to the route handlers (control,
 * Authentication API, Management API), the request statistics and the X-RateLimit-* headers every
 * Auth0 response carries.
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OmniAuthError, UsageError } from '../util/errors.js';
import { loadActionSource } from './action-source.js';
import { GENERAL_RATE_LIMIT_PER_SECOND, MAX_BODY_BYTES } from './behaviour.js';
import { readBody, type BodyProblem } from './body.js';
import { controlHandler } from './control.js';
import { THROTTLE_STAGE } from './exchange.js';
import type { EmulatorReply, EmulatorRequest, Handler } from './http-types.js';
import { managementHandler } from './management.js';
import { oauthHandler } from './oauth.js';
import { authorizeHandler } from './signin/authorize.js';
import { deviceHandler } from './signin/device.js';
import { provisionCi, provisionTenant, type IdentityPolicy } from './provision.js';
import { createCiIssuer } from './ci-issuer.js';
import { CI_ACTION_FILE, readCiActionSource } from '../tenant/ci-policy.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createUser } from './management/users.js';
import { ManagementError } from './management/errors.js';
import { FixedWindow, rateLimitHeaders, TokenBucket } from './ratelimit.js';
import { DEFAULT_CONNECTION, createTenant, type EmulatorSettings, type Tenant } from './state.js';
import { IpThrottle } from './throttle.js';
import { createSigningKey } from './tokens.js';

export interface EmulatorOptions {
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Deploy the project's Action and configure the tenant for it (provision.ts). */
  provisioned?: boolean;
  /** The seeded API's identifier (default: state.ts DEFAULT_AUDIENCE). */
  audience?: string;
  settings?: Partial<EmulatorSettings>;
  /** Where custom_token_exchange.js and package.json are (default: the package's auth0-actions/). */
  actionDir?: string;
  /** With `provisioned`: the Action's IDENTITY secret (default `both`). */
  identity?: IdentityPolicy;
  /**
   * People to create at start in `Username-Password-Authentication` (email verified, password
   * hashed), who can then sign in on /authorize; the connection is enabled for the CLI client
   * only when provisioned.
   */
  users?: readonly { email: string; password: string; name?: string }[];
}

/** What `omni-auth emulator` prints: everything a client needs to use the tenant. */
export interface EmulatorInfo {
  domain: string;
  issuer: string;
  client_id: string;
  audience: string;
  connection: string;
  management: { client_id: string; client_secret: string };
  /** The Bearer token the emulator's own `/__emulator/*` endpoints require (random per start). */
  control_token: string;
  /** The Action's IDENTITY secret, when provisioned. */
  identity?: IdentityPolicy;
  /**
   * The stand-in CI OIDC issuer (issue 14 §1, ci-issuer.ts): `request_url` and `request_token` play
   * GitHub's ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN; `user` is the demo
   * service user the provisioned policy names.
   */
  ci: { issuer: string; request_url: string; request_token: string; user?: string };
}

export interface Emulator {
  domain: string;
  issuer: string;
  port: number;
  tenant: Tenant;
  info(): EmulatorInfo;
  close(): Promise<void>;
}

const STATS_ROUTE = 'GET /__emulator/stats';
const isManagementPath = (path: string): boolean => path.startsWith('/api/v2/') || path === '/api/v2';

/** An error in the style of the API called: Management API `{statusCode, error, message}`, else OAuth. */
function errorReply(path: string, status: number, error: string, message: string, errorCode?: string): EmulatorReply {
  if (isManagementPath(path)) {
    const phrase = STATUS_CODES[status] ?? 'Error';
    return { status, body: { statusCode: status, error: phrase, message, ...(errorCode ? { errorCode } : {}) } };
  }
  return { status, body: { error, error_description: message } };
}

const BODY_STATUS: Record<BodyProblem, number> = {
  'too-large': 413, 'malformed-json': 400, 'duplicate-parameter': 400, 'unsupported-media-type': 415,
};

function send(res: ServerResponse, reply: EmulatorReply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.html !== undefined) {
    res.statusCode = reply.status;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(reply.html));
    res.end(reply.html);
    return;
  }
  if (reply.body === undefined) {
    res.statusCode = reply.status;
    res.end();
    return;
  }
  const json = JSON.stringify(reply.body);
  res.statusCode = reply.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}

const hasRateLimitHeaders = (reply: EmulatorReply): boolean =>
  Object.keys(reply.headers ?? {}).some((h) => h.toLowerCase() === 'x-ratelimit-limit');

interface Routing {
  tenant: Tenant;
  handlers: Handler[];
  generalWindow: FixedWindow;
  /** The `Host` values this server answers to (lowercase `host:port`); see hostsFor. */
  hosts: ReadonlySet<string>;
}

/**
 * The loopback names a client may use for this server. Any other `Host` (a DNS-rebinding page's
 * own name, above all) is refused on every route, before the request is read or counted.
 */
function hostsFor(port: number): ReadonlySet<string> {
  const names = ['127.0.0.1', 'localhost'];
  const hosts = names.map((n) => `${n}:${port}`);
  if (port === 80) hosts.push(...names);
  return new Set(hosts);
}

const HOST_REFUSED = 'The Host header does not name this emulator (127.0.0.1 or localhost with its port).';

async function route(routing: Routing, req: IncomingMessage): Promise<EmulatorReply> {
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const key = `${method} ${path}`;
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || !routing.hosts.has(host)) {
    req.resume();
    return errorReply(path, 403, 'access_denied', HOST_REFUSED);
  }
  const { stats } = routing.tenant;
  if (key !== STATS_ROUTE) stats.requests[key] = (stats.requests[key] ?? 0) + 1;

  let reply: EmulatorReply | undefined;
  const body = await readBody(req, MAX_BODY_BYTES);
  if (!body.ok) {
    reply = errorReply(path, BODY_STATUS[body.problem], 'invalid_request', body.message, body.problem === 'malformed-json' ? 'invalid_body' : undefined);
  } else {
    const request: EmulatorRequest = {
      method, path, query: url.searchParams, headers: req.headers, body: body.body, ip: req.socket.remoteAddress ?? '',
    };
    try {
      for (const handler of routing.handlers) {
        reply = await handler(request);
        if (reply) break;
      }
      reply ??= { status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Not Found' } };
    } catch (e) {
      // Names only: an exception message is not shown to the caller and never holds request data.
      const err = e instanceof Error ? e : new Error(String(e));
      process.stderr.write(`omni-auth emulator: ${key} failed: ${err.name}: ${err.message}\n`);
      reply = errorReply(path, 500, 'server_error', 'Internal error');
    }
  }
  if (!hasRateLimitHeaders(reply)) {
    reply = { ...reply, headers: { ...reply.headers, ...rateLimitHeaders(routing.generalWindow.take(GENERAL_RATE_LIMIT_PER_SECOND)) } };
  }
  return reply;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      if (e.code === 'EADDRINUSE') {
        reject(new UsageError('emulator.portInUse', `port ${port} on 127.0.0.1 is already in use`, {
          hint: 'choose another --port, or leave it out to use a free port',
        }));
      } else {
        reject(new OmniAuthError('emulator.listenFailed', `could not listen on 127.0.0.1:${port} (${e.code ?? e.message})`, { cause: e }));
      }
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets would hold close() open until they time out.
    server.closeAllConnections();
  });
}

async function createStartUser(tenant: Tenant, person: { email: string; password: string; name?: string }): Promise<void> {
  try {
    await createUser(tenant, {
      connection: DEFAULT_CONNECTION, email: person.email, password: person.password, email_verified: true,
      ...(person.name !== undefined ? { name: person.name } : {}),
    });
  } catch (e) {
    if (!(e instanceof ManagementError)) throw e;
    throw new UsageError('emulator.badUser', `could not create the user ${person.email}: ${e.message}`, {
      hint: 'give each --user as email:password, each email once',
    });
  }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const signingKey = await createSigningKey();
  let routing: Routing | undefined;
  const server = createServer((req, res) => {
    if (!routing) {
      send(res, errorReply('', 503, 'temporarily_unavailable', 'The emulator is starting.'));
      return;
    }
    route(routing, req).then(
      (reply) => send(res, reply),
      () => res.destroy(),
    );
  });
  const port = await listen(server, options.port ?? 0);
  const tenant = createTenant(`http://127.0.0.1:${port}`, signingKey, {
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(options.settings !== undefined ? { settings: options.settings } : {}),
  });
  const throttle = new IpThrottle(THROTTLE_STAGE);
  const exchangeWindow = new TokenBucket();
  const controlToken = randomBytes(32).toString('base64url');
  const ci = await createCiIssuer(tenant.domain);
  routing = {
    tenant,
    generalWindow: new FixedWindow(),
    hosts: hostsFor(port),
    handlers: [
      controlHandler({ tenant, throttle, exchangeWindow, controlToken }),
      deviceHandler(tenant),
      oauthHandler({ tenant, throttle, exchangeWindow }),
      authorizeHandler(tenant),
      ci.handler,
      managementHandler(tenant),
    ],
  };
  try {
    if (options.provisioned) {
      await provisionTenant(tenant, await loadActionSource(options.actionDir), options.identity ? { identity: options.identity } : {});
      // A test's own actionDir may hold only the machine Action: the CI Action then comes from the package.
      const ciDir = options.actionDir !== undefined && existsSync(join(options.actionDir, CI_ACTION_FILE)) ? options.actionDir : undefined;
      await provisionCi(tenant, await readCiActionSource(ciDir), ci.issuer);
    }
    for (const person of options.users ?? []) await createStartUser(tenant, person);
  } catch (e) {
    await closeServer(server);
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    domain: tenant.domain,
    issuer: tenant.issuer,
    port,
    tenant,
    info: () => ({
      domain: tenant.domain,
      issuer: tenant.issuer,
      client_id: tenant.seed.cliClientId,
      audience: tenant.seed.audience,
      connection: tenant.seed.connection,
      management: { client_id: tenant.seed.managementClientId, client_secret: tenant.seed.managementClientSecret },
      control_token: controlToken,
      ...(tenant.seed.identity !== undefined ? { identity: tenant.seed.identity } : {}),
      ci: {
        issuer: ci.issuer, request_url: ci.requestUrl, request_token: ci.requestToken,
        ...(tenant.seed.ciUser !== undefined ? { user: tenant.seed.ciUser } : {}),
      },
    }),
    close: () => (closing ??= closeServer(server)),
  };
}
