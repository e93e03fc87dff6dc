/**
 * `omni-auth login --device` (the built CLI) against the emulator under IDENTITY=person: the CLI prints
 * the verification address and user code, the test confirms the code on /activate over plain HTTP,
 * and the person's tokens land in the cache — with no binding written, and the CLI saying so.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { activate, allowDeviceGrant } from '../emulator/device-helpers.js';
import { createPerson } from '../emulator/signin-helpers.js';
import { allStderr, allStdout, CLI, cleanEnv, expectNoSecretOnStderr, runCli, runMark, tempHome } from './run-cli.js';

const PERSON = { email: 'dana@example.com', password: 'dana-password-1', name: 'Dana Device' };
let emu: Emulator;
let personId: string;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, identity: 'person' } as Parameters<typeof startEmulator>[0]);
  personId = (await createPerson(emu, PERSON)).user_id;
  await allowDeviceGrant(emu);
});
afterAll(async () => emu?.close());

describe('login --device', () => {
  it('stores the person\'s tokens in the cache and writes no binding', async () => {
    const mark = runMark();
    const h = await tempHome('omni-device-');
    const info = emu.info();
    const env = cleanEnv({ OMNI_AUTH_HOME: h, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience });
    const child = spawn(process.execPath, [CLI, 'login', '--device', '--no-write', '--timeout', '60'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = new Promise<string>((resolve) => child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stderr);
      if (m) resolve(m[1]!);
    }));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => {
      allStderr.push(stderr);
      allStdout.push(stdout);
      resolve(c);
    }));
    const userCode = await Promise.race([code, exited.then(() => { throw new Error(`login exited early: ${stderr}`); })]);
    expect(stderr).toContain(`${info.issuer}activate`);
    const confirmed = await activate(info.issuer, { user_code: userCode, email: PERSON.email, password: PERSON.password, action: 'confirm' });
    expect(confirmed.status).toBe(200);
    expect(await exited).toBe(0);

    const cache = JSON.parse(await readFile(join(h, 'tokens.json'), 'utf8')) as { entries: Record<string, { access_token: string; refresh_token?: string; subject?: string }> };
    const entries = Object.values(cache.entries);
    expect(entries).toHaveLength(1);
    expect(decodeJwt(entries[0]!.access_token).sub).toBe(personId);
    expect(entries[0]!.subject).toBe(personId);
    expect(entries[0]!.refresh_token).toBeTruthy();
    expect(existsSync(join(h, 'bindings.json'))).toBe(false);
    expect(stderr).toMatch(/not bound/);
    expect(stderr).toContain('omni-auth login --browser');

    // The cached person token serves `token` with no browser and no exchange.
    const token = await runCli(['token'], env);
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toBe(entries[0]!.access_token);
    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { binding?: { present: boolean } };
    expect(status.binding?.present).toBe(false);
    await expectNoSecretOnStderr(mark);
  }, 60_000);

  it('--device with --browser is a usage error', async () => {
    const h = await tempHome('omni-device-');
    const info = emu.info();
    const res = await runCli(['login', '--device', '--browser', '--no-write'], cleanEnv({ OMNI_AUTH_HOME: h, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience }));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--device cannot be combined');
  });
});
