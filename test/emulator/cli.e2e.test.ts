/** `omni-auth emulator --provisioned` as a user runs it: the bundled CLI in a child process. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { generateMachineKey } from '../../src/identity/keys.js';
import { SUBJECT_TOKEN_TYPE, mintLocalToken } from '../../src/identity/local-token.js';
import { packageRoot } from '../../src/util/package-root.js';
import type { EmulatorInfo } from '../../src/emulator/index.js';
import { MACHINE, TOKEN_EXCHANGE } from './helpers.js';
import { fromInfo, registerCallback, signInOnPage } from './signin-helpers.js';

const CLI = join(packageRoot(), 'dist', 'omni-auth.cjs');

describe('omni-auth emulator', () => {
  it('prints one JSON line, serves a working exchange, and exits 0 on SIGTERM', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run "npm run build" first`).toBe(true);
    const child = spawn(process.execPath, [CLI, 'emulator', '--provisioned'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdoutLines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        stdoutLines.push(line);
        if (stdoutLines.length === 1) resolve(line);
      });
      void exited.then((code) => reject(new Error(`exited ${code} before printing: ${stderr}`)));
    });

    const info = JSON.parse(firstLine) as {
      domain: string; issuer: string; client_id: string; audience: string; connection: string;
      management: { client_id: string; client_secret: string }; control_token: string;
    };
    expect(info.domain).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.issuer).toBe(`${info.domain}/`);
    expect(info).toMatchObject({ client_id: expect.any(String), audience: expect.any(String), connection: 'omni-auth-machines' });
    expect(info.management.client_secret).toEqual(expect.any(String));
    // The control endpoints answer only with the control token the JSON line carries.
    expect(info.control_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await fetch(`${info.domain}/__emulator/stats`)).status).toBe(401);
    const stats = await fetch(`${info.domain}/__emulator/stats`, { headers: { authorization: `Bearer ${info.control_token}` } });
    expect(stats.status).toBe(200);

    const key = await generateMachineKey();
    const subject_token = await mintLocalToken({ ...key, audience: info.issuer, clientId: info.client_id, machine: MACHINE });
    const res = await fetch(`${info.domain}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, client_id: info.client_id, subject_token_type: SUBJECT_TOKEN_TYPE, subject_token, audience: info.audience }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { token_type: string }).token_type).toBe('Bearer');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdoutLines).toEqual([firstLine]);
    expect(stderr).not.toContain(info.management.client_secret);
    expect(stderr).not.toContain(info.control_token);
  });

  it('--provisioned --identity person --user email:password: reports identity and the person signs in on /authorize', async () => {
    const child = spawn(process.execPath, [CLI, 'emulator', '--provisioned', '--identity', 'person', '--user', 'ann@example.com:ann-pass-1', '--user', 'ben@example.com:ben:colon'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`exited ${code} before printing: ${stderr}`)));
    });
    const info = JSON.parse(firstLine) as EmulatorInfo;
    expect(info.identity).toBe('person');
    // The helpers work on a child-process emulator too.
    await registerCallback(fromInfo(info), 'http://127.0.0.1:41999/callback');
    // The provisioned callback (port 8765) is registered; nothing needs to listen there to get the code.
    const url = new URL(`${info.domain}/authorize`);
    const params = {
      client_id: info.client_id, redirect_uri: 'http://127.0.0.1:8765/callback', response_type: 'code', scope: 'openid',
      audience: info.audience, state: 's1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    for (const person of [{ email: 'ann@example.com', password: 'ann-pass-1' }, { email: 'ben@example.com', password: 'ben:colon' }]) {
      const done = await signInOnPage(url, person);
      expect(done.status).toBe(302);
      expect(new URL(done.location!).searchParams.get('code')).toEqual(expect.any(String));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('identity person');
    expect(stderr).not.toContain('ann-pass-1');
  });

  it('refuses a --user without a password, without echoing it, and --identity without --provisioned', async () => {
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> => new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, 'emulator', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    const noPassword = await run(['--user', 'secretish-no-colon@example.com']);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('--user needs email:password');
    expect(noPassword.stderr).not.toContain('secretish');
    const identity = await run(['--identity', 'person']);
    expect(identity.code).toBe(2);
    expect(identity.stderr).toContain('--provisioned');
    const bad = await run(['--provisioned', '--identity', 'everyone']);
    expect(bad.code).toBe(2);
  });
});
