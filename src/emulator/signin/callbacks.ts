/**
 * Is this `redirect_uri` one of the client's Allowed Callback URLs? Auth0 matches exactly (support
 * article "Callback URL Mismatch Error: {URL} Is Not in the List of Allowed Callback URLs": "Auth0
 * performs exact string matching on callback URLs … Different ports"), with `*` wildcards in
 * subdomains only ("Subdomain URL Placeholders"). RFC 8252 §7.3's "any port for loopback IP
 * redirect URIs" is NOT what Auth0 does, so a loopback callback must be registered with its port
 * (`registerCallback` in test/emulator/signin-helpers.ts does that through the Management API).
 */

/** A wildcard registration `scheme://*.domain/…`: one subdomain label, same everything else. */
function wildcardMatches(pattern: string, candidate: string): boolean {
  const star = pattern.indexOf('://*.');
  if (star < 0) return false;
  let want: URL;
  let got: URL;
  try {
    want = new URL(pattern.replace('://*.', '://wildcard.'));
    got = new URL(candidate);
  } catch {
    return false;
  }
  const suffix = want.hostname.slice('wildcard'.length);
  const label = got.hostname.slice(0, got.hostname.length - suffix.length);
  return got.protocol === want.protocol && got.hostname.endsWith(suffix) && /^[a-z0-9-]+$/i.test(label)
    && got.port === want.port && got.pathname === want.pathname && got.search === want.search;
}

export function callbackAllowed(callbacks: readonly string[], redirectUri: string): boolean {
  return callbacks.some((c) => c === redirectUri || wildcardMatches(c, redirectUri));
}
