/**
 * Post-login Actions as an admin sets them up: created, built and deployed through the Management
 * API, bound with PATCH /api/v2/actions/triggers/post-login/bindings, and taking effect on the next
 * Custom Token Exchange. Skipped (with the reason) on a build of the emulator without the bindings
 * route; the same behaviour is held with bindings put into state in postlogin-actions.test.ts.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, exchange, managementToken, mint, newKey, pollUntil } from './helpers.js';

let emu: Emulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000, buildMs: 30, deployMs: 30 } });
  token = await managementToken(emu);
});
afterAll(async () => {
  await emu?.close();
});

async function deployPostLogin(name: string, code: string): Promise<string> {
  const created = await api(emu, token, 'POST', '/actions/actions', {
    name, supported_triggers: [{ id: 'post-login', version: 'v3' }], code, runtime: 'node22', dependencies: [], secrets: [],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  await pollUntil(`${name} built`, async () => ((await api(emu, token, 'GET', `/actions/actions/${id}`)).body.status === 'built' ? true : undefined));
  expect((await api(emu, token, 'POST', `/actions/actions/${id}/deploy`)).status).toBe(200);
  await pollUntil(`${name} deployed`, async () =>
    ((await api(emu, token, 'GET', `/actions/actions/${id}`)).body.deployed_version?.deployed === true ? true : undefined));
  return id;
}

describe('post-login Actions through the Management API', () => {
  it('a bound Action\'s custom claim reaches the token; binding a denying one refuses the exchange', async (ctx) => {
    const probe = await api(emu, token, 'GET', '/actions/triggers/post-login/bindings');
    if (probe.status === 404) ctx.skip('this emulator has no /actions/triggers/{id}/bindings route yet (emu-mgmt)');
    expect(probe.status).toBe(200);

    const claims = await deployPostLogin('add-claims', `exports.onExecutePostLogin = async (event, api) => {
      api.accessToken.setCustomClaim('https://omni-auth.test/protocol', event.transaction.protocol);
    };`);
    const bound = await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', {
      bindings: [{ ref: { type: 'action_id', value: claims }, display_name: 'add claims' }],
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);

    const ok = await exchange(emu, await mint(emu, await newKey()));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(decodeJwt(ok.body.access_token)['https://omni-auth.test/protocol']).toBe('oauth2-token-exchange');

    await deployPostLogin('deny-all', `exports.onExecutePostLogin = async (event, api) => {
      if (event.transaction.protocol === 'oauth2-token-exchange') api.access.deny('no token exchange here');
    };`);
    const both = await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', {
      bindings: [
        { ref: { type: 'binding_id', value: bound.body.bindings[0].id } },
        { ref: { type: 'action_name', value: 'deny-all' }, display_name: 'deny' },
      ],
    });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    const denied = await exchange(emu, await mint(emu, await newKey()));
    expect([denied.status, denied.body]).toEqual([500, { error: 'access_denied', error_description: 'no token exchange here' }]);
  });
});
