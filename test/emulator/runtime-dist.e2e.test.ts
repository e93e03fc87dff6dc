/**
 * Action dependencies from the bundled CLI (dist/omni-auth.cjs), as the demo and users run the
 * emulator: the declared jose is the package installed with omni-auth, loaded by Node's own loader —
 * so on a Node without require(esm) (`--no-experimental-require-module`) `require('jose')` fails with
 * ERR_REQUIRE_ESM exactly as it would on such a runtime, while `await import('jose')` works; and a
 * dependency that is not installed fails the build. Actions are deployed through the Management API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { api, call, managementToken, pollUntil, type Answer } from './helpers.js';

const CLI = join(packageRoot(), 'dist', 'omni-auth.cjs');
const TOKEN_TYPE = 'urn:omni-auth-test:runtime';

const ACTION = `
exports.onExecuteCustomTokenExchange = async (event, api) => {
  let jose;
  if (event.request.body.how === 'import') {
    jose = await import('jose');
  } else {
    try {
      jose = require('jose');
    } catch (e) {
      return api.access.deny('server_error', e.code + ': ' + String(e.message).split('\\n')[0]);
    }
  }
  api.access.deny('jose_loaded', typeof jose.decodeJwt + ' ' + typeof jose.jwtVerify);
};
`;

interface Running {
  emu: Emulator;
  child: ChildProcess;
  stderr: () => string;
}

let running: Running | undefined;
afterEach(async () => {
  if (!running) return;
  const exited = new Promise((resolve) => running!.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
  running = undefined;
});

async function startDist(nodeFlags: string[]): Promise<Running> {
  expect(existsSync(CLI), `${CLI} is missing: run "npm run build" first`).toBe(true);
  const child = spawn(process.execPath, [...nodeFlags, CLI, 'emulator', '--provisioned'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the emulator exited ${code}: ${stderr}`)));
  });
  const info = JSON.parse(line) as ReturnType<Emulator['info']>;
  // The test helpers need only these members of an in-process Emulator.
  const emu = { domain: info.domain, issuer: info.issuer, info: () => info } as unknown as Emulator;
  running = { emu, child, stderr: () => stderr };
  return running;
}

async function createAction(emu: Emulator, token: string, body: Record<string, unknown>): Promise<{ id: string; view: Answer }> {
  const created = await api(emu, token, 'POST', '/actions/actions', {
    supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }], runtime: 'node22', secrets: [], ...body,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  const view = await pollUntil('the build', async () => {
    const a = await api(emu, token, 'GET', `/actions/actions/${id}`);
    return a.body.status === 'built' || a.body.status === 'failed' ? a : undefined;
  });
  return { id, view };
}

/** Deploys ACTION behind its own profile; returns a function that exchanges with `how`. */
async function deployProbe(emu: Emulator): Promise<(how: string) => Promise<Answer>> {
  const token = await managementToken(emu);
  const { id, view } = await createAction(emu, token, { name: 'runtime-probe', code: ACTION, dependencies: [{ name: 'jose', version: '6.2.18' }] });
  expect(view.body.status, JSON.stringify(view.body)).toBe('built');
  expect((await api(emu, token, 'POST', `/actions/actions/${id}/deploy`)).status).toBe(200);
  await pollUntil('the deployment', async () => {
    const a = await api(emu, token, 'GET', `/actions/actions/${id}`);
    return a.body.deployed_version?.deployed === true ? a : undefined;
  });
  const profile = await api(emu, token, 'POST', '/token-exchange-profiles', {
    name: 'runtime probe', subject_token_type: TOKEN_TYPE, action_id: id, type: 'custom_authentication',
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  const { client_id, audience } = emu.info();
  return (how) => call(emu, 'POST', '/oauth/token', {
    form: {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', client_id, audience,
      subject_token_type: TOKEN_TYPE, subject_token: 'opaque', how,
    },
  });
}

describe('Action dependencies in the bundled emulator', () => {
  it('under --no-experimental-require-module: require(jose) is ERR_REQUIRE_ESM, await import(jose) works', async () => {
    const { emu, stderr } = await startDist(['--no-experimental-require-module']);
    const exchangeWith = await deployProbe(emu);

    const required = await exchangeWith('require');
    expect(required.status, JSON.stringify(required.body)).toBe(500);
    expect(required.body).toEqual({ error: 'server_error', error_description: expect.stringMatching(/^ERR_REQUIRE_ESM: require\(\) of ES Module .*jose/) });

    const imported = await exchangeWith('import');
    expect([imported.status, imported.body]).toEqual([400, { error: 'jose_loaded', error_description: 'function function' }]);
    expect(stderr()).not.toMatch(/USE_MAIN_CONTEXT_DEFAULT_LOADER/);
  });

  it('on a Node with require(esm), require(jose) works too, as on such a runtime', async () => {
    const { emu } = await startDist([]);
    const exchangeWith = await deployProbe(emu);
    for (const how of ['require', 'import']) {
      const res = await exchangeWith(how);
      expect([how, res.status, res.body]).toEqual([how, 400, { error: 'jose_loaded', error_description: 'function function' }]);
    }
  });

  it('fails the build of an Action whose dependency is not installed, or not at the declared version', async () => {
    const { emu } = await startDist([]);
    const token = await managementToken(emu);
    const missing = await createAction(emu, token, { name: 'needs-left-pad', code: ACTION, dependencies: [{ name: 'left-pad', version: '1.3.0' }] });
    expect(missing.view.body.status).toBe('failed');
    expect(JSON.stringify(missing.view.body.errors)).toMatch(/left-pad@1\.3\.0\\?" could not be installed: it is not installed with omni-auth/);
    const other = await createAction(emu, token, { name: 'old-jose', code: ACTION, dependencies: [{ name: 'jose', version: '5.9.6' }] });
    expect(other.view.body.status).toBe('failed');
    expect(JSON.stringify(other.view.body.errors)).toMatch(/omni-auth has jose@6\.2\.18/);
  });
});
