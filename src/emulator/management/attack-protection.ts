/**
 * `GET|PATCH /api/v2/attack-protection/suspicious-ip-throttling`. PATCH replaces `enabled`,
 * `shields` and `allowlist` when given and deep-merges `stage` (one stage's `rate` can change alone).
 */
import { isIP } from 'node:net';
import type { SuspiciousIpThrottling, Tenant } from '../state.js';
import { json, type Route } from './router.js';
import { THROTTLING_LIMITS, THROTTLING_SHIELDS, THROTTLING_STAGES } from './rules.js';
import { BodyReader } from './validate.js';

/** An IPv4/IPv6 address or CIDR range. */
function isAddressOrRange(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

export function patchSuspiciousIpThrottling(tenant: Tenant, body: unknown): SuspiciousIpThrottling {
  const current = tenant.attackProtection.suspiciousIpThrottling;
  const r = new BodyReader(body, ['enabled', 'shields', 'allowlist', 'stage']);
  const enabled = r.boolean('enabled');
  const shields = r.strings('shields');
  shields?.forEach((s) => {
    if (!(THROTTLING_SHIELDS as readonly string[]).includes(s)) throw r.problem('shields', `No enum match for: "${s}"`);
  });
  const allowlist = r.strings('allowlist');
  allowlist?.forEach((ip) => {
    if (!isAddressOrRange(ip)) throw r.problem('allowlist', `Not an IP address or CIDR range: ${ip}`);
  });
  const stage = r.object('stage', THROTTLING_STAGES);
  const stagePatch: SuspiciousIpThrottling['stage'] = {};
  for (const name of THROTTLING_STAGES) {
    const s = stage?.object(name, ['max_attempts', 'rate']);
    if (s === undefined) continue;
    const maxAttempts = s.integer('max_attempts', THROTTLING_LIMITS.maxAttempts);
    const rate = s.integer('rate', THROTTLING_LIMITS.rate);
    const merged = { ...current.stage[name], ...(maxAttempts === undefined ? {} : { max_attempts: maxAttempts }), ...(rate === undefined ? {} : { rate }) };
    if (merged.max_attempts === undefined || merged.rate === undefined) {
      throw stage!.problem(name, 'A stage not configured yet needs both max_attempts and rate');
    }
    stagePatch[name] = { max_attempts: merged.max_attempts, rate: merged.rate };
  }
  // Validated in full before anything changes.
  if (enabled !== undefined) current.enabled = enabled;
  if (shields !== undefined) current.shields = shields;
  if (allowlist !== undefined) current.allowlist = allowlist;
  Object.assign(current.stage, stagePatch);
  return current;
}

export const attackProtectionRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/attack-protection/suspicious-ip-throttling', scope: 'read:attack_protection',
    handle: ({ tenant }) => json(200, tenant.attackProtection.suspiciousIpThrottling),
  },
  {
    method: 'PATCH', pattern: '/api/v2/attack-protection/suspicious-ip-throttling', scope: 'update:attack_protection',
    handle: ({ tenant, req }) => json(200, patchSuspiciousIpThrottling(tenant, req.body)),
  },
];
