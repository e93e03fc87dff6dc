/**
 * No copy of omni-auth's own tokens is left at rest by wiring and unwiring: backups hold the file as
 * the run found it minus our tokens, "all wired" finds tokens under any variable, and a backup taken
 * while another program rewrites the file is the other program's version.
 */
import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyToFile, backupPath, newRun } from '../../src/mcp/apply.js';
import { unwireClients, wireClients } from '../../src/mcp/index.js';
import { issuedBy, TOKEN_PLACEHOLDER, withoutOurTokens } from '../../src/mcp/our-token.js';
import { Secret } from '../../src/util/secret.js';
import { fixture, install, JWT, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

const ISSUER = 'https://tenant.example.com/';
/** A JWT-shaped token with claims, as the tenant issues it (the signature is never checked here). */
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln${Math.random().toString(36).slice(2, 8)}`;
const OURS = jwt({ iss: ISSUER, sub: 'auth0|1' });
const isOurToken = issuedBy(ISSUER);

let home: TempHome;
beforeEach(async () => {
  home = await tempHome();
});
afterEach(() => home.cleanup());

const target = () => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, launcherPath: LAUNCHER, nodePath: NODE });
const wire = (client: string, extra: Record<string, unknown> = {}, token = OURS) =>
  wireClients({ ...target(), clients: [client], getToken: async () => new Secret(token), isOurToken, ...extra });

describe('withoutOurTokens', () => {
  it('replaces only whole JWT-shaped runs the predicate accepts, wherever they sit', () => {
    const text = `a: ${OURS}\nb: "Bearer ${OURS}"\nc = '${JWT}'\nd: v20.20.0/${OURS}.x\n`;
    expect(withoutOurTokens(text, isOurToken)).toBe(`a: ${TOKEN_PLACEHOLDER}\nb: "Bearer ${TOKEN_PLACEHOLDER}"\nc = '${JWT}'\nd: v20.20.0/${OURS}.x\n`);
  });
});

describe('backups never keep our tokens', () => {
  it.each([
    ['cursor', 'cursor/mcp.json'],
    ['vscode', 'vscode/mcp.json'],
    ['codex', 'codex/config.toml'],
    ['goose', 'goose/config.yaml'],
  ])('%s: wire --mode env and a header entry, then unwire all: the file is the fixture again, no backup holds the token', async (client, name) => {
    const path = await install(home, client, 'user', name);
    const original = await fixture(name);
    for (const server of ['omnispindle', 'omnispindle-cloud']) {
      const r = await wire(client, { mode: 'env', server });
      expect(r.files[0]?.status, `${server}: ${String(r.files[0]?.error)}`).toBe('changed');
    }
    expect((await readFile(path, 'utf8')).split(OURS).length - 1).toBe(2);

    const r = await unwireClients({ ...target(), clients: [client], allWired: true, isOurToken });
    expect(r.files[0]?.servers.map((s) => [s.name, s.outcome, s.tokenLeft ?? false])).toEqual([
      ['omnispindle', 'unwired', false], ['omnispindle-cloud', 'unwired', false],
    ]);
    expect(await readFile(path, 'utf8')).toBe(original);
    const backup = await readFile(backupPath(path), 'utf8');
    expect(backup).not.toContain(OURS);
    // The backup is the file before the unwire, with the token blanked out where it was.
    expect(backup.split(TOKEN_PLACEHOLDER).length - 1).toBe(2);
  });

  it('a token the run itself replaces is kept out of the backup even when the tenant cannot say it is ours', async () => {
    const path = await install(home, 'cursor', 'user', 'cursor/mcp.json');
    await wire('cursor', { mode: 'env', isOurToken: undefined });
    const fresh = jwt({ iss: 'https://elsewhere.example/', sub: 'x' });
    const r = await wire('cursor', { mode: 'env', isOurToken: undefined, run: newRun() }, fresh);
    expect(r.files[0]?.status).toBe('changed');
    expect(await readFile(path, 'utf8')).toContain(fresh);
    const backup = await readFile(backupPath(path), 'utf8');
    expect(backup).not.toContain(OURS);
    expect(backup).toContain(`"AUTH0_TOKEN": "${TOKEN_PLACEHOLDER}"`);
  });

  it('a token that is not ours stays in the backup: it is the user\'s', async () => {
    const path = join(home.dir, 'other.json');
    await writeFile(path, `{"a": "${JWT}", "b": "${OURS}"}`);
    await applyToFile(path, (t) => t?.replace('"a"', '"A"'), { run: newRun(), isOurToken });
    expect(await readFile(backupPath(path), 'utf8')).toBe(`{"a": "${JWT}", "b": "${TOKEN_PLACEHOLDER}"}`);
  });
});

describe('unwiring everything wired finds tokens under any --env-var', () => {
  it('mode env with --env-var MY_TOK: unwire all (default variable) takes the token out; a foreign JWT stays', async () => {
    const path = await install(home, 'cursor', 'user', 'cursor/mcp.json');
    const original = await fixture('cursor/mcp.json');
    await wire('cursor', { mode: 'env', envVar: 'MY_TOK' });
    expect(await readFile(path, 'utf8')).toContain(`"MY_TOK": "${OURS}"`);

    // By name with the default variable, the token under MY_TOK is found too: the tenant's check
    // recognises it under any variable (issue 9 §16).
    const named = await unwireClients({ ...target(), clients: ['cursor'], server: 'omnispindle', isOurToken, dryRun: true });
    expect(named.files[0]?.status).toBe('would-change');
    // Without the tenant's check, nothing can tell MY_TOK holds our token: nothing is picked.
    const blind = await unwireClients({ ...target(), clients: ['cursor'], allWired: true, dryRun: true });
    expect(blind.files[0]?.servers ?? []).toEqual([]);

    const r = await unwireClients({ ...target(), clients: ['cursor'], allWired: true, isOurToken });
    expect(r.files[0]?.servers.map((s) => [s.name, s.outcome, s.wiring ?? null])).toEqual([['omnispindle', 'unwired', null]]);
    expect(await readFile(path, 'utf8')).toBe(original);
    expect(await readFile(backupPath(path), 'utf8')).not.toContain(OURS);
  });

  it('keeps a JWT under another variable that the tenant did not issue', async () => {
    const path = await install(home, 'cursor', 'user', 'cursor/mcp.json');
    await wire('cursor', { mode: 'env', envVar: 'MY_TOK' });
    await writeFile(path, (await readFile(path, 'utf8')).replace('"MY_TOK"', `"THEIRS": "${JWT}", "MY_TOK"`));
    await unwireClients({ ...target(), clients: ['cursor'], allWired: true, isOurToken });
    const after = await readFile(path, 'utf8');
    expect(after).toContain(`"THEIRS": "${JWT}"`);
    expect(after).not.toContain(OURS);
  });

  it('exec mode with --env-var MY_TOK: unwire all restores the entry', async () => {
    const path = await install(home, 'cursor', 'user', 'cursor/mcp.json');
    const original = await fixture('cursor/mcp.json');
    await wire('cursor', { envVar: 'MY_TOK' });
    expect(await readFile(path, 'utf8')).toContain('--env-var=MY_TOK');
    await unwireClients({ ...target(), clients: ['cursor'], allWired: true });
    expect(await readFile(path, 'utf8')).toBe(original);
  });
});

describe('the backup and the "changed under us" re-check', () => {
  it('when the file changes under the run, the backup is the version the change was made to', async () => {
    const path = join(home.dir, 'busy.json');
    await writeFile(path, '{"theirs": 0}');
    let calls = 0;
    const run = newRun();
    const r = await applyToFile(path, (t) => {
      calls++;
      // The client rewrites its file right after our locked read: the first attempt is dropped.
      if (calls === 2) writeFileSync(path, '{"theirs": 1}');
      return JSON.stringify({ ...(JSON.parse(t ?? '{}') as object), ours: true });
    }, { run });
    expect(r).toMatchObject({ changed: true, backup: backupPath(path) });
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(await readFile(backupPath(path), 'utf8')).toBe('{"theirs": 1}');
    // Still once per run: a later change in the same run keeps that backup.
    await applyToFile(path, (t) => t?.replace('true', 'false'), { run });
    expect(await readFile(backupPath(path), 'utf8')).toBe('{"theirs": 1}');
  });
});

describe('withoutOurTokens on runs that only look like tokens', () => {
  it('leaves words containing "ey", version numbers and paths alone, and finds a token after them', () => {
    const text = `key: money.eyes.they\nv: 1.2.3\np: /a/eyJx.y\nt: ${OURS}\nu: they${OURS}\n`;
    // A token glued to other word characters is one run with them: replaced whole, as before.
    expect(withoutOurTokens(text, isOurToken)).toBe(`key: money.eyes.they\nv: 1.2.3\np: /a/eyJx.y\nt: ${TOKEN_PLACEHOLDER}\nu: ${TOKEN_PLACEHOLDER}\n`);
  });
});
