/**
 * The emulator's own control endpoints (not Auth0's), for tests and demos; see docs/emulator.md.
 * Every `/__emulator/*` request needs `Authorization: Bearer <control_token>` (the random token in
 * the emulator's JSON line and `info()`); a request with an `Origin` of another site is refused, and
 * a body must be JSON — so no web page can drive a running emulator (issue 9 §11).
 *   GET  /__emulator/stats           → {requests: {"<METHOD> <path>": n}, exchanges: {ok, failed}, mails, logins: {ok, failed}}
 *   POST /__emulator/fail-next-build {message}  → 204; the next Action build fails with `message`
 *   POST /__emulator/settings        {…EmulatorSettings} → 200 with the settings now in force
 *   POST /__emulator/reset-throttle  → 204; forgets Suspicious IP Throttling and the rate window
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EmulatorReply, EmulatorRequest, Handler } from './http-types.js';
import { PLANS, PLAN_NAMES, type Plan, type TokenBucket } from './ratelimit.js';
import type { EmulatorSettings, Tenant } from './state.js';
import type { IpThrottle } from './throttle.js';

export interface ControlContext {
  tenant: Tenant;
  throttle: IpThrottle;
  exchangeWindow: TokenBucket;
  /** The secret every control request must carry as a Bearer token. */
  controlToken: string;
}

export const CONTROL_PREFIX = '/__emulator/';

const bad = (description: string): EmulatorReply => ({ status: 400, body: { error: 'invalid_request', error_description: description } });

const NUMERIC_SETTINGS = ['exchangeRatePerSecond', 'actionTimeoutMs', 'buildMs', 'deployMs'] as const;
const BOOLEAN_SETTINGS = ['forgetActionCache'] as const;

const refused = (status: number, error: string, description: string, headers: Record<string, string> = {}): EmulatorReply =>
  ({ status, headers, body: { error, error_description: description } });

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  return /^bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
}

/** An `Origin` is sent by browsers; only the emulator's own origin may call its control endpoints. */
function foreignOrigin(headers: IncomingHttpHeaders, ownOrigins: readonly string[]): boolean {
  const origin = headers.origin;
  if (origin === undefined) return false;
  return !ownOrigins.includes(origin.toLowerCase());
}

/** Why a control request is refused, or undefined when it may proceed. */
function refusal(req: EmulatorRequest, ctx: ControlContext): EmulatorReply | undefined {
  const domain = ctx.tenant.domain.toLowerCase();
  const ownOrigins = [domain, domain.replace('://127.0.0.1:', '://localhost:')];
  if (foreignOrigin(req.headers, ownOrigins)) {
    return refused(403, 'access_denied', "Cross-origin requests to the emulator's control endpoints are refused.");
  }
  const token = bearerOf(req.headers);
  if (token === undefined || !sameSecret(token, ctx.controlToken)) {
    return refused(401, 'invalid_token', "The emulator's control endpoints need Authorization: Bearer <control_token> (from the emulator's JSON line).", {
      'WWW-Authenticate': 'Bearer realm="omni-auth emulator control"',
    });
  }
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
    return refused(415, 'invalid_request', "The emulator's control endpoints accept JSON bodies only (Content-Type: application/json).");
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the whole patch first, so a bad one changes nothing. */
function patchSettings(tenant: Tenant, patch: unknown): EmulatorReply {
  if (!isObject(patch)) return bad('The body must be a JSON object of settings.');
  const next: EmulatorSettings = { ...tenant.settings };
  for (const [name, value] of Object.entries(patch)) {
    if ((NUMERIC_SETTINGS as readonly string[]).includes(name)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return bad(`${name} must be a number ≥ 0.`);
      next[name as (typeof NUMERIC_SETTINGS)[number]] = value;
    } else if ((BOOLEAN_SETTINGS as readonly string[]).includes(name)) {
      if (typeof value !== 'boolean') return bad(`${name} must be true or false.`);
      next[name as (typeof BOOLEAN_SETTINGS)[number]] = value;
    } else if (name === 'exchangeBurst') {
      if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) return bad('exchangeBurst must be a number ≥ 0, or null (the same as the rate).');
      if (value === null) delete next.exchangeBurst;
      else next.exchangeBurst = value;
    } else if (name === 'plan') {
      if (typeof value !== 'string' || !(PLAN_NAMES as string[]).includes(value)) return bad(`plan must be one of ${PLAN_NAMES.join(', ')}.`);
      const limits = PLANS[value as Plan];
      next.plan = value;
      next.exchangeBurst = limits.burst;
      next.exchangeRatePerSecond = limits.rate;
    } else if (name === 'failNextBuild') {
      if (value !== null && typeof value !== 'string') return bad('failNextBuild must be a string or null.');
      if (value === null) delete next.failNextBuild;
      else next.failNextBuild = value;
    } else {
      return bad(`Unknown setting: ${name}`);
    }
  }
  // Limits set by hand are no longer a plan's.
  if (!('plan' in patch) && ('exchangeRatePerSecond' in patch || 'exchangeBurst' in patch)) delete next.plan;
  // In place: other modules may hold the settings object.
  Object.assign(tenant.settings, next);
  if (next.failNextBuild === undefined) delete tenant.settings.failNextBuild;
  if (next.exchangeBurst === undefined) delete tenant.settings.exchangeBurst;
  if (next.plan === undefined) delete tenant.settings.plan;
  return { status: 200, body: tenant.settings };
}

export function controlHandler(ctx: ControlContext): Handler {
  const { tenant } = ctx;
  return async (req) => {
    if (!req.path.startsWith(CONTROL_PREFIX)) return undefined;
    const refusedReply = refusal(req, ctx);
    if (refusedReply) return refusedReply;
    switch (`${req.method} ${req.path}`) {
      case 'GET /__emulator/stats':
        return { status: 200, body: tenant.stats };
      case 'POST /__emulator/fail-next-build': {
        const message = isObject(req.body) ? req.body.message : undefined;
        if (typeof message !== 'string' || message === '') return bad('message (a non-empty string) is required.');
        tenant.settings.failNextBuild = message;
        return { status: 204 };
      }
      case 'POST /__emulator/settings':
        return patchSettings(tenant, req.body);
      case 'POST /__emulator/reset-throttle':
        ctx.throttle.reset();
        ctx.exchangeWindow.reset();
        return { status: 204 };
      default:
        return refused(404, 'not_found', `No control endpoint ${req.method} ${req.path}.`);
    }
  };
}
