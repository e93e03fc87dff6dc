/**
 * Post-login Actions after a Custom Token Exchange: the runner on its own (event and api), then end
 * to end on a provisioned emulator with Actions bound to the post-login trigger in its state.
 */
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runPostLoginAction, type PostLoginEvent, type PostLoginOutcome } from '../../src/emulator/action-runtime.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { exchange, mint, newKey } from './helpers.js';
import { addDeployedAction, bindPostLogin } from './postlogin-helpers.js';

const postLogin = (body: string): string => `exports.onExecutePostLogin = async (event, api) => {\n${body}\n};`;

function event(): PostLoginEvent {
  return {
    client: { client_id: 'cli', name: 'omni-auth CLI', metadata: {} },
    connection: { id: 'con_1', name: 'omni-auth-machines', strategy: 'auth0', metadata: {} },
    request: { ip: '127.0.0.1', method: 'POST', hostname: '127.0.0.1', geoip: {}, body: {} },
    resource_server: { identifier: 'https://api.example' },
    tenant: { id: 'emulator' },
    transaction: { protocol: 'oauth2-token-exchange', requested_scopes: ['openid'], locale: '' },
    user: { user_id: 'auth0|omni-abc', app_metadata: {}, user_metadata: {} },
    stats: { logins_count: 1 },
    authentication: { methods: [] },
    authorization: { roles: [] },
  };
}

const runOne = (code: string, secrets: Record<string, string> = {}): Promise<PostLoginOutcome> =>
  runPostLoginAction({ code, dependencies: [], secrets, event: event(), cache: new Map(), timeoutMs: 5000 });

describe('runPostLoginAction', () => {
  it('sees the oauth2-token-exchange protocol, the user and its secrets; custom claims and metadata are recorded', async () => {
    const outcome = await runOne(postLogin(`
      api.accessToken.setCustomClaim('https://omni/proto', event.transaction.protocol);
      api.idToken.setCustomClaim('user', event.user.user_id + ':' + event.secrets.S);
      api.user.setAppMetadata('seen', true);
    `), { S: 'shh' });
    expect(outcome).toEqual({
      kind: 'continue',
      accessTokenClaims: { 'https://omni/proto': 'oauth2-token-exchange' },
      idTokenClaims: { user: 'auth0|omni-abc:shh' },
      appMetadata: { seen: true },
      userMetadata: {},
    });
  });

  it('api.access.deny(reason) denies; later calls change nothing; metadata set before still counts', async () => {
    const outcome = await runOne(postLogin(`
      api.user.setUserMetadata('k', 'v');
      api.access.deny('machines are not welcome here');
      api.accessToken.setCustomClaim('late', 1);
    `));
    expect(outcome).toEqual({ kind: 'denied', reason: 'machines are not welcome here', appMetadata: {}, userMetadata: { k: 'v' } });
  });

  it('api.multifactor.enable(provider) asks for MFA', async () => {
    const outcome = await runOne(postLogin(`api.multifactor.enable('any');`));
    expect(outcome).toMatchObject({ kind: 'continue', mfa: { provider: 'any' } });
  });

  it('challengeWith / enrollWith fail the transaction (unsupported with Custom Token Exchange), even when caught', async () => {
    for (const method of ['challengeWith', 'challengeWithAny', 'enrollWith', 'enrollWithAny']) {
      const outcome = await runOne(postLogin(`try { api.authentication.${method}({ type: 'otp' }); } catch {}`));
      expect(outcome.kind).toBe('failed');
      expect(outcome.kind === 'failed' && outcome.reason).toMatch(new RegExp(`${method} is not supported with Custom Token Exchange`));
    }
  });

  it('a throw fails, with the message, and never shows a secret', async () => {
    const outcome = await runOne(postLogin(`throw new Error('broke with ' + event.secrets.KEY);`), { KEY: 'hunter22' });
    expect(outcome).toEqual({ kind: 'failed', reason: 'broke with [redacted]', appMetadata: {}, userMetadata: {} });
  });

  it('fails when the module does not export onExecutePostLogin', async () => {
    const outcome = await runOne('exports.onExecuteCustomTokenExchange = async () => {};');
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'the Action does not export onExecutePostLogin' });
  });
});

