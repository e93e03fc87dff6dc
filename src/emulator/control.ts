/**
 * The emulator's own control endpoints (not Auth0's), for tests and demos; see docs/emulator.md.
 *   GET  /__emulator/stats           → {requests: {"<METHOD> <path>": n}, exchanges: {ok, failed}}
 *   POST /__emulator/fail-next-build {message}  → 204; the next Action build fails with `message`
 *   POST /__emulator/settings        {…EmulatorSettings} → 200 with the settings now in force
 *   POST /__emulator/reset-throttle  → 204; forgets Suspicious IP Throttling and the rate window
 */
import type { EmulatorReply, Handler } from './http-types.js';
import type { FixedWindow } from './ratelimit.js';
import type { EmulatorSettings, Tenant } from './state.js';
import type { IpThrottle } from './throttle.js';

export interface ControlContext {
  tenant: Tenant;
  throttle: IpThrottle;
  exchangeWindow: FixedWindow;
}

const bad = (description: string): EmulatorReply => ({ status: 400, body: { error: 'invalid_request', error_description: description } });

const NUMERIC_SETTINGS = ['exchangeRatePerSecond', 'actionTimeoutMs', 'buildMs', 'deployMs'] as const;

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
    } else if (name === 'failNextBuild') {
      if (value !== null && typeof value !== 'string') return bad('failNextBuild must be a string or null.');
      if (value === null) delete next.failNextBuild;
      else next.failNextBuild = value;
    } else {
      return bad(`Unknown setting: ${name}`);
    }
  }
  // In place: other modules may hold the settings object.
  Object.assign(tenant.settings, next);
  if (next.failNextBuild === undefined) delete tenant.settings.failNextBuild;
  return { status: 200, body: tenant.settings };
}

export function controlHandler(ctx: ControlContext): Handler {
  const { tenant } = ctx;
  return async (req) => {
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
        return undefined;
    }
  };
}
