import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MachineKey } from '../../src/identity/keys.js';
import type { LocalTokenAlg } from '../../src/identity/local-token.js';
import { expectDenied, expectRejected, runMachine } from './run.js';
import { HOSTNAME, ISSUER, expectedUsername, goodClaims, keyPairs, mintGood, nowSeconds, signWith } from './tokens.js';

let keys: Record<LocalTokenAlg, MachineKey>;
beforeAll(async () => {
  keys = await keyPairs();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the Action accepts a good local token', () => {
  it.each(['ES256', 'EdDSA'] as const)('%s: sets exactly one user in omni-auth-machines: omni-<thumbprint>, its base32 username, user@host, no email', async (alg) => {
    const key = keys[alg];
    const run = await runMachine(await mintGood(key));
    expect(run.result).toEqual({
      kind: 'setUser',
      connection: 'omni-auth-machines',
      attributes: { user_id: `omni-${key.thumbprint}`, username: expectedUsername(key.thumbprint), name: 'alice@devbox', nickname: 'alice' },
      options: { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
    });
    expect(run.calls.filter((call) => call.method.startsWith('access.'))).toEqual([]);
  });

  it('derives a username Auth0 keeps as is: omni- + 52 lowercase base32 characters of the 32 thumbprint bytes', async () => {
    for (const key of [keys.ES256, keys.EdDSA, ...Object.values(await keyPairs())]) {
      const run = await runMachine(await mintGood(key));
      const username = run.result.kind === 'setUser' ? String(run.result.attributes.username) : '';
      // 57 ≤ 64 (the connection's max_length); lowercase already, so Auth0's lowercasing changes nothing.
      expect(username).toMatch(/^omni-[a-z2-7]{52}$/);
      expect(username.toLowerCase()).toBe(username);
      expect(username).not.toContain('@');
      // Every bit of the thumbprint is in it: decoding gives the kid's bytes back.
      const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
      const bits = [...username.slice(5)].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
      const bytes = Buffer.from(bits.slice(0, 256).match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
      expect(bytes.toString('base64url')).toBe(key.thumbprint);
      expect(bits.slice(256)).toBe('0000');
    }
  });

  it('(the reference username above is RFC 4648 base32: bytes 0x00…0x1f as Python\'s b32encode gives them, lowercased, unpadded)', () => {
    const kid = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64url');
    expect(expectedUsername(kid)).toBe('omni-aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq');
  });

  it('maps two tokens of the same key to the same user, and different keys to different users', async () => {
    const first = await runMachine(await mintGood(keys.ES256));
    const second = await runMachine(await mintGood(keys.ES256));
    const other = await runMachine(await mintGood(keys.EdDSA));
    const userId = (run: typeof first) => (run.result.kind === 'setUser' ? run.result.attributes.user_id : undefined);
    expect(userId(first)).toBe(`omni-${keys.ES256.thumbprint}`);
    expect(userId(second)).toBe(userId(first));
    expect(userId(other)).toBe(`omni-${keys.EdDSA.thumbprint}`);
  });

  it('uses the CONNECTION secret', async () => {
    const run = await runMachine(await mintGood(keys.ES256), { secrets: { CONNECTION: ' omni-machines ' } });
    expect(run.result).toMatchObject({ kind: 'setUser', connection: 'omni-machines' });
  });

  it('falls back to https://{request.hostname}/ as the audience when ISSUER is not set', async () => {
    const run = await runMachine(await mintGood(keys.ES256, { audience: `https://${HOSTNAME}/` }), { secrets: {} });
    expect(run.result.kind).toBe('setUser');
  });

  it('accepts any of several comma-separated ISSUER URLs, and only those', async () => {
    const secrets = { ISSUER: 'https://login.example.com/, http://127.0.0.1:43123/ ,https://other.example.com/' };
    for (const audience of ['https://login.example.com/', 'http://127.0.0.1:43123/', 'https://other.example.com/']) {
      const run = await runMachine(await mintGood(keys.ES256, { audience }), { secrets });
      expect(run.result.kind, audience).toBe('setUser');
    }
    // ISSUER replaces the hostname fallback rather than adding to it.
    const token = await mintGood(keys.ES256, { audience: ISSUER });
    const run = await runMachine(token, { secrets });
    expect(run.result).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/aud/) });
  });

  it('lets a key on ALLOWED_KEYS through (spaces and empty items ignored)', async () => {
    const secrets = { ALLOWED_KEYS: ` ${keys.EdDSA.thumbprint}, ,${keys.ES256.thumbprint} ` };
    const run = await runMachine(await mintGood(keys.ES256), { secrets });
    expect(run.result.kind).toBe('setUser');
  });

  it('denies (access_denied, not a throttled rejection) a valid token from a key not on ALLOWED_KEYS', async () => {
    const secrets = { ALLOWED_KEYS: keys.EdDSA.thumbprint };
    const token = await mintGood(keys.ES256);
    const run = await runMachine(token, { secrets });
    expectDenied(run, 'access_denied', /not on the allow-list/, token, secrets);
    // The denied key is named so an admin can add it.
    expect(run.result.kind === 'deny' && run.result.reason).toContain(keys.ES256.thumbprint);
    expect(run.cache.keys()).toEqual([]);
  });

  it('treats an empty ALLOWED_KEYS as no allow-list', async () => {
    const run = await runMachine(await mintGood(keys.ES256), { secrets: { ALLOWED_KEYS: ' , ' } });
    expect(run.result.kind).toBe('setUser');
  });

  it('strips control and bidi characters from machine.user/host and bounds their length', async () => {
    const claims = goodClaims(keys.ES256);
    claims.machine = { host: `h\u0000o\u202est\n${'x'.repeat(300)}`, user: ` bö\u0007b${'y'.repeat(100)} `, platform: 'linux' };
    const run = await runMachine(await signWith(keys.ES256, claims));
    expect(run.result.kind).toBe('setUser');
    if (run.result.kind !== 'setUser') return;
    const { name, nickname } = run.result.attributes;
    expect(nickname).toBe(`böb${'y'.repeat(61)}`);
    expect(name).toBe(`${nickname}@host${'x'.repeat(124)}`);
  });

  it('allows clock skew: expired up to 30 s ago, iat and nbf up to 60 s ahead', async () => {
    const now = nowSeconds();
    const late = { ...goodClaims(keys.ES256, now - 140), exp: now - 20 };
    const early = { ...goodClaims(keys.ES256, now + 50) };
    expect((await runMachine(await signWith(keys.ES256, late))).result.kind).toBe('setUser');
    expect((await runMachine(await signWith(keys.ES256, early))).result.kind).toBe('setUser');
  });

  it('accepts a token without nbf, and a lifetime of exactly 120 s', async () => {
    const now = nowSeconds();
    const claims: Record<string, unknown> = { ...goodClaims(keys.EdDSA, now), exp: now + 120 };
    delete claims.nbf;
    expect((await runMachine(await signWith(keys.EdDSA, claims))).result.kind).toBe('setUser');
  });
});

