/**
 * Tokens for the server-side tests. A real one comes from the emulator's token exchange (with RBAC on
 * the API it carries `permissions`: test/server/rbac.e2e.test.ts); tokens with claims no grant issues
 * (another issuer with the tenant's key, odd lifetimes) are signed test-only, in process, with the
 * emulator's own signing key (`emu.tenant.signingKey`): the verifier cannot tell them from the
 * emulator's, which is the point.
 */
import { generateKeyPair, SignJWT } from 'jose';
import type { Emulator } from '../../src/emulator/index.js';
import { issueJwt } from '../../src/emulator/tokens.js';
import { exchange, mint, newKey } from '../emulator/helpers.js';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A person's access token through the Custom Token Exchange, as `omni-auth token` gets it. */
export async function exchangedToken(emu: Emulator): Promise<string> {
  const key = await newKey();
  const res = await exchange(emu, await mint(emu, key));
  if (res.status !== 200) throw new Error(`exchange: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

export interface SignedOptions {
  audience?: string | string[];
  issuer?: string;
  subject?: string;
  claims?: Record<string, unknown>;
  /** `iat`; exp = now + lifetime. */
  now?: number;
  lifetime?: number;
}

/** TEST-ONLY: a token signed with the emulator's key, with the claims asked for. */
export function signedByTenant(emu: Emulator, o: SignedOptions = {}): Promise<string> {
  return issueJwt(emu.tenant.signingKey, {
    issuer: o.issuer ?? emu.issuer,
    subject: o.subject ?? 'omni-test-user',
    audience: o.audience ?? emu.info().audience,
    lifetimeSeconds: o.lifetime ?? 600,
    claims: { azp: emu.info().client_id, ...o.claims },
    ...(o.now !== undefined ? { now: o.now } : {}),
  });
}

/** An HS256 token (the API's shared secret): never accepted. */
export async function hs256Token(emu: Emulator): Promise<string> {
  return new SignJWT({ scope: 'openid' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(emu.issuer).setSubject('x')
    .setAudience(emu.info().audience).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode('a'.repeat(32)));
}

/** A token signed with a key the tenant does not publish, the kid of the tenant's own key. */
export async function foreignKeyToken(emu: Emulator): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ azp: 'x' }).setProtectedHeader({ alg: 'RS256', kid: emu.tenant.signingKey.kid }).setIssuer(emu.issuer).setSubject('x')
    .setAudience(emu.info().audience).setIssuedAt().setExpirationTime('10m').sign(privateKey);
}
