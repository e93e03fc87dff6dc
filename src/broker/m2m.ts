/**
 * Machine-to-machine tokens (issue 12 §4): the client_credentials grant for a confidential
 * application, under the same cache lock, retries and exit codes as the exchange. The application
 * authenticates with Private Key JWT (the client key, src/identity/client-key.ts) — no shared secret —
 * or, when OMNI_AUTH_CLIENT_SECRET is set, with its secret. The application is the one `setup --m2m`
 * recorded in `<home>/m2m.json`, unless --client-id / OMNI_AUTH_CLIENT_ID name another.
 */
import { readFile } from 'node:fs/promises';
import type { HomeFiles } from '../config/home.js';
import { normalizeDomain } from '../config/domain.js';
import type { Settings, SettingsFlags } from '../config/settings.js';
import { CLIENT_CREDENTIALS_GRANT, cacheKeyOf } from '../cache/key.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type Grant = 'exchange' | typeof CLIENT_CREDENTIALS_GRANT;
export const GRANTS: readonly Grant[] = ['exchange', CLIENT_CREDENTIALS_GRANT];

/** What `setup --m2m` saves: no secret, only which application the client key belongs to. */
export interface M2mRecord {
  domain: string;
  client_id: string;
  audience: string;
  credential_id?: string;
}

export async function readM2mRecord(file: string): Promise<M2mRecord | undefined> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as Partial<M2mRecord>;
    if (typeof doc.domain === 'string' && typeof doc.client_id === 'string' && typeof doc.audience === 'string') return doc as M2mRecord;
  } catch {
    // missing or not ours: no record
  }
  return undefined;
}

export async function saveM2mRecord(file: string, record: M2mRecord): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

const given = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

/**
 * The settings flags for a client-credentials token: the recorded M2M application (and its audience)
 * stand in for the saved settings' CLI application, unless a flag or the environment names one.
 */
export async function m2mFlags(flags: SettingsFlags, env: NodeJS.ProcessEnv, files: Pick<HomeFiles, 'm2m'>): Promise<SettingsFlags> {
  if (given(flags.clientId) || given(env.OMNI_AUTH_CLIENT_ID) || given(env.AUTH0_CLIENT_ID)) return flags;
  const record = await readM2mRecord(files.m2m);
  if (!record) return flags;
  const domain = flags.domain ?? env.OMNI_AUTH_DOMAIN ?? env.AUTH0_DOMAIN;
  if (given(domain)) {
    try {
      if (normalizeDomain(domain!) !== record.domain) return flags;
    } catch {
      return flags;
    }
  }
  const audienceGiven = given(flags.audience) || given(env.OMNI_AUTH_AUDIENCE) || given(env.AUTH0_AUDIENCE);
  return { ...flags, domain: flags.domain ?? record.domain, clientId: record.client_id, ...(audienceGiven ? {} : { audience: record.audience }) };
}

/**
 * The scope of a client-credentials request: only what a flag or the environment asks for; the saved
 * (people's) default of openid/profile/… means nothing to an API's client grant. Empty: every scope
 * of the grant.
 */
export const m2mScope = (settings: Settings): string =>
  (settings.sources.scope === 'flag' || settings.sources.scope === 'env' ? settings.scope : '');

export const m2mCacheKey = (settings: Settings): string =>
  cacheKeyOf({ domain: settings.domain, clientId: settings.clientId, audience: settings.audience, scope: m2mScope(settings), grant: CLIENT_CREDENTIALS_GRANT });
