import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CACHE_LIMITS,
  findInstalled,
  buildAction,
  runCustomTokenExchangeAction,
  type ActionOutcome,
  type CacheEntry,
  type CustomTokenExchangeEvent,
  type RunActionInput,
} from '../../src/emulator/action-runtime.js';
import { generateMachineKey } from '../../src/identity/keys.js';
import { mintLocalToken } from '../../src/identity/local-token.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SUBJECT_TOKEN = 'subject-token-value-0123456789';

function baseEvent(overrides: Partial<CustomTokenExchangeEvent['transaction']> = {}): CustomTokenExchangeEvent {
  return {
    client: { client_id: 'cli-client', name: 'omni-auth CLI', metadata: {} },
    request: { ip: '127.0.0.1', method: 'POST', hostname: '127.0.0.1', geoip: {}, body: { extra: 'x' } },
    resource_server: { identifier: 'https://omnispindle.example/api' },
    tenant: { id: 'emulator' },
    transaction: {
      subject_token: SUBJECT_TOKEN,
      subject_token_type: 'urn:omnispindle:local-auth',
      requested_scopes: ['openid'],
      requested_token_type: null,
      ...overrides,
    },
  };
}

function run(code: string, overrides: Partial<RunActionInput> = {}): Promise<ActionOutcome> {
  return runCustomTokenExchangeAction({
    code,
    dependencies: [],
    secrets: {},
    event: baseEvent(),
    cache: new Map(),
    timeoutMs: 5000,
    ...overrides,
  });
}

/** An Action whose handler body is `body`. */
const action = (body: string): string => `exports.onExecuteCustomTokenExchange = async (event, api) => {\n${body}\n};`;

