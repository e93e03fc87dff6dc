/**
 * Browser sign-in on the emulator, for tests: register a callback (Auth0 matches callbacks exactly,
 * port included, so a test that listens on a free port registers it first), create a person, and
 * sign in on the /authorize page with plain HTTP — what a browser does, without one:
 *
 *   const emu = await startEmulator({ provisioned: true, users: [{ email, password }] });
 *   await registerCallback(emu, `http://127.0.0.1:${port}/callback`);
 *   const done = await signInOnPage(authorizeUrl, { email, password });
 *   // done.location: the redirect_uri with ?code=…&state=… (or ?error=…&error_description=…)
 *
 * For an emulator in a child process, wrap its JSON line: `registerCallback(fromInfo(info), uri)`.
 */
import type { Emulator, EmulatorInfo } from '../../src/emulator/index.js';
import { api, managementToken } from './helpers.js';

/**
 * An emulator run as a child process (`omni-auth emulator`, its JSON line parsed) as the helpers
 * here and in helpers.ts take it: they use only `domain`, `issuer` and `info()`.
 */
export function fromInfo(info: EmulatorInfo): Emulator {
  return { domain: info.domain, issuer: info.issuer, info: () => info } as unknown as Emulator;
}

/** Adds `uri` to the client's Allowed Callback URLs (default: the CLI client) through the Management API. */
export async function registerCallback(emu: Emulator, uri: string, clientId = emu.info().client_id): Promise<void> {
  const token = await managementToken(emu);
  const got = await api(emu, token, 'GET', `/clients/${encodeURIComponent(clientId)}`);
  if (got.status !== 200) throw new Error(`GET client: ${got.status} ${JSON.stringify(got.body)}`);
  const callbacks = [...new Set([...(got.body.callbacks as string[]), uri])];
  const patched = await api(emu, token, 'PATCH', `/clients/${encodeURIComponent(clientId)}`, { callbacks });
  if (patched.status !== 200) throw new Error(`PATCH client callbacks: ${patched.status} ${JSON.stringify(patched.body)}`);
}

export interface Person {
  email: string;
  password: string;
  name?: string;
  blocked?: boolean;
}

/** Creates a person in Username-Password-Authentication (POST /api/v2/users); returns the user as answered. */
export async function createPerson(emu: Emulator, person: Person): Promise<{ user_id: string; [k: string]: unknown }> {
  const token = await managementToken(emu);
  const res = await api(emu, token, 'POST', '/users', { connection: 'Username-Password-Authentication', ...person });
  if (res.status !== 201) throw new Error(`POST /users: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Blocks (or unblocks) a user: PATCH /api/v2/users/{id} {blocked}. */
export async function setBlocked(emu: Emulator, userId: string, blocked: boolean): Promise<void> {
  const token = await managementToken(emu);
  const res = await api(emu, token, 'PATCH', `/users/${encodeURIComponent(userId)}`, { blocked });
  if (res.status !== 200) throw new Error(`PATCH /users: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface PageAnswer {
  status: number;
  /** The Location of a 302 (the redirect_uri with code/state or error), else undefined. */
  location?: string;
  /** The HTML of a page answer. */
  html: string;
}

/** The hidden transaction id of a sign-in or consent page. */
export function transactionOf(html: string): string {
  const m = /name="tx" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no sign-in form on the page');
  return m[1]!;
}

async function answer(res: Response): Promise<PageAnswer> {
  const location = res.headers.get('location') ?? undefined;
  return { status: res.status, html: await res.text(), ...(location !== undefined ? { location } : {}) };
}

/** GET of the authorize URL, without following redirects. */
export async function openAuthorize(authorizeUrl: string | URL): Promise<PageAnswer> {
  return answer(await fetch(authorizeUrl, { redirect: 'manual' }));
}

/** POST of the page's form (as a browser would: same Origin). */
export async function postForm(authorizeUrl: string | URL, fields: Record<string, string>): Promise<PageAnswer> {
  const url = new URL('/authorize', authorizeUrl);
  return answer(await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url.origin },
    body: new URLSearchParams(fields).toString(),
  }));
}

/**
 * The whole sign-in with plain HTTP: open the page, post email + password, and accept the consent
 * page if one comes. Answers the final step (a 302 whose `location` is the callback, or a page).
 */
export async function signInOnPage(authorizeUrl: string | URL, person: { email: string; password: string }, consent: 'accept' | 'decline' = 'accept'): Promise<PageAnswer> {
  const opened = await openAuthorize(authorizeUrl);
  if (opened.status !== 200) return opened;
  const tx = transactionOf(opened.html);
  const posted = await postForm(authorizeUrl, { tx, email: person.email, password: person.password, action: 'login' });
  if (posted.status === 200 && posted.html.includes('id="consent"')) return postForm(authorizeUrl, { tx, consent });
  return posted;
}
