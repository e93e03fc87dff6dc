import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineKey } from '../../src/identity/keys.js';
import type { LocalTokenAlg } from '../../src/identity/local-token.js';
import { loadAction } from './action-module.js';
import { FakeTenant, PERSON, bindingFor, boundToken, rsaKey, type Binding, type SigningKey } from './binding.js';
import { createEvent, createFakeApi, FakeCache, type CteEvent } from './fake-api.js';
import { encodeSegment, keyPairs, mintGood, signRaw } from './tokens.js';

/**
 * For any input: the handler resolves (never throws), makes exactly one deciding call (reject, deny
 * or setUserByConnection), and sets a user only for the untouched good token. Each run gets a fresh
 * cache, so the good token itself is never a replay.
 */

const handler = loadAction();
const ALGS: LocalTokenAlg[] = ['ES256', 'EdDSA'];
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let keys: Record<LocalTokenAlg, MachineKey>;
let strangers: Record<LocalTokenAlg, MachineKey>;
const good: Partial<Record<LocalTokenAlg, string>> = {};
beforeAll(async () => {
  keys = await keyPairs();
  strangers = await keyPairs();
  for (const alg of ALGS) good[alg] = await mintGood(keys[alg], { lifetimeSeconds: 120 });
});

async function decide(subjectToken: unknown): Promise<string> {
  const fake = createFakeApi();
  const event = createEvent({ subjectToken: '', secrets: { IDENTITY: 'machine' } });
  (event.transaction as Record<string, unknown>).subject_token = subjectToken;
  await handler(event as CteEvent, fake.api);
  const outcome = fake.outcome();
  expect(['reject', 'deny', 'setUser']).toContain(outcome.kind);
  return outcome.kind;
}

/** The property: exactly one outcome, and a user only when the token is the good one. */
async function expectAcceptedOnlyIfGood(token: string, alg: LocalTokenAlg): Promise<void> {
  const kind = await decide(token);
  if (token === good[alg]) expect(kind).toBe('setUser');
  else expect(kind).not.toBe('setUser');
}

const algArb = fc.constantFrom(...ALGS);
const charArb = fc.constantFrom(...BASE64URL, '.', '=', '+', '/', ' ', '\u0000', 'é');
/** Anywhere, or near the end of a segment, where base64url's spare bits make look-alike spellings. */
const mutationArb = fc.record({
  op: fc.constantFrom('flip', 'insert', 'delete'),
  at: fc.oneof(fc.nat(), fc.record({ segment: fc.integer({ min: 0, max: 2 }), back: fc.integer({ min: 1, max: 3 }) })),
  char: charArb,
});
type Mutation = { op: 'flip' | 'insert' | 'delete'; at: number | { segment: number; back: number }; char: string };

function position(token: string, at: Mutation['at']): number {
  if (typeof at === 'number') return at % (token.length + 1);
  const ends = [...token.matchAll(/\./g)].map((match) => match.index).concat(token.length);
  return Math.max(0, (ends[at.segment] ?? token.length) - at.back);
}