describe('post-login Actions after an exchange (emulator)', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ provisioned: true, settings: { exchangeRatePerSecond: 1000 } });
  });
  afterAll(async () => {
    await emu?.close();
  });
  afterEach(() => {
    emu.tenant.triggerBindings.delete('post-login');
  });

  const exchangeOnce = async (scope = 'openid') => exchange(emu, await mint(emu, await newKey()), { scope });

  it('with none bound, the exchange is as before', async () => {
    const res = await exchangeOnce();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('runs every bound Action in order; their custom claims reach the access and ID tokens', async () => {
    const first = addDeployedAction(emu.tenant, {
      name: 'first', secrets: { TAG: 'one' },
      code: postLogin(`
        if (event.transaction.protocol !== 'oauth2-token-exchange') throw new Error('wrong protocol');
        api.accessToken.setCustomClaim('https://omni/order', [event.secrets.TAG]);
        api.accessToken.setCustomClaim('https://omni/user', event.user.user_id);
        api.idToken.setCustomClaim('https://omni/id', 'first');
        api.user.setAppMetadata('first_ran', true);
      `),
    });
    const second = addDeployedAction(emu.tenant, {
      name: 'second',
      code: postLogin(`
        api.accessToken.setCustomClaim('https://omni/order', ['one', 'two', event.user.app_metadata.first_ran === true]);
        api.accessToken.setCustomClaim('sub', 'someone-else');
        api.idToken.setCustomClaim('email', 'spoof@example.com');
      `),
    });
    bindPostLogin(emu.tenant, [first, second]);
    const res = await exchangeOnce();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const access = decodeJwt(res.body.access_token);
    expect(access['https://omni/order']).toEqual(['one', 'two', true]);
    expect(access['https://omni/user']).toBe(access.sub);
    expect(access.sub).not.toBe('someone-else');
    const id = decodeJwt(res.body.id_token);
    expect(id['https://omni/id']).toBe('first');
    expect(id.email).toBeUndefined();
    expect(emu.tenant.users.get(access.sub!)?.app_metadata).toMatchObject({ first_ran: true });
  });

  it('api.access.deny refuses the exchange with access_denied and the reason; later Actions do not run', async () => {
    const deny = addDeployedAction(emu.tenant, { name: 'deny', code: postLogin(`api.access.deny('no machines on Sundays');`) });
    const after = addDeployedAction(emu.tenant, { name: 'after', code: postLogin(`api.user.setAppMetadata('after_ran', true);`) });
    bindPostLogin(emu.tenant, [deny, after]);
    const res = await exchangeOnce();
    expect([res.status, res.body]).toEqual([500, { error: 'access_denied', error_description: 'no machines on Sundays' }]);
    expect([...emu.tenant.users.values()].some((u) => u.app_metadata.after_ran)).toBe(false);
  });

  it('api.multifactor.enable → 403 mfa_required with an mfa_token', async () => {
    bindPostLogin(emu.tenant, [addDeployedAction(emu.tenant, { name: 'mfa', code: postLogin(`api.multifactor.enable('any');`) })]);
    const res = await exchangeOnce();
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'mfa_required', error_description: 'Multifactor authentication required', mfa_token: expect.stringMatching(/^[\w-]{20,}$/) });
    expect(res.body.access_token).toBeUndefined();
  });

  it('a post-login Action that throws fails the exchange like a failing Action', async () => {
    bindPostLogin(emu.tenant, [addDeployedAction(emu.tenant, { name: 'throws', code: postLogin(`throw new Error('post-login broke');`) })]);
    const res = await exchangeOnce();
    expect([res.status, res.body]).toEqual([403, { error: 'access_denied', error_description: 'post-login broke' }]);
  });

  it('the bound Actions share one time budget (Auth0: each execution of a flow has 20 s)', async () => {
    const wait = (name: string) => addDeployedAction(emu.tenant, { name, code: postLogin(`await new Promise((r) => setTimeout(r, 300));`) });
    bindPostLogin(emu.tenant, [wait('slow-1'), wait('slow-2')]);
    const before = emu.tenant.settings.actionTimeoutMs;
    emu.tenant.settings.actionTimeoutMs = 500;
    try {
      const res = await exchangeOnce();
      // Each Action alone fits in 500 ms; the two together do not.
      expect([res.status, res.body.error, res.body.error_description]).toEqual([403, 'access_denied', expect.stringMatching(/^Action timed out after \d+ ms$/)]);
    } finally {
      emu.tenant.settings.actionTimeoutMs = before;
    }
  });

  it('skips a bound Action that has no deployed version', async () => {
    const undeployed = addDeployedAction(emu.tenant, { name: 'undeployed', code: postLogin(`api.access.deny('should not run');`) });
    undeployed.deployed_version!.deployed = false;
    bindPostLogin(emu.tenant, [undeployed]);
    expect((await exchangeOnce()).status).toBe(200);
  });
});
