/**
 * Doctor's machine-to-machine line (issue 12 §4), only where `setup --m2m` ran (`<home>/m2m.json`) or
 * a client key is given (OMNI_AUTH_CLIENT_KEY): one client_credentials request with the client key's
 * Private Key JWT, which proves the whole chain — the key is the application's enabled credential and
 * the application has a client grant for the API. Never prints the token.
 */
import type { HomeFiles } from '../config/home.js';
import { normalizeDomain } from '../config/domain.js';
import type { Settings } from '../config/settings.js';
import type { HttpOptions } from '../exchange/http.js';
import { ExitCode } from '../util/errors.js';
import { fail, failFrom, pass, type Check } from './doctor-check.js';

const TITLE = 'machine-to-machine (client credentials)';

export async function checkM2m(settings: Settings | undefined, files: HomeFiles, env: NodeJS.ProcessEnv, http: HttpOptions): Promise<Check | undefined> {
  const { readM2mRecord } = await import('../broker/m2m.js');
  const { CLIENT_KEY_ENV, mintClientAssertion, readClientKey } = await import('../identity/client-key.js');
  const record = await readM2mRecord(files.m2m);
  const keyFromEnv = (env[CLIENT_KEY_ENV] ?? '').trim() !== '';
  if (!record && !keyFromEnv) return undefined;
  const domain = record?.domain ?? settings?.domain;
  const clientId = record?.client_id;
  const audience = record?.audience ?? settings?.audience;
  if (!domain || !clientId || !audience) {
    return fail('m2m', TITLE, 'a client key is given but no machine-to-machine application is recorded', 'run `omni-auth setup --m2m`', ExitCode.usage);
  }
  try {
    const key = await readClientKey(files.clientKey, env);
    if (!key) return fail('m2m', TITLE, `no client key (${CLIENT_KEY_ENV} or ${files.clientKey})`, 'run `omni-auth setup --m2m` to create and register one', ExitCode.usage);
    const { clientCredentialsToken } = await import('../exchange/exchange.js');
    const origin = normalizeDomain(domain);
    const response = await clientCredentialsToken({
      domain: origin, clientId, audience, timeouts: http, retry: { maxAttempts: 1 },
      mintClientAssertion: () => mintClientAssertion(key, clientId, `${origin}/`),
    });
    return pass('m2m', TITLE, `application ${clientId} gets tokens for ${audience} with Private Key JWT (${key.source}), no secret; ${response.expires_in} s tokens`);
  } catch (e) {
    return failFrom('m2m', TITLE, e, 'run `omni-auth setup --m2m` with Management API credentials (it registers the client key and the client grant again)');
  }
}