function mutate(token: string, mutations: Mutation[]): string {
  let out = token;
  for (const { op, at, char } of mutations) {
    const i = position(out, at);
    if (op === 'insert') out = out.slice(0, i) + char + out.slice(i);
    else if (op === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else out = out.slice(0, i) + char + out.slice(i + 1);
  }
  return out;
}

const decodeSegment = (segment: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('the Action under hostile input (property)', () => {
  it('never throws and never accepts arbitrary values or strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.anything()), async (value) => {
        expect(await decide(value)).not.toBe('setUser');
      }),
      { numRuns: 150 },
    );
  });

  it('never accepts JWS-shaped strings of random JSON', async () => {
    const headerArb = fc.record(
      {
        alg: fc.constantFrom('ES256', 'EdDSA', 'none', 'HS256', 'RS256', ''),
        typ: fc.constantFrom('omni-local+jwt', 'JWT'),
        jwk: fc.oneof(fc.jsonValue(), fc.constant(undefined)),
        kid: fc.string(),
      },
      { requiredKeys: [] },
    );
    const segmentArb = fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 120 });
    await fc.assert(
      fc.asyncProperty(headerArb, fc.jsonValue(), segmentArb, async (header, payload, signature) => {
        expect(await decide(`${encodeSegment(header)}.${encodeSegment(payload)}.${signature}`)).not.toBe('setUser');
      }),
      { numRuns: 150 },
    );
  });

  it('accepts a good token only untouched: flipped, inserted and deleted characters', async () => {
    await fc.assert(
      fc.asyncProperty(algArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (alg, mutations) => {
        await expectAcceptedOnlyIfGood(mutate(good[alg]!, mutations), alg);
      }),
      { numRuns: 250 },
    );
  });

  it('accepts a good token only untouched: segments swapped, dropped or repeated', async () => {
    await fc.assert(
      fc.asyncProperty(algArb, fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 5 }), async (alg, order) => {
        const segments = good[alg]!.split('.');
        await expectAcceptedOnlyIfGood(order.map((i) => segments[i]).join('.'), alg);
      }),
      { numRuns: 100 },
    );
  });

  it('never accepts claims or header members changed without re-signing', async () => {
    const claimArb = fc.constantFrom('iss', 'sub', 'aud', 'azp', 'iat', 'nbf', 'exp', 'jti', 'machine', 'extra');
    const headerMemberArb = fc.constantFrom('alg', 'typ', 'jwk', 'kid', 'crit', 'b64');
    await fc.assert(
      fc.asyncProperty(
        algArb,
        fc.boolean(),
        fc.oneof(claimArb, headerMemberArb),
        fc.option(fc.jsonValue(), { nil: undefined }),
        async (alg, inHeader, name, value) => {
          const [h, p, s] = good[alg]!.split('.') as [string, string, string];
          const target = decodeSegment(inHeader ? h : p);
          if (value === undefined) delete target[name];
          else target[name] = value;
          const changed = encodeSegment(target);
          const token = inHeader ? `${changed}.${p}.${s}` : `${h}.${changed}.${s}`;
          await expectAcceptedOnlyIfGood(token, alg);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never accepts a token re-signed by another key that keeps the header jwk', async () => {
    await fc.assert(
      fc.asyncProperty(algArb, fc.option(fc.string({ minLength: 22, maxLength: 40, unit: fc.constantFrom(...BASE64URL) })), async (alg, jti) => {
        const [h, p] = good[alg]!.split('.') as [string, string];
        const payload = decodeSegment(p);
        if (jti !== null) payload.jti = jti;
        const token = await signRaw(decodeSegment(h), payload, strangers[alg].privateKey);
        expect(await decide(token)).toBe('reject');
      }),
      { numRuns: 60 },
    );
  });
});

/**
 * Person-bound keys: a local token properly signed by its machine key, carrying a binding that is
 * the good one with something changed. Whatever the change, the person is set only when the binding
 * is byte for byte the good one — and the binding of one key never serves another.
 */
describe('the binding under hostile input (property)', () => {
  let tenant: FakeTenant;
  let signer: SigningKey;
  let goodBinding: Binding;
  let jwksEntry: string;

  beforeAll(async () => {
    signer = await rsaKey('tenant-key-1');
    tenant = await FakeTenant.start([signer.jwk]);
    goodBinding = await bindingFor(keys.ES256, tenant, signer);
    // One real fetch fills the cache entry each run then starts from (no fetch per run).
    const cache = new FakeCache();
    expect(await decideBound(keys.ES256, goodBinding, cache)).toBe('setUserById');
    jwksEntry = cache.get('omni-auth:jwks')!.value;
  });
  afterAll(() => tenant.close());

  async function decideBound(key: MachineKey, binding: unknown, cache = seeded()): Promise<string> {
    const fake = createFakeApi({ cache });
    const token = await boundToken(key, tenant.issuer, binding);
    await handler(createEvent({ subjectToken: token, secrets: { ISSUER: tenant.issuer, IDENTITY: 'person' } }), fake.api);
    const outcome = fake.outcome();
    expect(['reject', 'deny', 'setUserById']).toContain(outcome.kind);
    if (outcome.kind === 'setUserById') expect(outcome.userId).toBe(PERSON);
    return outcome.kind;
  }

  function seeded(): FakeCache {
    const cache = new FakeCache();
    if (jwksEntry) cache.set('omni-auth:jwks', jwksEntry);
    return cache;
  }

  async function expectPersonOnlyIfGood(binding: Binding, key: MachineKey = keys.ES256): Promise<void> {
    const kind = await decideBound(key, binding);
    const untouched = key === keys.ES256 && binding.id_token === goodBinding.id_token && binding.salt === goodBinding.salt;
    if (untouched) expect(kind).toBe('setUserById');
    else expect(kind).not.toBe('setUserById');
  }

  it('sets the person only for the untouched ID token: flipped, inserted and deleted characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (mutations) => {
        await expectPersonOnlyIfGood({ ...goodBinding, id_token: mutate(goodBinding.id_token, mutations) });
      }),
      { numRuns: 150 },
    );
  });

  it('never sets the person for ID token claims or header members changed without re-signing', async () => {
    const claimArb = fc.constantFrom('iss', 'sub', 'aud', 'azp', 'iat', 'exp', 'nonce', 'auth_time', 'extra');
    const headerArb = fc.constantFrom('alg', 'kid', 'typ', 'crit', 'jku', 'jwk');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.oneof(claimArb, headerArb), fc.option(fc.jsonValue(), { nil: undefined }), async (inHeader, name, value) => {
        const [h, p, sig] = goodBinding.id_token.split('.') as [string, string, string];
        const target = decodeSegment(inHeader ? h : p);
        if (value === undefined) delete target[name];
        else target[name] = value;
        const changed = encodeSegment(target);
        const idToken = inHeader ? `${changed}.${p}.${sig}` : `${h}.${changed}.${sig}`;
        await expectPersonOnlyIfGood({ ...goodBinding, id_token: idToken });
      }),
      { numRuns: 150 },
    );
  });

  it('never sets the person for another salt, or for any binding value that is not the good one', async () => {
    const saltArb = fc.oneof(fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 20, maxLength: 24 }), fc.string());
    await fc.assert(
      fc.asyncProperty(saltArb, async (salt) => {
        await expectPersonOnlyIfGood({ ...goodBinding, salt });
      }),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ id_token: fc.jsonValue(), salt: fc.jsonValue() })), async (binding) => {
        expect(await decideBound(keys.ES256, binding)).not.toBe('setUserById');
      }),
      { numRuns: 100 },
    );
  });

  it('a binding made for one key never gets the person for another key', async () => {
    await fc.assert(
      fc.asyncProperty(algArb, fc.boolean(), async (alg, ownSalt) => {
        const intruder = strangers[alg];
        // The good binding as is, or re-salted: the nonce is of keys.ES256 either way.
        const binding = ownSalt ? goodBinding : await bindingFor(keys.ES256, tenant, signer);
        expect(await decideBound(intruder, binding)).toBe('reject');
      }),
      { numRuns: 20 },
    );
  });
});