/** Runs `expr` in an Action that reports its value in app_metadata.result. */
async function evaluate(expr: string, overrides: Partial<RunActionInput> = {}): Promise<unknown> {
  const outcome = await run(
    action(`api.user.setAppMetadata('result', await (async () => ${expr})()); api.authentication.setUserById('auth0|1');`),
    overrides,
  );
  if (outcome.kind !== 'user') throw new Error(`expected a user outcome, got ${JSON.stringify(outcome)}`);
  return outcome.appMetadata.result;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('outcomes', () => {
  it('setUserById gives the user, metadata, organization and actor', async () => {
    const outcome = await run(
      action(`
        api.authentication.setUserById('auth0|abc');
        api.user.setAppMetadata('plan', { tier: 'pro' }).user.setUserMetadata('theme', 'dark');
        api.user.setUserMetadata('old', null);
        api.authentication.setOrganization('org_123');
        api.authentication.setActor({ sub: 'agent-7', act: { sub: 'svc' } });
      `),
    );
    expect(outcome).toEqual({
      kind: 'user',
      user: { kind: 'id', user_id: 'auth0|abc' },
      appMetadata: { plan: { tier: 'pro' } },
      userMetadata: { theme: 'dark', old: null },
      organization: 'org_123',
      actor: { sub: 'agent-7', act: { sub: 'svc' } },
    });
  });

  it('setUserByConnection gives the connection, attributes and options', async () => {
    const outcome = await run(
      action(`api.authentication.setUserByConnection('Username-Password-Authentication',
        { user_id: 'omni-abc', name: 'ci@build-7', nickname: 'ci', email_verified: false },
        { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' });`),
    );
    expect(outcome).toEqual({
      kind: 'user',
      user: {
        kind: 'connection',
        connection: 'Username-Password-Authentication',
        attributes: { user_id: 'omni-abc', name: 'ci@build-7', nickname: 'ci', email_verified: false },
        options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
      },
      appMetadata: {},
      userMetadata: {},
    });
  });

  it.each([
    ['no user_id', `{ name: 'x' }`, `{ creationBehavior: 'none', updateBehavior: 'none' }`, 'user_id'],
    ['a number user_id', `{ user_id: 7 }`, `{ creationBehavior: 'none', updateBehavior: 'none' }`, 'user_id'],
    ['an unknown attribute', `{ user_id: 'u', role: 'admin' }`, `{ creationBehavior: 'none', updateBehavior: 'none' }`, 'unknown user attribute "role"'],
    ['a wrong creationBehavior', `{ user_id: 'u' }`, `{ creationBehavior: 'always', updateBehavior: 'none' }`, 'creationBehavior'],
    ['no updateBehavior', `{ user_id: 'u' }`, `{ creationBehavior: 'none' }`, 'updateBehavior'],
    ['no options', `{ user_id: 'u' }`, `undefined`, 'options'],
  ])('setUserByConnection with %s fails the exchange, even when the Action catches the error', async (_, attrs, options, why) => {
    const outcome = await run(
      action(`
        try { api.authentication.setUserByConnection('db', ${attrs}, ${options}); } catch (e) { if (!(e instanceof TypeError)) throw new Error('not a TypeError'); }
      `),
    );
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.reason).toContain(why);
  });

  it('rejectInvalidSubjectToken rejects, and later calls change nothing', async () => {
    const outcome = await run(
      action(`
        api.access.rejectInvalidSubjectToken('bad signature');
        api.access.deny('access_denied', 'later');
        api.authentication.setUserById('auth0|1');
      `),
    );
    expect(outcome).toEqual({ kind: 'rejected', reason: 'bad signature' });
  });

  it('deny denies with its code, even if the Action throws afterwards', async () => {
    const outcome = await run(
      action(`
        api.access.deny('server_error', 'key fetch failed');
        api.access.rejectInvalidSubjectToken('later');
        throw new Error('after the decision');
      `),
    );
    expect(outcome).toEqual({ kind: 'denied', code: 'server_error', reason: 'key fetch failed' });
  });

  it('a synchronous throw fails with the message, not the stack', async () => {
    const outcome = await run(`exports.onExecuteCustomTokenExchange = (event, api) => { throw new Error('sync boom'); };`);
    expect(outcome).toEqual({ kind: 'failed', reason: 'sync boom' });
  });

  it('an asynchronous throw fails with the message', async () => {
    const outcome = await run(action(`await new Promise((r) => setTimeout(r, 5)); throw new RangeError('async boom');`));
    expect(outcome).toEqual({ kind: 'failed', reason: 'async boom' });
  });

  it('a throw in the module body fails', async () => {
    const outcome = await run(`throw new Error('top-level boom');`);
    expect(outcome).toEqual({ kind: 'failed', reason: 'top-level boom' });
  });

  it('code that does not compile fails at run time too', async () => {
    const outcome = await run(`exports.onExecuteCustomTokenExchange = async (event, api) => {`);
    expect(outcome).toEqual({ kind: 'failed', reason: 'Unexpected end of input' });
  });

  it('a thrown non-Error value fails with its text', async () => {
    expect(await run(action(`throw 'plain string';`))).toEqual({ kind: 'failed', reason: 'plain string' });
  });

  it('a module that does not export the handler fails', async () => {
    const outcome = await run(`exports.onExecutePostLogin = async () => {};`);
    expect(outcome).toEqual({ kind: 'failed', reason: 'the Action does not export onExecuteCustomTokenExchange' });
  });

  it('no setUser call fails', async () => {
    const outcome = await run(action(`api.user.setAppMetadata('a', 1);`));
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.reason).toMatch(/no user was set/);
  });

  it('two setUser calls fail', async () => {
    const outcome = await run(
      action(`
        api.authentication.setUserById('auth0|1');
        api.authentication.setUserByConnection('db', { user_id: 'u' }, { creationBehavior: 'none', updateBehavior: 'none' });
      `),
    );
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.reason).toMatch(/set the user 2 times/);
  });

  it.each([
    ['setUserById without an id', `api.authentication.setUserById('')`],
    ['deny without a code', `api.access.deny(undefined, 'why')`],
    ['metadata that is not JSON', `api.user.setAppMetadata('f', () => 1)`],
    ['an actor without sub', `api.authentication.setActor({ name: 'x' })`],
  ])('%s fails the exchange', async (_, call) => {
    const outcome = await run(action(`try { ${call}; } catch {} api.authentication.setUserById('auth0|1');`));
    expect(outcome.kind).toBe('failed');
  });
});