describe('invisible characters never reach the display name (issue 9 §9)', () => {
  async function displayed(user: string, host = 'devbox'): Promise<{ name?: string; nickname?: string }> {
    const claims = { ...goodClaims(keys.ES256), machine: { host, user, platform: 'linux' } };
    const run = await runMachine(await signWith(keys.ES256, claims));
    expect(run.result.kind).toBe('setUser');
    return run.result.kind === 'setUser' ? run.result.attributes : {};
  }

  it('"adm\\u200din" shows as "admin"', async () => {
    expect(await displayed('adm\u200din')).toMatchObject({ nickname: 'admin', name: 'admin@devbox' });
  });

  it.each([
    ['U+200B zero width space', '\u200b'],
    ['U+200C zero width non-joiner', '\u200c'],
    ['U+200D zero width joiner', '\u200d'],
    ['U+2060 word joiner', '\u2060'],
    ['U+FEFF byte order mark', '\ufeff'],
    ['U+2028 line separator', '\u2028'],
    ['U+2029 paragraph separator', '\u2029'],
    ['U+061C Arabic letter mark', '\u061c'],
    ['U+200E/U+200F directional marks', '\u200e\u200f'],
    ['U+202A–U+202E bidi embeddings and overrides', '\u202a\u202b\u202c\u202d\u202e'],
    ['U+2066–U+2069 bidi isolates', '\u2066\u2067\u2068\u2069'],
    ['U+00AD soft hyphen', '\u00ad'],
    ['U+180E Mongolian vowel separator', '\u180e'],
    ['U+E0041 tag character', '\u{e0041}'],
    ['U+3164 Hangul filler', '\u3164'],
    ['C0 and C1 controls', '\u0000\u0007\u001b\u007f\u0085\u009b'],
  ])('%s is removed from user and host', async (_name, chars) => {
    expect(await displayed(`ad${chars}min`, `dev${chars}box`)).toMatchObject({ nickname: 'admin', name: 'admin@devbox' });
  });

  it('keeps visible non-ASCII letters', async () => {
    expect(await displayed('Zoë-日本', 'hôte')).toMatchObject({ nickname: 'Zoë-日本', name: 'Zoë-日本@hôte' });
  });

  it('a user of invisible characters only is refused as empty', async () => {
    const claims = { ...goodClaims(keys.ES256), machine: { host: 'devbox', user: '\u200b\u200d\u2060\ufeff\u2028', platform: 'linux' } };
    const token = await signWith(keys.ES256, claims);
    expectRejected(await runMachine(token), /must not be empty/, token);
  });
});

describe('the exact expiry boundary (issue 9 §19), on a controlled clock', () => {
  it('refuses a token when exp + 30 s leeway == now, and accepts it one second earlier', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const iat = 1_900_000_000;
    const exp = iat + 60;
    const token = await signWith(keys.ES256, { ...goodClaims(keys.ES256, iat), exp });

    vi.setSystemTime((exp + 30) * 1000);
    expectRejected(await runMachine(token), /expired/, token);
    vi.setSystemTime((exp + 30) * 1000 - 1);
    expect((await runMachine(token)).result.kind).toBe('setUser');
    vi.setSystemTime((exp + 29) * 1000);
    expect((await runMachine(token)).result.kind).toBe('setUser');
  });

  it('accepts iat exactly 60 s ahead, refuses 61 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = 1_900_000_000;
    vi.setSystemTime(now * 1000);
    expect((await runMachine(await signWith(keys.ES256, goodClaims(keys.ES256, now + 60)))).result.kind).toBe('setUser');
    const ahead = await signWith(keys.ES256, goodClaims(keys.ES256, now + 61));
    expectRejected(await runMachine(ahead), /iat is in the future/, ahead);
  });
});
