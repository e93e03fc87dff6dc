/** The emulator's device flow, for tests: allow the grant on the CLI client, and post the verification page. */
import type { Emulator } from '../../src/emulator/index.js';
import { api, managementToken } from './helpers.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Adds the Device Code grant to the CLI client (Auth0: Applications › Advanced Settings › Grant Types). */
export async function allowDeviceGrant(e: Emulator): Promise<void> {
  const token = await managementToken(e);
  const id = encodeURIComponent(e.info().client_id);
  const got = await api(e, token, 'GET', `/clients/${id}`);
  const patched = await api(e, token, 'PATCH', `/clients/${id}`, { grant_types: [...new Set([...(got.body.grant_types as string[]), DEVICE_GRANT])] });
  if (patched.status !== 200) throw new Error(`PATCH grant_types: ${patched.status} ${JSON.stringify(patched.body)}`);
}

/** The verification page's form, posted as a browser would (same Origin). */
export async function activate(issuer: string, fields: Record<string, string>): Promise<{ status: number; html: string }> {
  const url = new URL('/activate', issuer);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url.origin },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, html: await res.text() };
}