describe('time limit', () => {
  it('an Action that never settles times out', async () => {
    const outcome = await run(action(`await new Promise(() => {});`), { timeoutMs: 100 });
    expect(outcome).toEqual({ kind: 'failed', reason: 'Action timed out after 100 ms' });
  });

  it('a synchronous endless loop in the handler is interrupted', async () => {
    const outcome = await run(action(`while (true) {}`), { timeoutMs: 100 });
    expect(outcome).toEqual({ kind: 'failed', reason: 'Action timed out after 100 ms' });
  });

  it('an endless loop in the module body is interrupted', async () => {
    const outcome = await run(`for (;;) {}`, { timeoutMs: 100 });
    expect(outcome).toEqual({ kind: 'failed', reason: 'Action timed out after 100 ms' });
  });

  it("clears the Action's timers when the run ends", async () => {
    const cache = new Map<string, CacheEntry>();
    const outcome = await run(
      action(`
        setInterval(() => api.cache.set('tick', String(Date.now())), 5);
        setTimeout(() => api.cache.set('late', 'x'), 30);
        api.authentication.setUserById('auth0|1');
      `),
      { cache },
    );
    expect(outcome.kind).toBe('user');
    await new Promise((r) => setTimeout(r, 80));
    expect(cache.size).toBe(0);
  });
});

describe('stray asynchronous failures', () => {
  it('an unhandled rejection inside the Action fails the run without crashing the emulator', async () => {
    const outcome = await run(
      action(`
        Promise.reject(new Error('stray rejection'));
        await new Promise((r) => setTimeout(r, 50));
        api.authentication.setUserById('auth0|1');
      `),
    );
    expect(outcome).toEqual({ kind: 'failed', reason: 'stray rejection' });
  });

  it('a rejection from a host module the Action did not await is contained too', async () => {
    const outcome = await run(
      action(`
        require('node:crypto').webcrypto.subtle.digest('NOPE', new Uint8Array(1)).then(() => 1);
        await new Promise((r) => setTimeout(r, 50));
        api.authentication.setUserById('auth0|1');
      `),
    );
    expect(outcome.kind).toBe('failed');
  });

  it('a throw in a timer callback fails the run', async () => {
    const outcome = await run(
      action(`
        setTimeout(() => { throw new Error('timer boom'); }, 1);
        await new Promise((r) => setTimeout(r, 50));
        api.authentication.setUserById('auth0|1');
      `),
    );
    expect(outcome).toEqual({ kind: 'failed', reason: 'timer boom' });
  });

  it('work left behind that rejects after the run is ignored', async () => {
    const outcome = await run(
      action(`
        (async () => { await crypto.subtle.digest('SHA-256', new Uint8Array(8)); throw new Error('too late'); })();
        api.authentication.setUserById('auth0|1');
      `),
    );
    expect(outcome.kind).toBe('user');
    // Had the rejection escaped, Node (or Vitest) would report it before this wait ends.
    await new Promise((r) => setTimeout(r, 50));
  });
});

