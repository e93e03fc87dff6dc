/**
 * `getToken({ ci })` (issue 14 §1) in process against the provisioned emulator: GitHub's two variables
 * given through `env` point at the stand-in issuer; the token is the policy's service user's, the home
 * holds no key; an unknown mode is a usage error; a job no rule matches is refused with exit code 3.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getToken, isOmniAuthError } from '../../src/index.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

async function job(query = '') {
  const home = await mkdtemp(join(tmpdir(), 'omni-ci-api-'));
  const info = emu.info();
  const env = {
    OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience,
    GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: `${info.ci.request_url}${query}`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: info.ci.request_token,
  };
  return { home, env };
}

describe('getToken({ ci })', () => {
  it('gives the policy\'s service user a token in a GitHub job, with no key in the home', async () => {
    const { home, env } = await job();
    const warnings: string[] = [];
    const token = await getToken({ ci: 'auto', home, env, onWarning: (m) => warnings.push(m) });
    expect(token.subject).toBe(emu.info().ci.user);
    expect(decodeJwt(token.accessToken).sub).toBe(emu.info().ci.user);
    expect(existsSync(join(home, 'machine-key.json'))).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('refuses a job no rule matches (exit code 3) and an unknown mode (2)', async () => {
    const { home, env } = await job('&repository=acme/elsewhere');
    const refused = await getToken({ ci: 'github', home, env }).catch((e: unknown) => e);
    expect(isOmniAuthError(refused) && [refused.code, refused.exitCode]).toEqual(['ci_not_trusted', 3]);
    const bad = await getToken({ ci: 'jenkins' as 'auto', home, env }).catch((e: unknown) => e);
    expect(isOmniAuthError(bad) && [bad.code, bad.exitCode]).toEqual(['invalid_ci', 2]);
  });
});
