/**
 * Issue 14 §3 leftovers: `status` is exact about which profile a cached token belongs to. Profiles of
 * the same tenant, application, API and scopes share one entry (one identity, one token) and each says
 * with whom (`shared_with`); a token of the exchange that no saved profile resolves to (an old audience,
 * a removed profile) is counted (`unowned_tokens`), so `logout --profile` missing it is no surprise.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { status } from '../../src/broker/status.js';
import { cacheKeyOf } from '../../src/cache/key.js';
import { homeFiles } from '../../src/config/home.js';
import { DEFAULT_SCOPE } from '../../src/config/settings.js';

const A = { domain: 'https://a.eu.auth0.com', client_id: 'clientA', audience: 'https://api.a' };
const B = { domain: 'https://b.us.auth0.com', client_id: 'clientB', audience: 'https://api.b' };
const now = 1_800_000_000;
const token = { access_token: 'not-a-real-token', token_type: 'Bearer', expires_at: now + 3600, obtained_at: now };
const key = (s: typeof A, extra: { scope?: string; audience?: string; grant?: 'client-credentials'; clientId?: string } = {}) =>
  cacheKeyOf({ domain: s.domain, clientId: extra.clientId ?? s.client_id, audience: extra.audience ?? s.audience, scope: extra.scope ?? DEFAULT_SCOPE, ...(extra.grant ? { grant: extra.grant } : {}) });

describe('status: which profile a cached token belongs to', () => {
  it('names the profiles sharing an entry, and counts the exchange\'s tokens no profile owns', async () => {
    const files = homeFiles(await mkdtemp(join(tmpdir(), 'omni-status-profiles-')));
    await writeFile(files.settings, JSON.stringify({ profiles: { a: A, twin: { ...A }, b: B }, default_profile: 'a' }), { mode: 0o600 });
    await writeFile(files.tokens, JSON.stringify({
      version: 1,
      entries: {
        [key(A)]: token,
        [key(B, { scope: 'openid' })]: token, // b's, other scopes: b has no token for its own scopes
        [key(A, { audience: 'https://api.a.old' })]: token, // a's old audience: nobody's
        [key(B, { grant: 'client-credentials', clientId: 'm2mClient' })]: token, // a machine-to-machine token: not counted
      },
    }), { mode: 0o600 });
    const r = await status({}, files, {}, 300, now);
    expect(r.profile).toEqual({ name: 'a', source: 'saved' });
    expect(r.profiles?.map((p) => [p.name, p.active, p.token])).toEqual([
      ['a', true, { cached: true, fresh: true, expires_at: now + 3600, shared_with: ['twin'] }],
      ['twin', false, { cached: true, fresh: true, expires_at: now + 3600, shared_with: ['a'] }],
      ['b', false, { cached: false }],
    ]);
    expect(r.unowned_tokens).toBe(1);
    // The settings in use own their entry, also when a flag chose them.
    const oneOff = await status({ audience: 'https://api.a.old' }, files, {}, 300, now);
    expect(oneOff.unowned_tokens).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain('not-a-real-token');
  });
});
