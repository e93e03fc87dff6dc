/** "expires 2026-11-24 12:00:00Z (in 23h 59m)" — for people only. */
export function describeExpiry(expiresAt: number, now = Math.floor(Date.now() / 1000)): string {
  const iso = new Date(expiresAt * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
  const left = expiresAt - now;
  return left > 0 ? `expires ${iso} (in ${duration(left)})` : `expired ${iso} (${duration(-left)} ago)`;
}

export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${seconds % 60}s`;
  return `${seconds}s`;
}