describe('event, secrets and console', () => {
  it('shows the event and a frozen copy of the secrets', async () => {
    const secrets = { API_KEY: 'k-123', ISSUER: 'http://127.0.0.1:4000/' };
    const seen = await evaluate(
      `({ secrets: event.secrets, frozen: Object.isFrozen(event.secrets), body: event.request.body,
          token: event.transaction.subject_token, scopes: event.transaction.requested_scopes,
          isObject: event instanceof Object })`,
      { secrets },
    );
    expect(seen).toEqual({ secrets, frozen: true, body: { extra: 'x' }, token: SUBJECT_TOKEN, scopes: ['openid'], isObject: true });
  });

  it("gives the Action a copy: its changes do not reach the caller's event or secrets", async () => {
    const event = baseEvent();
    const secrets = { A: 'a-value' };
    await evaluate(`(event.transaction.subject_token = 'changed', event.secrets.A = 'changed', event.secrets.A)`, { event, secrets });
    expect(event.transaction.subject_token).toBe(SUBJECT_TOKEN);
    expect(secrets.A).toBe('a-value');
  });

  it('never puts secret values or the subject token in a reason', async () => {
    const outcome = await run(
      action(`throw new Error('failed with ' + event.secrets.API_KEY + ' and ' + event.transaction.subject_token);`),
      { secrets: { API_KEY: 'super-secret-value' } },
    );
    expect(outcome).toEqual({ kind: 'failed', reason: 'failed with [redacted] and [redacted]' });
    const denied = await run(action(`api.access.deny('access_denied', 'key ' + event.secrets.API_KEY);`), {
      secrets: { API_KEY: 'super-secret-value' },
    });
    expect(denied).toEqual({ kind: 'denied', code: 'access_denied', reason: 'key [redacted]' });
  });

  it('leaves short configuration words in reasons: a secret value under 8 characters is not redacted', async () => {
    // An IDENTITY secret of `person` must not turn "not bound to a person" into "[redacted]".
    const denied = await run(action(`api.access.deny('access_denied', 'this machine key is not bound to a person; both ways fail');`), {
      secrets: { IDENTITY: 'person', OTHER: 'both' },
    });
    expect(denied).toEqual({ kind: 'denied', code: 'access_denied', reason: 'this machine key is not bound to a person; both ways fail' });
  });

  it("keeps the Action's console output off the emulator's stdout", async () => {
    const write = vi.spyOn(process.stdout, 'write');
    const logs: string[] = [];
    const result = await evaluate(
      `(console.log('hello', { a: 1 }), console.error('oops'), console.info('%s=%d', 'n', 5), typeof process.stdout)`,
      { logs },
    );
    expect(write).not.toHaveBeenCalled();
    expect(logs).toEqual(['hello { a: 1 }', 'error: oops', 'n=5']);
    expect(result).toBe('undefined');
  });

  it('bounds the console log', async () => {
    const logs: string[] = [];
    await evaluate(`{ for (let i = 0; i < 500; i++) console.log('x'.repeat(5000)); return 1; }`, { logs });
    expect(logs).toHaveLength(101);
    expect(logs[0]!.length).toBeLessThanOrEqual(1001);
    expect(logs[100]).toMatch(/dropped/);
  });

  it('drops console output when no log is given', async () => {
    const write = vi.spyOn(process.stdout, 'write');
    expect(await evaluate(`(console.log('into the void'), 'ok')`)).toBe('ok');
    expect(write).not.toHaveBeenCalled();
  });

  it("has Node's usual globals", async () => {
    const seen = await evaluate(`[
      typeof Buffer.from, typeof URL, typeof URLSearchParams, typeof TextEncoder, typeof TextDecoder,
      atob(btoa('ok')), typeof setTimeout, typeof setImmediate, typeof structuredClone,
      typeof crypto.subtle.digest, typeof crypto.randomUUID, typeof fetch, global === globalThis,
      typeof module, typeof exports, typeof require, __filename
    ]`);
    expect(seen).toEqual([
      'function', 'function', 'function', 'function', 'function', 'ok', 'function', 'function', 'function',
      'function', 'function', 'function', true, 'object', 'object', 'function', expect.stringMatching(/omni-auth-actions?-[^/]+\/(?:[0-9a-f]+\/)?index\.js$/),
    ]);
  });
});

