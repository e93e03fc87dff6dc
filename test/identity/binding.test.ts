/** The key↔person binding file and nonce (CONTRACTS-10 §2, §4). */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bindingExpiresAt, bindingNonce, bindingsFile, findBinding, forgetBindings, newSalt, readBindings, saveBinding, type Binding,
} from '../../src/identity/binding.js';

const TP = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const OTHER_TP = 'A'.repeat(43);
const fakeIdToken = (n = 0) => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4${n}In0.${'s'.repeat(40)}`;
const binding = (extra: Partial<Binding> = {}): Binding => ({ id_token: fakeIdToken(), salt: 'AAAAAAAAAAAAAAAAAAAAAA', thumbprint: TP, sub: 'auth0|p1', name: 'Pat', bound_at: 1_800_000_000, ...extra });

describe('bindingNonce', () => {
  it('is base64url(SHA-256("omni-auth-bind/v1:" + thumbprint + ":" + salt)), 43 characters', () => {
    const salt = newSalt();
    expect(salt).toMatch(/^[\w-]{22}$/);
    const expected = createHash('sha256').update(`omni-auth-bind/v1:${TP}:${salt}`).digest('base64url');
    expect(bindingNonce(TP, salt)).toBe(expected);
    expect(bindingNonce(TP, salt)).toHaveLength(43);
  });

  it('differs per key and per salt', () => {
    const salt = newSalt();
    expect(bindingNonce(TP, salt)).not.toBe(bindingNonce(OTHER_TP, salt));
    expect(bindingNonce(TP, salt)).not.toBe(bindingNonce(TP, newSalt()));
  });

  it('names the bad parameter', () => {
    expect(() => bindingNonce('short', newSalt())).toThrow(/"thumbprint"/);
    expect(() => bindingNonce(TP, 'x')).toThrow(/"salt"/);
  });
});

describe('bindings.json', () => {
  it('is written 0600 with the documented shape, one binding per (issuer, client)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'omni-bind-'));
    await saveBinding(home, 'https://t.example/', 'cli', binding());
    await saveBinding(home, 'https://t.example/', 'other-client', binding({ sub: 'auth0|p2' }));
    expect((await stat(bindingsFile(home))).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(await readFile(bindingsFile(home), 'utf8'));
    expect(doc.version).toBe(1);
    expect(Object.keys(doc.bindings)).toEqual(['https://t.example/|cli', 'https://t.example/|other-client']);
    expect(doc.bindings['https://t.example/|cli']).toEqual(binding());
  });

  it('findBinding ignores a binding made with another key, and another tenant\'s or client\'s', async () => {
    const home = await mkdtemp(join(tmpdir(), 'omni-bind-'));
    await saveBinding(home, 'https://t.example/', 'cli', binding());
    expect(await findBinding(home, 'https://t.example/', 'cli', TP)).toMatchObject({ sub: 'auth0|p1' });
    expect(await findBinding(home, 'https://t.example/', 'cli', OTHER_TP)).toBeUndefined();
    expect(await findBinding(home, 'https://other.example/', 'cli', TP)).toBeUndefined();
    expect(await findBinding(home, 'https://t.example/', 'cli2', TP)).toBeUndefined();
  });

  it('a corrupt file is ignored with a warning that quotes nothing, and replaced by the next sign-in', async () => {
    const home = await mkdtemp(join(tmpdir(), 'omni-bind-'));
    await writeFile(bindingsFile(home), `{"version":1,"bindings":${fakeIdToken(7)}`, { mode: 0o600 });
    const read = await readBindings(home);
    expect(read.bindings).toEqual({});
    expect(read.warning).toMatch(/not valid JSON/);
    expect(read.warning).not.toContain(fakeIdToken(7));
    await saveBinding(home, 'https://t.example/', 'cli', binding());
    expect(await findBinding(home, 'https://t.example/', 'cli', TP)).toBeDefined();
  });

  it('expires_at is bound_at + 30 days by default', () => {
    expect(bindingExpiresAt({ bound_at: 1000 })).toBe(1000 + 30 * 86400);
    expect(bindingExpiresAt({ bound_at: 1000 }, 7)).toBe(1000 + 7 * 86400);
  });

  it('refuses an ID token too large for a local token of at most 8192 characters', async () => {
    const home = await mkdtemp(join(tmpdir(), 'omni-bind-'));
    await expect(saveBinding(home, 'https://t/', 'c', binding({ id_token: `a.${'b'.repeat(7000)}.c` }))).rejects.toMatchObject({ code: 'id_token_too_large' });
  });

  it('forgetBindings deletes the file (and says whether there was one)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'omni-bind-'));
    expect(await forgetBindings(home)).toBe(false);
    await saveBinding(home, 'https://t/', 'c', binding());
    expect(await forgetBindings(home)).toBe(true);
    expect((await readBindings(home)).bindings).toEqual({});
  });
});
