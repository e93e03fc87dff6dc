import { beforeAll, describe, expect, it } from 'vitest';
import type { MachineKey } from '../../src/identity/keys.js';
import { actionImport, actionRequire, loadActionWith } from './action-module.js';
import { createEvent, createFakeApi, FakeCache } from './fake-api.js';
import { expectDenied, runAction } from './run.js';
import { ISSUER, keyPairs, mintGood } from './tokens.js';

/** The Action's own faults are deny('server_error'), never a throttled rejection and never a throw. */

const SECRETS = { ISSUER, ALLOWED_KEYS: '', CONNECTION: 'omni-machine-users', IDENTITY: 'machine' };
let key: MachineKey;
let token: string;
beforeAll(async () => {
  key = (await keyPairs()).ES256;
});

async function freshToken(): Promise<string> {
  token = await mintGood(key);
  return token;
}

describe('server faults', () => {
  it('a cache.set that answers {type:"error"} is server_error, not a silently accepted token', async () => {
    const cache = new FakeCache();
    cache.failSetWith = 'CACHE_UNAVAILABLE';
    const run = await runAction(await freshToken(), { cache, secrets: SECRETS });
    expectDenied(run, 'server_error', /replay cache could not be written/, token, SECRETS);
  });

  it('a trigger cache already full of other Actions’ entries is server_error', async () => {
    const cache = new FakeCache();
    for (let i = 0; i < 20; i += 1) expect(cache.set(`other-action:${i}`, 'x').type).toBe('success');
    const run = await runAction(await freshToken(), { cache, secrets: SECRETS });
    expectDenied(run, 'server_error', /replay cache could not be written/, token, SECRETS);
  });

  it('a cache.get that throws is server_error', async () => {
    const cache = new FakeCache();
    cache.failGetWith = new Error('cache down');
    const run = await runAction(await freshToken(), { cache, secrets: SECRETS });
    expectDenied(run, 'server_error', /replay cache could not be read/, token, SECRETS);
  });

  it('an unreadable replay entry is server_error (fails closed)', async () => {
    const cache = new FakeCache();
    cache.set('omni-auth:jti', 'garbage!');
    const run = await runAction(await freshToken(), { cache, secrets: SECRETS });
    expectDenied(run, 'server_error', /unreadable/, token, SECRETS);
  });

  it('an event without a client id is server_error', async () => {
    const run = await runAction(await freshToken(), { clientId: '', secrets: SECRETS });
    expectDenied(run, 'server_error', /no client id/, token, SECRETS);
  });

  it('neither ISSUER nor request.hostname is server_error', async () => {
    const run = await runAction(await freshToken(), { hostname: null, secrets: { IDENTITY: 'machine' } });
    expectDenied(run, 'server_error', /no ISSUER secret/, token);
  });

  it('an unexpected exception is server_error with a generic reason that quotes nothing', async () => {
    const fake = createFakeApi();
    const event = createEvent({ subjectToken: await freshToken(), secrets: SECRETS });
    Object.defineProperty(event, 'transaction', {
      get() {
        throw new Error(`boom ${token} ${SECRETS.CONNECTION}`);
      },
    });
    const { handler } = loadActionWith();
    await expect(handler(event, fake.api)).resolves.toBeUndefined();
    const run = { ...fake, result: fake.outcome() };
    expectDenied(run, 'server_error', /failed unexpectedly/, token, SECRETS);
  });

  it('an api that throws does not make the handler throw', async () => {
    const fake = createFakeApi();
    fake.api.authentication.setUserByConnection = () => {
      throw new Error('api down');
    };
    const { handler } = loadActionWith();
    await expect(handler(createEvent({ subjectToken: await freshToken(), secrets: SECRETS }), fake.api)).resolves.toBeUndefined();
    // No second outcome on top of the failed one.
    expect(fake.calls.filter((call) => call.method.startsWith('access.'))).toEqual([]);
  });
});

describe('loading', () => {
  it('requires only node:crypto at load time, and imports jose — with import(), once — on first use', async () => {
    const required: string[] = [];
    const imported: string[] = [];
    const { handler, importSites } = loadActionWith({
      require: (id) => {
        required.push(id);
        return actionRequire(id);
      },
      importModule: (specifier) => {
        imported.push(specifier);
        return actionImport(specifier);
      },
    });
    expect(importSites).toBeGreaterThan(0);
    expect(required).toEqual(['crypto']);
    expect(imported).toEqual([]);
    for (let i = 0; i < 2; i += 1) {
      const fake = createFakeApi();
      await handler(createEvent({ subjectToken: await freshToken(), secrets: SECRETS }), fake.api);
      expect(fake.outcome().kind).toBe('setUser');
    }
    // jose never through require(): that needs require(esm), which not every node22 has.
    expect(required).toEqual(['crypto']);
    expect(imported).toEqual(['jose']);
  });

  it('a jose that fails to load is server_error (not a crash or a rejection), and is tried again next time', async () => {
    let fail = true;
    const { handler } = loadActionWith({
      importModule: (specifier) => (fail ? Promise.reject(new Error(`Cannot find module '${specifier}'`)) : actionImport(specifier)),
    });
    const fake = createFakeApi();
    await handler(createEvent({ subjectToken: await freshToken(), secrets: SECRETS }), fake.api);
    expectDenied({ ...fake, result: fake.outcome() }, 'server_error', /could not load its dependency jose/, token, SECRETS);

    fail = false;
    const next = createFakeApi();
    await handler(createEvent({ subjectToken: await freshToken(), secrets: SECRETS }), next.api);
    expect(next.outcome().kind).toBe('setUser');
  });

  it('a jose module without the functions the Action needs is server_error', async () => {
    const { handler } = loadActionWith({ importModule: async () => ({ default: {}, compactVerify: () => undefined }) });
    const fake = createFakeApi();
    await handler(createEvent({ subjectToken: await freshToken(), secrets: SECRETS }), fake.api);
    expectDenied({ ...fake, result: fake.outcome() }, 'server_error', /without the functions/, token, SECRETS);
  });

  it('accepts a jose whose functions sit on `default` (a CommonJS build seen through import())', async () => {
    const { handler } = loadActionWith({ importModule: async (specifier) => ({ default: await actionImport(specifier) }) });
    const fake = createFakeApi();
    await handler(createEvent({ subjectToken: await freshToken(), secrets: SECRETS }), fake.api);
    expect(fake.outcome().kind).toBe('setUser');
  });
});