describe('require and import(): the declared packages, loaded by Node', () => {
  const jose = [{ name: 'jose', version: '6.2.18' }];

  it('require() of a declared package is Node\'s own require (jose, an ES module, through require(esm))', async () => {
    // This test runs on a Node with require(esm) (20.19+); without it, see runtime-no-require-esm.e2e.
    const seen = await evaluate(
      `{
        const { generateKeyPair, SignJWT, jwtVerify } = require('jose');
        const { privateKey, publicKey } = await generateKeyPair('ES256');
        const jwt = await new SignJWT({ hi: 1 }).setProtectedHeader({ alg: 'ES256' }).setSubject('s').sign(privateKey);
        const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'] });
        return payload.sub + payload.hi;
      }`,
      { dependencies: jose },
    );
    expect(seen).toBe('s1');
  });

  it('await import() of a declared package works inside the sandbox', async () => {
    const seen = await evaluate(
      `{
        const { generateKeyPair, SignJWT, jwtVerify } = await import('jose');
        const { privateKey, publicKey } = await generateKeyPair('EdDSA');
        const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('imported').sign(privateKey);
        return (await jwtVerify(jwt, publicKey)).payload.sub;
      }`,
      { dependencies: jose },
    );
    expect(seen).toBe('imported');
  });

  it('runs in an install directory whose node_modules links only the declared packages to the installed ones', async () => {
    const seen = (await evaluate(
      `{
        const fs = require('node:fs'), path = require('node:path');
        const nm = path.join(__dirname, 'node_modules');
        return [fs.readdirSync(nm), fs.realpathSync(path.join(nm, 'jose'))];
      }`,
      { dependencies: jose },
    )) as [string[], string];
    expect(seen).toEqual([['jose'], realpathSync(join(ROOT, 'node_modules', 'jose'))]);
    expect(findInstalled('jose')?.dir).toBe(seen[1]);
  });

  it('refuses a package the Action did not declare, with Node\'s errors, for require and import', async () => {
    const outcome = await run(action(`require('jose');`));
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.reason).toMatch(/^Cannot find module 'jose'/);
    const seen = await evaluate(`{ try { require('left-pad'); } catch (e) { return [e instanceof Error, e.code]; } }`, {
      dependencies: jose,
    });
    expect(seen).toEqual([true, 'MODULE_NOT_FOUND']);
    const imported = await evaluate(`import('yaml').then(() => 'loaded', (e) => e.code)`, { dependencies: jose });
    expect(imported).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('provides Node built-ins, with or without the node: prefix, to require and import', async () => {
    const seen = await evaluate(`[
      require('node:crypto').createHash('sha256').update('a').digest('hex').slice(0, 8),
      require('crypto').randomBytes(4).length,
      typeof require('node:util').format,
      typeof require('process').stdout,
      typeof (await import('node:crypto')).createHash,
    ]`);
    expect(seen).toEqual(['ca978112', 4, 'function', 'undefined', 'function']);
  });

  it('fails when a declared dependency is not installed', async () => {
    const outcome = await run(action(`api.authentication.setUserById('a');`), { dependencies: [{ name: 'left-pad', version: '1.3.0' }] });
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.reason).toMatch(/left-pad@1\.3\.0" could not be installed: it is not installed/);
  });
});

describe('buildAction', () => {
  const ok = action(`api.authentication.setUserById('a');`);

  it('builds valid code whose dependencies are installed at exactly the declared version', () => {
    expect(buildAction(ok, [{ name: 'jose', version: '6.2.18' }], 'node22')).toEqual({ ok: true });
    expect(buildAction(ok, [{ name: 'jose', version: 'latest' }], 'node22')).toEqual({ ok: true });
    expect(buildAction(ok, [], 'node22')).toEqual({ ok: true });
  });

  it('fails on a syntax error and names the line', () => {
    const result = buildAction(`exports.onExecuteCustomTokenExchange = async (event, api) => {\n  const x = ;\n};`, [], 'node22');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/does not compile: .*\(line 2\)/);
  });

  it('fails on a dependency that is not installed, as Auth0 fails on one it cannot install', () => {
    const result = buildAction(ok, [{ name: 'axios', version: '1.7.0' }], 'node22');
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/"axios@1\.7\.0" could not be installed: it is not installed with omni-auth/) });
  });

  it('fails on another version of an installed package, naming the installed one', () => {
    for (const version of ['6.2.17', '5.9.6', '6.0.1']) {
      const result = buildAction(ok, [{ name: 'jose', version }], 'node22');
      expect(result).toEqual({ ok: false, error: expect.stringMatching(new RegExp(`jose@${version.replace(/\./g, '\\.')}" could not be installed: omni-auth has jose@6\\.2\\.18`)) });
    }
  });

  it('fails on a range, a tag or a URL: the emulator installs exact versions', () => {
    for (const version of ['^6.0.0', '~6.2', '6.x', 'next', 'github:panva/jose']) {
      expect(buildAction(ok, [{ name: 'jose', version }], 'node22')).toEqual({ ok: false, error: expect.stringMatching(/exact versions only/) });
    }
  });

  it('fails on a duplicate, too many dependencies, a bad name or a built-in', () => {
    expect(buildAction(ok, [{ name: 'jose', version: '6.2.18' }, { name: 'jose', version: '6.2.18' }], 'node22').ok).toBe(false);
    const many = Array.from({ length: 11 }, () => ({ name: 'jose', version: '6.2.18' }));
    expect(buildAction(ok, many, 'node22')).toEqual({ ok: false, error: expect.stringMatching(/at most 10/) });
    expect(buildAction(ok, [{ name: '../jose', version: '6.2.18' }], 'node22')).toEqual({ ok: false, error: expect.stringMatching(/not a valid npm package name/) });
    expect(buildAction(ok, [{ name: 'crypto', version: '1.0.0' }], 'node22')).toEqual({ ok: false, error: expect.stringMatching(/Node built-in/) });
  });

  it('fails on an unsupported runtime', () => {
    expect(buildAction(ok, [], 'node12')).toEqual({ ok: false, error: expect.stringMatching(/runtime "node12" is not supported/) });
  });

  it('finds the jose installed in node_modules, at its installed version', () => {
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'jose', 'package.json'), 'utf8')) as { version: string };
    expect(findInstalled('jose')?.version).toBe(installed.version);
  });
});

