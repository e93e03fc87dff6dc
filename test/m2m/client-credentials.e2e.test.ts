/**
 * Issue 12 §4 end to end: the built CLI against the emulator over loopback, in temporary homes.
 * `setup --m2m` registers this home's client key as a Private Key JWT credential of a dedicated M2M
 * application; `token`/`exec --grant client-credentials` then get machine-to-machine tokens with NO
 * secret anywhere (environment or files); a secret works for a secret application; a wrong key or a
 * wrong secret is exit 3; a credential the official Auth0 SDK registers is accepted.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, managementSdk, managementToken } from '../emulator/helpers.js';
import { cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome, type RunMark } from '../cli/run-cli.js';
import { mgmtEnv } from '../tenant/helpers.js';

let emu: Emulator;
let home: string;
let m2mId: string;
const secrets = new Set<string>();
let mark: RunMark;

const tokenRequests = (): number => emu.tenant.stats.requests['POST /oauth/token'] ?? 0;
/** Only the home: no domain, client id, secret or key in the environment (the saved files name them). */
const bareEnv = (h: string, extra: Record<string, string> = {}) => cleanEnv({ OMNI_AUTH_HOME: h, ...extra });

beforeAll(async () => {
  emu = await startEmulator();
  home = await tempHome('omni-m2m-');
  const { management } = emu.info();
  const setup = await runCli(['setup', '--domain', emu.domain, '--audience', emu.info().audience, '--m2m'],
    cleanEnv({ OMNI_AUTH_HOME: home, ...mgmtEnv(emu) }));
  expect(setup.code, setup.stderr).toBe(0);
  secrets.add(management.client_secret);
  m2mId = JSON.parse(await readFile(join(home, 'm2m.json'), 'utf8')).client_id;
}, 60_000);
afterAll(async () => {
  await emu?.close();
});
beforeEach(() => {
  mark = runMark();
});
afterEach(async () => {
  await expectNoSecretOnStderr(mark, secrets);
});

