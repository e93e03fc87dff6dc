/** Shared plumbing for the emulator's end-to-end tests: real HTTP on loopback via undici. */
import { randomBytes } from 'node:crypto';
import { ManagementClient } from 'auth0';
import { CompactSign, type CryptoKey, type KeyObject } from 'jose';
import { request } from 'undici';
import { generateMachineKey, type MachineKey } from '../../src/identity/keys.js';
import { LOCAL_TOKEN_ISSUER, LOCAL_TOKEN_TYPE, SUBJECT_TOKEN_TYPE, mintLocalToken } from '../../src/identity/local-token.js';
import type { MachineInfo } from '../../src/identity/machine.js';
import type { Emulator } from '../../src/emulator/index.js';

export const MACHINE: MachineInfo = { host: 'devbox', user: 'alice', platform: 'linux' };
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface CallOptions {
  form?: Record<string, string>;
  json?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Send `/__emulator/*` requests without the control token `call` otherwise adds. */
  bare?: boolean;
}

/**
 * One HTTP request to the emulator. Requests to its control endpoints (`/__emulator/*`) carry
 * `Authorization: Bearer <control_token>` unless `bare` is set or the caller gives its own.
 */
export async function call(emu: Emulator, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const ownAuthorization = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
  if (path.startsWith('/__emulator/') && !options.bare && !ownAuthorization) headers.authorization = `Bearer ${emu.info().control_token}`;
  let body: string | Buffer | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.raw !== undefined) {
    body = options.raw;
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
  }
  const res = await request(`${emu.domain}${path}`, { method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, headers: res.headers, body: parsed };
}

export function mint(emu: Emulator, key: MachineKey, clientId = emu.info().client_id): Promise<string> {
  return mintLocalToken({ ...key, audience: emu.issuer, clientId, machine: MACHINE });
}

export function exchange(emu: Emulator, subjectToken: string, extra: Record<string, string> = {}): Promise<Answer> {
  const info = emu.info();
  return call(emu, 'POST', '/oauth/token', {
    form: {
      grant_type: TOKEN_EXCHANGE,
      client_id: info.client_id,
      subject_token_type: SUBJECT_TOKEN_TYPE,
      subject_token: subjectToken,
      audience: info.audience,
      ...extra,
    },
  });
}

export async function managementToken(emu: Emulator): Promise<string> {
  const { management } = emu.info();
  const res = await call(emu, 'POST', '/oauth/token', {
    form: {
      grant_type: 'client_credentials',
      client_id: management.client_id,
      client_secret: management.client_secret,
      audience: `${emu.issuer}api/v2/`,
    },
  });
  if (res.status !== 200) throw new Error(`management token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

export function api(emu: Emulator, token: string, method: string, path: string, json?: unknown): Promise<Answer> {
  return call(emu, method, `/api/v2${path}`, { headers: { authorization: `Bearer ${token}` }, ...(json !== undefined ? { json } : {}) });
}

/**
 * The official Auth0 Management SDK (`auth0` v5) pointed at the emulator. The SDK always builds
 * `https://{domain}/api/v2`; the emulator serves http on loopback, so its base URL is replaced.
 */
export function managementSdk(emu: Emulator, token: string): ManagementClient {
  const client = new ManagementClient({ domain: new URL(emu.domain).host, token, telemetry: false });
  (client as unknown as { _options: { baseUrl: string } })._options.baseUrl = `${emu.domain}/api/v2`;
  return client;
}

export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A control endpoint (`/__emulator/*`) with the emulator's control token. */
export const control = (emu: Emulator, method: string, path: string, json?: unknown): Promise<Answer> =>
  call(emu, method, `/__emulator/${path}`, json === undefined ? {} : { json });

export const resetThrottle = (emu: Emulator): Promise<Answer> => control(emu, 'POST', 'reset-throttle');

// ---- Crafted local tokens, each breaking one rule of docs/local-token.md ----

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function goodHeader(key: MachineKey): Record<string, unknown> {
  return { alg: key.alg, typ: LOCAL_TOKEN_TYPE, jwk: { ...key.publicJwk }, kid: key.thumbprint };
}

export function goodClaims(emu: Emulator, key: MachineKey, now = nowSeconds()): Record<string, unknown> {
  return {
    machine: { ...MACHINE }, azp: emu.info().client_id, iss: LOCAL_TOKEN_ISSUER, sub: key.thumbprint, aud: emu.issuer,
    iat: now, nbf: now, exp: now + 120, jti: randomBytes(32).toString('base64url'),
  };
}

export function sign(header: Record<string, unknown>, payload: unknown, privateKey: CryptoKey | KeyObject | Uint8Array): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header as { alg: string }).sign(privateKey);
}

export const newKey = (): Promise<MachineKey> => generateMachineKey();
