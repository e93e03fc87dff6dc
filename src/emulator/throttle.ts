/**
 * Suspicious IP Throttling for one stage (Auth0's attack protection): a token bucket per IP that
 * holds `max_attempts` and regains one attempt every `rate` milliseconds. The caller decides what
 * consumes an attempt (for Custom Token Exchange: only `rejectInvalidSubjectToken`).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { SuspiciousIpThrottling } from './state.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) is the IPv4 address. */
export function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip;
}

/** Allowlist entries are addresses or CIDR ranges, IPv4 or IPv6; malformed entries match nothing. */
export function isAllowlisted(ip: string, allowlist: readonly string[]): boolean {
  const address = normalizeIp(ip);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return false;
  const list = new BlockList();
  for (const entry of allowlist) {
    const [net, bits] = entry.split('/');
    const entryFamily = net && isIPv4(net) ? 'ipv4' : net && isIPv6(net) ? 'ipv6' : undefined;
    if (!entryFamily) continue;
    if (bits === undefined) list.addAddress(net!, entryFamily);
    else if (/^\d+$/.test(bits)) list.addSubnet(net!, Number(bits), entryFamily);
  }
  return list.check(address, family);
}

export class IpThrottle {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly stage: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** False when this IP has no attempt left and the tenant's settings say to block it. */
  allows(ip: string, config: SuspiciousIpThrottling): boolean {
    if (!this.#active(ip, config)) return true;
    return this.#bucket(ip, config).tokens >= 1;
  }

  /** Uses up one attempt of this IP. */
  consume(ip: string, config: SuspiciousIpThrottling): void {
    if (!this.#active(ip, config)) return;
    const bucket = this.#bucket(ip, config);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  reset(): void {
    this.#buckets.clear();
  }

  #active(ip: string, config: SuspiciousIpThrottling): boolean {
    return config.enabled && config.shields.includes('block') && config.stage[this.stage] !== undefined
      && !isAllowlisted(ip, config.allowlist);
  }

  /** The bucket of `ip`, refilled up to now under the stage's current settings. */
  #bucket(ip: string, config: SuspiciousIpThrottling): Bucket {
    const { max_attempts: max, rate } = config.stage[this.stage]!;
    const key = normalizeIp(ip);
    const now = this.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: max, at: now };
      this.#buckets.set(key, bucket);
    }
    const refill = rate > 0 ? (now - bucket.at) / rate : Infinity;
    bucket.tokens = Math.min(max, bucket.tokens + refill);
    bucket.at = now;
    return bucket;
  }
}