describe('api.cache', () => {
  const HOUR = 3_600_000;
  let clock = 1_800_000_000_000;
  const now = (): number => clock;

  it('sets, gets and deletes, with a 24 h default lifetime', async () => {
    const cache = new Map<string, CacheEntry>();
    const seen = await evaluate(
      `[api.cache.set('k', 'v'), api.cache.get('k'), api.cache.get('missing'), api.cache.delete('k'), api.cache.get('k')]`,
      { cache, now },
    );
    expect(seen).toEqual([
      { type: 'success', record: { value: 'v', expires_at: clock + 24 * HOUR } },
      { value: 'v', expires_at: clock + 24 * HOUR },
      null, // undefined, as JSON in app_metadata
      { type: 'success' },
      null,
    ]);
    expect(cache.size).toBe(0);
  });

  it('keeps entries across runs until they expire, then hides them', async () => {
    const cache = new Map<string, CacheEntry>();
    await evaluate(`[api.cache.set('a', '1', { ttl: 1000 }), api.cache.set('b', '2', { expires_at: ${clock} + 5000 })]`, { cache, now });
    expect(await evaluate(`[api.cache.get('a')?.value, api.cache.get('b')?.value]`, { cache, now })).toEqual(['1', '2']);
    clock += 1000;
    expect(await evaluate(`[api.cache.get('a') === undefined, api.cache.get('b')?.value]`, { cache, now })).toEqual([true, '2']);
    expect(cache.has('a')).toBe(false);
  });

  it('caps lifetimes at 24 h and takes the earlier of ttl and expires_at', async () => {
    const seen = await evaluate(
      `[api.cache.set('long', 'v', { ttl: 48 * 3600000 }).record.expires_at - ${clock},
        api.cache.set('both', 'v', { ttl: 10000, expires_at: ${clock} + 2000 }).record.expires_at - ${clock},
        api.cache.set('bad', 'v', { ttl: -1 }).code, api.cache.set('past', 'v', { expires_at: 1 }).code]`,
      { now },
    );
    expect(seen).toEqual([24 * HOUR, 2000, 'INVALID_OPTIONS', 'INVALID_OPTIONS']);
  });

  it('refuses keys over 64 bytes (counted in UTF-8) and values over 4 KB', async () => {
    const seen = await evaluate(`[
      api.cache.set('k'.repeat(64), 'v').type,
      api.cache.set('k'.repeat(65), 'v').code,
      api.cache.set('é'.repeat(33), 'v').code,
      api.cache.set('v1', 'x'.repeat(4096)).type,
      api.cache.set('v2', 'x'.repeat(4097)).code,
      api.cache.set('n', 42).code,
    ]`);
    expect(seen).toEqual(['success', 'KEY_TOO_LARGE', 'KEY_TOO_LARGE', 'success', 'VALUE_TOO_LARGE', 'INVALID_VALUE']);
  });

  it('refuses a 21st entry but lets the 20 be updated', async () => {
    const cache = new Map<string, CacheEntry>();
    const seen = await evaluate(
      `{ const r = []; for (let i = 0; i < 21; i++) r.push(api.cache.set('k' + i, 'v').type);
         return [r.filter((t) => t === 'success').length, api.cache.set('k20', 'v').code, api.cache.set('k3', 'new').type]; }`,
      { cache, now },
    );
    expect(seen).toEqual([CACHE_LIMITS.maxEntries, 'TOO_MANY_ENTRIES', 'success']);
    expect(cache.size).toBe(20);
    expect(cache.get('k3')?.value).toBe('new');
  });

  it('refuses a write that takes keys and values over 8 KB in total', async () => {
    const cache = new Map<string, CacheEntry>();
    // a and b: 1 + 4000 bytes each = 8002; c of 189 characters makes exactly 8192.
    const seen = await evaluate(
      `[api.cache.set('a', 'x'.repeat(4000)).type, api.cache.set('b', 'x'.repeat(4000)).type,
        api.cache.set('c', 'x'.repeat(190)).code, api.cache.set('c', 'x'.repeat(189)).type,
        api.cache.set('a', 'x'.repeat(4001)).code, api.cache.set('a', 'x'.repeat(3000)).type]`,
      { cache, now },
    );
    expect(seen).toEqual(['success', 'success', 'CACHE_FULL', 'success', 'CACHE_FULL', 'success']);
    expect(cache.get('a')?.value).toHaveLength(3000);
  });

  it('purges expired entries to make room', async () => {
    const cache = new Map<string, CacheEntry>();
    for (let i = 0; i < 20; i++) cache.set(`old${i}`, { value: 'v', expires_at: clock - 1 });
    expect(await evaluate(`api.cache.set('fresh', 'v').type`, { cache, now })).toBe('success');
    expect([...cache.keys()]).toEqual(['fresh']);
  });

  it('refuses writes from work the Action left behind', async () => {
    const cache = new Map<string, CacheEntry>();
    await evaluate(`(Promise.resolve().then(() => new Promise((r) => setImmediate(r))).then(() => api.cache.set('late', 'v')), 1)`, {
      cache,
      now,
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(cache.has('late')).toBe(false);
  });
});

const REAL_ACTION = join(ROOT, 'auth0-actions', 'custom_token_exchange.js');

describe.runIf(existsSync(REAL_ACTION))('the real auth0-actions/custom_token_exchange.js', () => {
  const issuer = 'http://127.0.0.1:4000/';
  const clientId = 'cli-client';
  const machine = { host: 'build-7', user: 'ci', platform: 'linux' };
  const deps = (): { name: string; version: string }[] => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'auth0-actions', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    return Object.entries(pkg.dependencies).map(([name, version]) => ({ name, version }));
  };
  const runReal = (subject_token: string, cache: Map<string, CacheEntry>): Promise<ActionOutcome> =>
    runCustomTokenExchangeAction({
      code: readFileSync(REAL_ACTION, 'utf8'),
      dependencies: deps(),
      secrets: { ISSUER: issuer, CONNECTION: 'machines-under-test', IDENTITY: 'machine' },
      event: baseEvent({ subject_token }),
      cache,
      timeoutMs: 20_000,
    });

  it('builds with its declared dependencies', () => {
    expect(buildAction(readFileSync(REAL_ACTION, 'utf8'), deps(), 'node22')).toEqual({ ok: true });
  });

  it('accepts a valid local token, refuses its replay and a token of another audience', async () => {
    const key = await generateMachineKey();
    const cache = new Map<string, CacheEntry>();
    const token = await mintLocalToken({ ...key, audience: issuer, clientId, machine });
    const outcome = await runReal(token, cache);
    expect(outcome).toMatchObject({
      kind: 'user',
      user: {
        kind: 'connection',
        connection: 'machines-under-test',
        attributes: { user_id: expect.stringContaining(key.thumbprint), name: 'ci@build-7' },
        options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
      },
    });

    expect((await runReal(token, cache)).kind).toBe('rejected');

    const other = await mintLocalToken({ ...key, audience: 'https://elsewhere.example/', clientId, machine });
    expect((await runReal(other, cache)).kind).toBe('rejected');
    expect((await runReal('not-a-jws', cache)).kind).toBe('rejected');
  });

  it('maps one machine key to one user id', async () => {
    const cache = new Map<string, CacheEntry>();
    const [a, b] = [await generateMachineKey(), await generateMachineKey('EdDSA')];
    const ids = [];
    for (const key of [a, a, b]) {
      const outcome = await runReal(await mintLocalToken({ ...key, audience: issuer, clientId, machine }), cache);
      ids.push(outcome.kind === 'user' && outcome.user.kind === 'connection' ? outcome.user.attributes.user_id : outcome);
    }
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });
});

describe('forgetCache (EmulatorSettings.forgetActionCache)', () => {
  it('evicts every entry of the trigger cache once the execution ends, whatever its lifetime', async () => {
    const cache = new Map<string, CacheEntry>([['older', { value: 'x', expires_at: Date.now() + 60_000 }]]);
    const seen = await evaluate(`[api.cache.get('older')?.value, api.cache.set('k', 'v').type, api.cache.get('k')?.value]`, { cache, forgetCache: true });
    expect(seen).toEqual(['x', 'success', 'v']);
    expect(cache.size).toBe(0);
  });

  it('also after a failed execution, and keeps entries when off', async () => {
    const cache = new Map<string, CacheEntry>();
    await run(action(`api.cache.set('k', 'v'); throw new Error('boom');`), { cache, forgetCache: true });
    expect(cache.size).toBe(0);
    await run(action(`api.cache.set('k', 'v'); throw new Error('boom');`), { cache });
    expect(cache.get('k')?.value).toBe('v');
  });
});

describe('install directories', () => {
  it('are reused for the same packages and hold links to the declared packages only', async () => {
    const dirOf = async (): Promise<string> => (await evaluate('__dirname', { dependencies: [{ name: 'jose', version: '6.2.18' }] })) as string;
    const [a, b] = [await dirOf(), await dirOf()];
    expect(a).toBe(b);
    const none = (await evaluate('__dirname')) as string;
    expect(none).not.toBe(a);
    expect(readdirSync(join(none, 'node_modules'))).toEqual([]);
    expect(lstatSync(join(a, 'node_modules', 'jose')).isSymbolicLink()).toBe(true);
  });
});

describe('require of an undeclared package', () => {
  it('is not found, with Node\'s code and message, while a subpath of a declared one is resolved', async () => {
    // vitest is installed with the project but not declared by the Action.
    const seen = await evaluate(`{ try { require('vitest'); return 'loaded'; } catch (e) { return [e.code, e.message.split('\\n')[0]]; } }`, {
      dependencies: [{ name: 'jose', version: '6.2.18' }],
    });
    expect(seen).toEqual(['MODULE_NOT_FOUND', "Cannot find module 'vitest'"]);
    const sub = await evaluate(`{ try { require('jose/package.json'); return 'ok'; } catch (e) { return e.code; } }`, {
      dependencies: [{ name: 'jose', version: '6.2.18' }],
    });
    expect(sub).not.toBe('MODULE_NOT_FOUND');
  });
});
