/**
 * Management API secrets given as flags (`--mgmt-client-secret`, `--mgmt-token`) land in `ps` and the
 * shell's history: omni-auth warns on stderr, naming the variable to use instead and never the value.
 * `@file` and `-` (stdin) read the secret without it ever being on a command line, and draw no warning.
 * The e2e half runs the built CLI (`npm run build` first) against the emulator.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managementCredentials } from '../../src/cli/admin-options.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cleanEnv, runCli, tempHome } from './run-cli.js';

const SECRET = 'mgmt-secret-value-0123456789abcdef';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.mgmt-token-signature-0123456789';

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m) };
}

describe('managementCredentials: secrets on the command line', () => {
  it('--mgmt-client-secret: the credentials work, with a warning naming AUTH0_MGMT_CLIENT_SECRET and not the value', () => {
    const { warnings, warn } = collect();
    const c = managementCredentials({ mgmtClientId: 'id', mgmtClientSecret: SECRET }, {}, { warn });
    expect(c).toMatchObject({ kind: 'client', clientId: 'id' });
    expect(c?.kind === 'client' && c.clientSecret.reveal()).toBe(SECRET);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/--mgmt-client-secret .*`ps`.*shell history.*AUTH0_MGMT_CLIENT_SECRET/);
    expect(warnings.join('\n')).not.toContain(SECRET);
  });

  it('--mgmt-token: a warning naming AUTH0_MGMT_TOKEN, not the value', () => {
    const { warnings, warn } = collect();
    const c = managementCredentials({ mgmtToken: TOKEN }, {}, { warn });
    expect(c?.kind === 'token' && c.token.reveal()).toBe(TOKEN);
    expect(warnings).toEqual([expect.stringMatching(/--mgmt-token .*AUTH0_MGMT_TOKEN/)]);
    expect(warnings.join('\n')).not.toContain(TOKEN);
  });

  it('the environment variables draw no warning; neither do @file and -', async () => {
    const { warnings, warn } = collect();
    expect(managementCredentials({}, { AUTH0_MGMT_CLIENT_ID: 'id', AUTH0_MGMT_CLIENT_SECRET: SECRET }, { warn })).toMatchObject({ kind: 'client' });
    const file = join(await tempHome(), 'secret');
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    const fromFile = managementCredentials({ mgmtClientId: 'id', mgmtClientSecret: `@${file}` }, {}, { warn });
    expect(fromFile?.kind === 'client' && fromFile.clientSecret.reveal()).toBe(SECRET);
    const fromStdin = managementCredentials({ mgmtToken: '-' }, {}, { warn, readStdin: () => `${TOKEN}\n` });
    expect(fromStdin?.kind === 'token' && fromStdin.token.reveal()).toBe(TOKEN);
    expect(warnings).toEqual([]);
  });

  it('@file that is missing or empty, or - twice, is a usage error that quotes no content', async () => {
    const dir = await tempHome();
    const err = (f: () => unknown) => { try { f(); } catch (e) { return e as { code: string; message: string; hint?: string }; } throw new Error('no error'); };
    const missing = err(() => managementCredentials({ mgmtToken: `@${join(dir, 'nope')}` }, {}, { warn: () => {} }));
    expect(missing).toMatchObject({ code: 'mgmt_secret_unreadable', message: expect.stringContaining(join(dir, 'nope')) });
    await writeFile(join(dir, 'empty'), '\n');
    expect(err(() => managementCredentials({ mgmtToken: `@${join(dir, 'empty')}` }, {}, { warn: () => {} }))).toMatchObject({ code: 'mgmt_secret_empty' });
    expect(err(() => managementCredentials({ mgmtToken: '-', mgmtClientSecret: '-' }, {}, { warn: () => {}, readStdin: () => SECRET }))).toMatchObject({ code: 'mgmt_stdin_twice' });
  });
});

describe('the built CLI warns, and never prints the value', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ provisioned: true });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('setup --dry-run --mgmt-client-secret …: warning on stderr, the secret nowhere in the output', async () => {
    const { client_id: id, client_secret: secret } = emu.info().management;
    const home = await tempHome();
    const r = await runCli(['setup', '--dry-run', '--domain', emu.domain, '--audience', emu.info().audience, '--mgmt-client-id', id, '--mgmt-client-secret', secret], cleanEnv({ OMNI_AUTH_HOME: home }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: --mgmt-client-secret on the command line is visible to other users in `ps` and stays in your shell history; set AUTH0_MGMT_CLIENT_SECRET instead/);
    expect(r.stderr).not.toContain(secret);
    expect(r.stdout).not.toContain(secret);
  });

  it('doctor --mgmt-token …: warning naming AUTH0_MGMT_TOKEN; --mgmt-token @file: no warning', async () => {
    const { client_id: id, client_secret: secret } = emu.info().management;
    const res = await fetch(`${emu.domain}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: id, client_secret: secret, audience: `${emu.domain}/api/v2/` }),
    });
    const token = ((await res.json()) as { access_token: string }).access_token;
    expect(token).toBeTruthy();
    const home = await tempHome();
    const env = cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: emu.domain, OMNI_AUTH_CLIENT_ID: emu.info().client_id, OMNI_AUTH_AUDIENCE: emu.info().audience });
    const flagged = await runCli(['doctor', '--mgmt-token', token], env);
    expect(flagged.stderr).toMatch(/warning: --mgmt-token on the command line .*set AUTH0_MGMT_TOKEN instead/);
    expect(flagged.stderr).not.toContain(token);
    expect(flagged.stderr).not.toContain(token.split('.')[2]);
    const file = join(home, 'mgmt-token');
    await writeFile(file, token, { mode: 0o600 });
    const fromFile = await runCli(['doctor', '--mgmt-token', `@${file}`], env);
    expect(fromFile.stderr).not.toMatch(/warning: --mgmt-token/);
    expect(fromFile.stderr).not.toContain(token.split('.')[2]);
    // The Management checks passed either way: the token (from the flag, then from the file) was used.
    for (const r of [flagged, fromFile]) expect(r.stderr).toMatch(/✓ Action and profile .* is deployed/);
  });
});
