/**
 * `omni-auth emulator`: starts the local tenant, prints its EmulatorInfo as ONE JSON line on stdout
 * (an API for scripts and tests), then runs until SIGINT/SIGTERM and closes cleanly (exit 0).
 */
import { startEmulator } from '../emulator/index.js';
import { IDENTITY_POLICIES, type IdentityPolicy } from '../emulator/provision.js';
import { PLAN_NAMES, PLANS, type Plan } from '../emulator/ratelimit.js';
import type { EmulatorSettings } from '../emulator/state.js';
import { UsageError } from '../util/errors.js';
import { info } from './output.js';

const waitForStopSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

/**
 * `--user email:password` (repeatable; commander collects them). These are throw-away people of a
 * local emulator: the password is on the command line by design, never use a real one.
 */
export function parseEmulatorUser(value: string, previous: { email: string; password: string }[] = []): { email: string; password: string }[] {
  const colon = value.indexOf(':');
  const email = colon < 0 ? '' : value.slice(0, colon);
  const password = colon < 0 ? '' : value.slice(colon + 1);
  if (!email.includes('@') || password === '') {
    // The value is not echoed: it may hold a password.
    throw new UsageError('emulator.badUser', '--user needs email:password (an email address, a colon, a non-empty password)', {
      hint: 'e.g. --user alice@example.com:correct-horse-battery',
    });
  }
  return [...previous, { email, password }];
}

export function parseIdentity(value: string): IdentityPolicy {
  if (!(IDENTITY_POLICIES as readonly string[]).includes(value)) {
    throw new UsageError('emulator.badIdentity', `--identity must be one of ${IDENTITY_POLICIES.join(', ')} (got ${value})`);
  }
  return value as IdentityPolicy;
}

/**
 * `--plan` (Auth0's Custom Token Exchange limit of that plan), then `--rate-limit-rate` /
 * `--rate-limit-burst`, which win over the plan's numbers.
 */
export function parseRateLimits(opts: { plan?: string; rateLimitRate?: string; rateLimitBurst?: string }): Partial<EmulatorSettings> {
  const settings: Partial<EmulatorSettings> = {};
  if (opts.plan !== undefined) {
    if (!(PLAN_NAMES as string[]).includes(opts.plan)) {
      throw new UsageError('emulator.badPlan', `--plan must be one of ${PLAN_NAMES.join(', ')} (got ${opts.plan})`);
    }
    const limits = PLANS[opts.plan as Plan];
    Object.assign(settings, { plan: opts.plan, exchangeBurst: limits.burst, exchangeRatePerSecond: limits.rate });
  }
  const number = (flag: string, raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new UsageError('emulator.badRateLimit', `${flag} must be a number > 0 (got ${raw})`, { hint: `e.g. ${flag} 4` });
    }
    return n;
  };
  if (opts.rateLimitRate !== undefined) {
    settings.exchangeRatePerSecond = number('--rate-limit-rate', opts.rateLimitRate);
    delete settings.plan;
  }
  if (opts.rateLimitBurst !== undefined) {
    settings.exchangeBurst = number('--rate-limit-burst', opts.rateLimitBurst);
    delete settings.plan;
  }
  return settings;
}

export interface EmulatorFlags {
  settings?: Partial<EmulatorSettings>;
  port?: number;
  provisioned?: boolean;
  identity?: IdentityPolicy;
  user?: { email: string; password: string }[];
}

export async function runEmulator(opts: EmulatorFlags): Promise<void> {
  if (opts.identity !== undefined && !opts.provisioned) {
    throw new UsageError('emulator.identityNeedsProvisioned', '--identity sets the provisioned Action\'s IDENTITY secret', {
      hint: 'add --provisioned',
    });
  }
  const stopped = waitForStopSignal();
  const emulator = await startEmulator({
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    provisioned: opts.provisioned === true,
    ...(opts.identity !== undefined ? { identity: opts.identity } : {}),
    ...(opts.user !== undefined ? { users: opts.user } : {}),
    ...(opts.settings !== undefined ? { settings: opts.settings } : {}),
  });
  process.stdout.write(`${JSON.stringify(emulator.info())}\n`);
  const identity = emulator.info().identity;
  info(`omni-auth emulator: listening on ${emulator.domain}${opts.provisioned ? ` (provisioned, identity ${identity})` : ''}; stop with Ctrl-C`);
  const limits = opts.settings ?? {};
  if (limits.exchangeRatePerSecond !== undefined || limits.exchangeBurst !== undefined) {
    const rate = limits.exchangeRatePerSecond ?? 10;
    info(`omni-auth emulator: token exchange limited to a burst of ${limits.exchangeBurst ?? rate}, ${rate}/s${limits.plan ? ` (the ${limits.plan} plan)` : ''}`);
  }
  const signal = await stopped;
  info(`omni-auth emulator: ${signal}, stopping`);
  await emulator.close();
}