describe('setup --m2m', () => {
  it('made an M2M application with Private Key JWT only (the SDK sees the credential), a client grant, and a 0600 client key', async () => {
    const sdk = managementSdk(emu, await managementToken(emu));
    const client = await sdk.clients.get(m2mId);
    expect(client.app_type).toBe('non_interactive');
    const creds = await sdk.clients.credentials.list(m2mId);
    expect(creds).toHaveLength(1);
    expect(creds[0]).toMatchObject({ credential_type: 'public_key', alg: 'RS256', name: expect.stringMatching(/^omni-auth-/) });
    expect(client.client_authentication_methods).toEqual({ private_key_jwt: { credentials: [{ id: creds[0]!.id }] } });
    expect(emu.tenant.clientGrants.filter((g) => g.client_id === m2mId).map((g) => g.audience)).toEqual([emu.info().audience]);
    expect((await stat(join(home, 'client-key.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'm2m.json'))).mode & 0o777).toBe(0o600);
  });

  it('is idempotent: a second run plans nothing for the M2M part and sends no write', async () => {
    const { management } = emu.info();
    const before = emu.tenant.credentials.size;
    const again = await runCli(['setup', '--domain', emu.domain, '--audience', emu.info().audience, '--m2m', '--json'],
      cleanEnv({ OMNI_AUTH_HOME: home, AUTH0_MGMT_CLIENT_ID: management.client_id, AUTH0_MGMT_CLIENT_SECRET: management.client_secret }));
    expect(again.code, again.stderr).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.changed).toBe(false);
    expect(doc.m2m.steps.map((s: { change: string }) => s.change)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(emu.tenant.credentials.size).toBe(before);
    expect(again.stdout).not.toContain('BEGIN');
  });
});

describe('doctor', () => {
  it('reports the machine-to-machine chain (client key → credential → client grant) as passing', async () => {
    const r = await runCli(['doctor', '--json'], bareEnv(home));
    const check = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'm2m');
    expect(check, r.stdout).toMatchObject({ status: 'pass' });
    expect(check.detail).toContain(m2mId);
    expect(check.detail).toContain('no secret');
  });

  it('reports a client key the application does not know as a failure (exit 3)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    secrets.add(pem);
    const r = await runCli(['doctor', '--json'], bareEnv(home, { OMNI_AUTH_CLIENT_KEY: pem }));
    const check = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'm2m');
    expect(check, r.stdout).toMatchObject({ status: 'fail', exit_code: 3 });
  });
});

describe('token --grant client-credentials with Private Key JWT', () => {
  it('works with no secret configured anywhere, then answers from its own cache entry', async () => {
    // Nothing secret in the environment, and none of the home's files holds a client secret.
    const env = bareEnv(home);
    expect(Object.keys(env).filter((k) => /SECRET|OMNI_AUTH_CLIENT_KEY|AUTH0_MGMT/.test(k))).toEqual([]);
    for (const f of await readdir(home)) expect(await readFile(join(home, f), 'utf8')).not.toMatch(/client_secret/);
    const before = tokenRequests();
    const r = await runCli(['token', '--grant', 'client-credentials', '--format', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const { access_token: token } = JSON.parse(r.stdout);
    secrets.add(token);
    expect(decodeJwt(token)).toMatchObject({ sub: `${m2mId}@clients`, gty: 'client-credentials', aud: emu.info().audience, iss: emu.issuer });
    expect(tokenRequests()).toBe(before + 1);
    // Cached under the grant's own entry: the second run sends nothing.
    const again = await runCli(['token', '--grant', 'client-credentials'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(token);
    expect(tokenRequests()).toBe(before + 1);
    const entries = Object.keys(JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8')).entries);
    expect(entries).toEqual([`${emu.domain}|${m2mId}|${emu.info().audience}||client-credentials`]);
  });

  it("getToken({ grant: 'client-credentials' }) from the library shares the CLI's cache entry", async () => {
    const { pathToFileURL } = await import('node:url');
    const { LIBRARY } = await import('../api/helpers.js');
    const { run } = await import('../tenant/helpers.js');
    const before = tokenRequests();
    const script = `import { getToken } from ${JSON.stringify(pathToFileURL(LIBRARY).href)};
      const t = await getToken({ grant: 'client-credentials' });
      console.log(JSON.stringify({ subject: t.subject, expiresAt: t.expiresAt }));`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script], bareEnv(home) as Record<string, string>, home);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).subject).toBe(`${m2mId}@clients`);
    expect(tokenRequests()).toBe(before);
  });

  it('exec --grant client-credentials hands the child the token and never the client key', async () => {
    // The registered key given in the environment (as CI would): used, and removed from the child's env.
    const keyText = await readFile(join(home, 'client-key.json'), 'utf8');
    const r = await runCli(['exec', '--grant', 'client-credentials', '--', process.execPath, '-e',
      'process.stdout.write(JSON.stringify({ sub: JSON.parse(Buffer.from(process.env.AUTH0_TOKEN.split(".")[1], "base64url")).sub, key: process.env.OMNI_AUTH_CLIENT_KEY ?? null }))'],
    bareEnv(home, { OMNI_AUTH_CLIENT_KEY: keyText }));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sub: `${m2mId}@clients`, key: null });
  });

  it('a key the application does not know is refused: exit 3 invalid_client, nothing cached', async () => {
    const other = await tempHome('omni-m2m-other-');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    secrets.add(pem);
    const r = await runCli(['token', '--grant', 'client-credentials'],
      bareEnv(other, { OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: m2mId, OMNI_AUTH_AUDIENCE: emu.info().audience, OMNI_AUTH_CLIENT_KEY: pem }));
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid_client');
    expect(r.stderr).not.toContain('BEGIN');
    await expect(stat(join(other, 'tokens.json'))).rejects.toThrow();
  });

  it('a key registered through the official Auth0 SDK and enabled is accepted (OMNI_AUTH_CLIENT_KEY, nothing written)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    secrets.add(pem);
    const sdk = managementSdk(emu, await managementToken(emu));
    const cred = await sdk.clients.credentials.create(m2mId, { credential_type: 'public_key', name: 'ci', pem: publicKey.export({ format: 'pem', type: 'spki' }) as string, alg: 'RS256' });
    const current = (await sdk.clients.get(m2mId)).client_authentication_methods?.private_key_jwt?.credentials ?? [];
    await sdk.clients.update(m2mId, { client_authentication_methods: { private_key_jwt: { credentials: [...current, { id: cred.id! }] } } });
    const ci = await tempHome('omni-m2m-ci-');
    const r = await runCli(['token', '--grant', 'client-credentials', '--format', 'json'],
      bareEnv(ci, { OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: m2mId, OMNI_AUTH_AUDIENCE: emu.info().audience, OMNI_AUTH_CLIENT_KEY: pem }));
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(JSON.parse(r.stdout).access_token).sub).toBe(`${m2mId}@clients`);
    expect(await readdir(ci)).not.toContain('client-key.json');
  });

  it('the application configured for Private Key JWT refuses its secret: exit 3', async () => {
    const ci = await tempHome('omni-m2m-secret-');
    const secret = emu.tenant.clients.get(m2mId)!.client_secret!;
    secrets.add(secret);
    const r = await runCli(['token', '--grant', 'client-credentials'],
      bareEnv(ci, { OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: m2mId, OMNI_AUTH_AUDIENCE: emu.info().audience, OMNI_AUTH_CLIENT_SECRET: secret }));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('invalid_client');
  });
});

