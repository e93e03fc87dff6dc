/**
 * `exec` gives the child one short-lived token and none of omni-auth's own secrets: not the machine key
 * (OMNI_AUTH_KEY), not the client secret (OMNI_AUTH_CLIENT_SECRET), no Management API credential
 * (AUTH0_MGMT_*). A real child prints the environment it received. (Built CLI: `npm run build` first.)
 */
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { childEnv } from '../../src/cli/exec.js';
import { cleanEnv, runCli, tempHome } from './run-cli.js';

let emu: Emulator;

function envFor(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const info = emu.info();
  return cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, ...extra });
}

/** A child that prints the environment it got, as JSON. */
const PRINT_ENV = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'];

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
});
afterAll(async () => {
  await emu?.close();
});

describe('exec: the child\'s environment', () => {
  const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const secrets = {
    OMNI_AUTH_CLIENT_SECRET: 'client-secret-for-a-confidential-app-0123456789',
    AUTH0_MGMT_CLIENT_ID: 'mgmt-client-id-0123456789',
    AUTH0_MGMT_CLIENT_SECRET: 'mgmt-client-secret-0123456789abcdef',
    AUTH0_MGMT_TOKEN: 'mgmt.token.0123456789abcdef',
    AUTH0_MGMT_DOMAIN: 'tenant.example.com',
  };

  it('holds the token in AUTH0_TOKEN and none of omni-auth\'s secrets; everything else passes through', async () => {
    const pem = key();
    const home = await tempHome();
    // The emulator's seeded application is public: a client secret it does not expect is ignored there.
    const env = envFor(home, { OMNI_AUTH_KEY: pem, ...secrets, SOME_USER_VAR: 'kept' });
    const r = await runCli(['exec', '--', ...PRINT_ENV], env);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, string>;
    expect(decodeJwt(got.AUTH0_TOKEN!).aud).toEqual(expect.arrayContaining([emu.info().audience]));
    for (const name of ['OMNI_AUTH_KEY', ...Object.keys(secrets)]) expect(got, name).not.toHaveProperty(name);
    for (const value of [pem.split('\n')[1]!, ...Object.values(secrets)]) expect(r.stdout).not.toContain(value);
    expect(got.SOME_USER_VAR).toBe('kept');
    expect(got.OMNI_AUTH_HOME).toBe(home); // not a secret: a child running omni-auth finds the same home
  });

  it('under --env-var, the token is only in that variable', async () => {
    const home = await tempHome();
    const r = await runCli(['exec', '--env-var', 'MCP_TOKEN', '--', ...PRINT_ENV], envFor(home, { OMNI_AUTH_KEY: key(), ...secrets }));
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, string>;
    expect(got.MCP_TOKEN).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(got).not.toHaveProperty('AUTH0_TOKEN');
    for (const name of ['OMNI_AUTH_KEY', ...Object.keys(secrets)]) expect(got, name).not.toHaveProperty(name);
  });
});

describe('childEnv', () => {
  it('drops the secret family case-insensitively on Windows only, and replaces a stale token variable', () => {
    const env = { omni_auth_key: 'k', Auth0_Mgmt_Token: 't', PATH: '/bin', auth0_token: 'stale' };
    expect(childEnv(env, 'AUTH0_TOKEN', 'fresh', 'win32')).toEqual({ PATH: '/bin', AUTH0_TOKEN: 'fresh' });
    // POSIX names are case-sensitive: these are not omni-auth's variables.
    expect(childEnv(env, 'AUTH0_TOKEN', 'fresh', 'linux')).toEqual({ ...env, AUTH0_TOKEN: 'fresh' });
    expect(childEnv({ OMNI_AUTH_KEY: 'k', AUTH0_TOKEN: 'stale' }, 'AUTH0_TOKEN', 'fresh', 'linux')).toEqual({ AUTH0_TOKEN: 'fresh' });
  });
});
