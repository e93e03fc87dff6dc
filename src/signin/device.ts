/**
 * `omni-auth login --device`: the Device Authorization Flow (RFC 8628) with oauth4webapi — ask the
 * tenant for a device code, tell the person where to enter the user code, poll the token endpoint at
 * the tenant's interval (slower on `slow_down`) until the tokens come, the person cancels, or the code
 * expires.
 *
 * The flow takes no `nonce` (Auth0's /oauth/device/code documents client_id, scope and audience only),
 * so its ID token cannot carry the key binding: this sign-in yields the person's own access and
 * refresh tokens and binds nothing (docs/signin.md).
 */
import * as oauth from 'oauth4webapi';
import { ExitCode, OmniAuthError } from '../util/errors.js';
import { Secret } from '../util/secret.js';
import { codeRefused, signinDenied, signinTimeout, tenantUnusable } from './errors.js';
import { discover, type Tenant } from './protocol.js';

export const DEVICE_COMMAND = 'omni-auth login --device';

export interface DeviceSignInOptions extends Tenant {
  audience: string;
  scope: string;
  /** Gives up after this long even when the tenant's code would live longer. */
  timeoutSeconds: number;
  /** Lines for the person (stderr): the verification address and the user code, never the device code. */
  say: (line: string) => void;
  /** Replaces the wait between polls (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export interface DeviceTokens {
  accessToken: Secret;
  refreshToken?: Secret;
  tokenType: string;
  expiresIn?: number;
  scope?: string;
  /** The ID token's claims when one came (oauth4webapi checked iss/aud/exp); no nonce, no binding. */
  claims?: { sub: string; name?: string; nickname?: string; [claim: string]: unknown };
}

const insecureOk = (url: URL): boolean => url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

export function deviceExpired(): OmniAuthError {
  return new OmniAuthError('signin_timeout', 'the device code expired before the sign-in was confirmed', {
    exitCode: ExitCode.refused,
    hint: `run \`${DEVICE_COMMAND}\` again and enter the new code within its lifetime`,
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function deviceSignIn(o: DeviceSignInOptions): Promise<DeviceTokens> {
  const d = await discover(o);
  // Auth0 publishes device_authorization_endpoint; a document without it gets Auth0's path.
  const as: oauth.AuthorizationServer = { ...d.as, device_authorization_endpoint: d.as.device_authorization_endpoint ?? new URL('oauth/device/code', d.as.issuer).href };
  const client: oauth.Client = { client_id: o.clientId };
  const auth = o.clientSecret ? oauth.ClientSecretPost(o.clientSecret.reveal()) : oauth.None();
  const options = { [oauth.allowInsecureRequests]: insecureOk(new URL(as.device_authorization_endpoint!)) };
  const scope = /(^|\s)openid(\s|$)/.test(o.scope) ? o.scope : `openid ${o.scope}`.trim();
  const clientSecrets = o.clientSecret ? [o.clientSecret.reveal()] : [];

  let started: oauth.DeviceAuthorizationResponse;
  try {
    const response = await oauth.deviceAuthorizationRequest(as, client, auth, { scope, audience: o.audience }, options);
    started = await oauth.processDeviceAuthorizationResponse(as, client, response);
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) {
      throw new OmniAuthError('signin_refused', `${d.host} refused the device sign-in: ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`, {
        exitCode: ExitCode.refused,
        details: { error: e.error },
        hint: e.error === 'unauthorized_client'
          ? 'the application does not allow the Device Code grant: enable it (Applications › the CLI application › Advanced Settings › Grant Types), or use `omni-auth login --browser` / `--no-browser`'
          : 'check the domain, client id and audience, or use `omni-auth login --browser`',
      });
    }
    throw tenantUnusable(d.host, `the device authorization endpoint failed (${e instanceof Error ? e.message : String(e)})`);
  }
  const deviceCode = started.device_code;
  const secrets = [deviceCode, ...clientSecrets];
  o.say(`To sign in to ${d.host}, open ${started.verification_uri} on any device and enter the code ${started.user_code}`);
  if (started.verification_uri_complete) o.say(`  (or open ${started.verification_uri_complete})`);
  const lifetime = Math.min(started.expires_in, o.timeoutSeconds);
  o.say(`Waiting for the sign-in (up to ${lifetime} s)…`);

  const sleep = o.sleep ?? delay;
  let interval = (started.interval ?? 5) * 1000;
  const deadline = Date.now() + lifetime * 1000;
  for (;;) {
    await sleep(interval);
    if (Date.now() > deadline) throw lifetime < started.expires_in ? signinTimeout(lifetime) : deviceExpired();
    let result: oauth.TokenEndpointResponse;
    try {
      const response = await oauth.deviceCodeGrantRequest(as, client, auth, deviceCode, options);
      result = await oauth.processDeviceCodeResponse(as, client, response);
    } catch (e) {
      if (e instanceof oauth.ResponseBodyError) {
        if (e.error === 'authorization_pending') continue;
        if (e.error === 'slow_down') {
          interval += 5000; // RFC 8628 §3.5
          continue;
        }
        if (e.error === 'expired_token') throw deviceExpired();
        if (e.error === 'access_denied') throw signinDenied(d.host, e.error, e.error_description ?? null);
        throw codeRefused(d.host, e.error, e.error_description, secrets);
      }
      throw tenantUnusable(d.host, `the token endpoint failed (${e instanceof Error ? e.message : String(e)})`);
    }
    const claims = result.id_token ? oauth.getValidatedIdTokenClaims(result) : undefined;
    return {
      accessToken: new Secret(result.access_token),
      ...(result.refresh_token ? { refreshToken: new Secret(result.refresh_token) } : {}),
      tokenType: result.token_type,
      ...(result.expires_in !== undefined ? { expiresIn: result.expires_in } : {}),
      ...(result.scope ? { scope: result.scope } : {}),
      ...(claims ? { claims: claims as DeviceTokens['claims'] } : {}),
    };
  }
}