describe('token --grant client-credentials with a client secret', () => {
  let id: string;
  let secret: string;
  beforeAll(async () => {
    const t = await managementToken(emu);
    const created = await api(emu, t, 'POST', '/clients', { name: 'secret-svc', app_type: 'non_interactive' });
    id = created.body.client_id;
    secret = created.body.client_secret;
    await api(emu, t, 'POST', '/client-grants', { client_id: id, audience: emu.info().audience, scope: [] });
  });

  it('OMNI_AUTH_CLIENT_SECRET authenticates a secret application (the secret never on argv or stderr)', async () => {
    secrets.add(secret);
    const h = await tempHome('omni-m2m-s-');
    const r = await runCli(['token', '--grant', 'client-credentials'],
      bareEnv(h, { OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: id, OMNI_AUTH_AUDIENCE: emu.info().audience, OMNI_AUTH_CLIENT_SECRET: secret }));
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim()).sub).toBe(`${id}@clients`);
  });

  it('a wrong secret is exit 3; no key and no secret is exit 2 naming setup --m2m', async () => {
    const h = await tempHome('omni-m2m-w-');
    const env = { OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: id, OMNI_AUTH_AUDIENCE: emu.info().audience };
    const wrong = await runCli(['token', '--grant', 'client-credentials'], bareEnv(h, { ...env, OMNI_AUTH_CLIENT_SECRET: 'not-the-secret-0123456789' }));
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).not.toContain('not-the-secret-0123456789');
    const none = await runCli(['token', '--grant', 'client-credentials'], bareEnv(h, env));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('setup --m2m');
  });

  it('an application without a client grant for the API is exit 3 naming setup --m2m', async () => {
    const t = await managementToken(emu);
    const created = await api(emu, t, 'POST', '/clients', { name: 'ungranted', app_type: 'non_interactive' });
    secrets.add(created.body.client_secret);
    const h = await tempHome('omni-m2m-g-');
    const r = await runCli(['token', '--grant', 'client-credentials'],
      bareEnv(h, { OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: created.body.client_id, OMNI_AUTH_AUDIENCE: emu.info().audience, OMNI_AUTH_CLIENT_SECRET: created.body.client_secret }));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('setup --m2m');
  });

  it('--grant with an unknown value is a usage error (exit 2)', async () => {
    const r = await runCli(['token', '--grant', 'password'], bareEnv(await tempHome()));
    expect(r.code).toBe(2);
  });
});
