/**
 * Config files as people really write them (issue 9 §12–§16, §18), modelled on public files: Goose's
 * config.yaml with hand-added extensions (no `envs`, remote without `headers`), Codex's config.toml
 * with `bearer_token_env_var`, Zed's settings.json in the older `"command": {"path","args","env"}`
 * shape, a Cursor file with the user's own `AUTH0_TOKEN` and hand-written `omni-auth exec` wrappers.
 * For each: wire twice changes nothing more, unwire gives back the original byte for byte, and what
 * cannot be wired safely is left alone, reported as skipped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addServer, unwireClients, wireClients, type FileReport, type McpReport } from '../../src/mcp/index.js';
import { issuedBy } from '../../src/mcp/our-token.js';
import { Secret } from '../../src/util/secret.js';
import { fixture, install, LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

const ISSUER = 'https://tenant.example.com/';
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln${Math.random().toString(36).slice(2, 8)}`;
const OURS = jwt({ iss: ISSUER, sub: 'auth0|1' });
const FRESH = jwt({ iss: ISSUER, sub: 'auth0|1', n: 2 });
const isOurToken = issuedBy(ISSUER);

let home: TempHome;
let recordPath: string;
beforeEach(async () => {
  home = await tempHome();
  recordPath = join(home.dir, '.config', 'omni-auth', 'mcp-wired.json');
});
afterEach(() => home.cleanup());

const target = (client: string) => ({ env: home.env, platform: 'linux' as const, cwd: home.cwd, clients: [client], scope: 'user' as const, launcherPath: LAUNCHER, nodePath: NODE, recordPath });
const wire = (client: string, extra: Record<string, unknown> = {}, token = OURS) =>
  wireClients({ ...target(client), getToken: async () => new Secret(token), isOurToken, ...extra });
/** A plain `unwire`: default variable; no tenant settings unless given. */
const unwire = (client: string, extra: Record<string, unknown> = {}) => unwireClients({ ...target(client), ...extra });
const read = (p: string) => readFile(p, 'utf8');
const only = (r: McpReport): FileReport => {
  expect(r.files).toHaveLength(1);
  const f = r.files[0] as FileReport;
  if (f.error) throw f.error;
  return f;
};
const outcomes = (r: McpReport) => only(r).servers.map((s) => [s.name, s.outcome, s.code ?? null]);

describe('§12 Goose: block mappings wire added are taken out again', () => {
  it('--mode env on an extension without envs: unwire gives back the file byte for byte', async () => {
    const path = await install(home, 'goose', 'user', 'realworld/goose-config.yaml');
    const original = await read(path);
    expect(outcomes(await wire('goose', { mode: 'env' }))).toEqual([['omnispindle', 'wired', null]]);
    const wired = await read(path);
    expect(wired).toContain(`    envs:\n      AUTH0_TOKEN: ${OURS}\n`);
    expect(only(await wire('goose', { mode: 'env' })).status).toBe('unchanged');

    const r = await unwire('goose');
    expect(only(r).status).toBe('changed');
    expect(await read(path)).toBe(original);
  });

  it('remote entry without headers: wire adds headers, unwire removes them again', async () => {
    const path = await install(home, 'goose', 'user', 'realworld/goose-config.yaml');
    const original = await read(path);
    await wire('goose', { server: 'omnispindle-cloud' });
    expect(await read(path)).toContain(`    headers:\n      Authorization: Bearer ${OURS}\n`);
    expect(only(await wire('goose', { server: 'omnispindle-cloud' })).status).toBe('unchanged');
    expect(only(await unwire('goose', { server: 'omnispindle-cloud' })).status).toBe('changed');
    expect(await read(path)).toBe(original);
  });

  it('with no record kept (wired by an older version), a block mapping emptied by unwire becomes {} instead of failing', async () => {
    const path = await install(home, 'goose', 'user', 'realworld/goose-config.yaml');
    const original = await read(path);
    await wire('goose', { mode: 'env', recordPath: join(home.dir, 'nowhere', 'x.json') });
    await writeFile(recordPath, '{"version":1,"entries":{}}\n').catch(() => undefined);
    const r = await unwire('goose', { isOurToken, recordPath: join(home.dir, 'elsewhere.json') });
    expect(only(r).status).toBe('changed');
    const after = await read(path);
    expect(after).not.toContain(OURS);
    // Goose writes `envs: {}` in the entries it creates: the likelier original, and valid.
    expect(after).toBe(original.replace('    timeout: 300\n  github:', '    timeout: 300\n    envs: {}\n  github:'));
  });

  it('an entry from `mcp add --url` unwires (token gone, exit status fine)', async () => {
    const path = await install(home, 'goose', 'user', 'realworld/goose-config.yaml');
    const added = await addServer({ ...target('goose'), name: 'tickets', url: 'https://mcp.tickets.example/mcp', getToken: async () => new Secret(OURS), isOurToken });
    expect(outcomes(added)).toEqual([['tickets', 'added', null]]);
    const withToken = await read(path);
    expect(withToken).toContain(`Authorization: Bearer ${OURS}`);
    const r = await unwire('goose', { server: 'tickets' });
    expect(outcomes(r)).toEqual([['tickets', 'unwired', null]]);
    const after = await read(path);
    expect(after).not.toContain(OURS);
    expect(after).toContain('    headers: {}\n');
  });
});

describe('§13 a value of the user\'s own under the variable is never overwritten', () => {
  it('--mode env leaves `"AUTH0_TOKEN": "${MY_STATIC_TOKEN}"` alone and reports the entry as skipped', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    for (const mode of ['env', 'exec']) {
      const r = await wire('cursor', { mode });
      expect(outcomes(r)).toEqual([['omnispindle', 'skipped', 'foreign_env_value']]);
      expect(await read(path)).toBe(original);
    }
    // Unwire never deletes the user's env.
    expect(only(await unwire('cursor', { isOurToken })).status).toBe('unchanged');
    expect(await read(path)).toBe(original);
  });

  it('Goose env_keys / Codex env_vars that already give the server the variable: left alone', async () => {
    const path = await install(home, 'goose', 'user', 'realworld/goose-config.yaml');
    const text = (await read(path)).replace('    cmd: npx\n    args:\n      - -y\n      - omnispindle@latest\n', '    cmd: npx\n    args:\n      - -y\n      - omnispindle@latest\n    env_keys:\n      - AUTH0_TOKEN\n');
    await writeFile(path, text);
    for (const mode of ['env', 'exec']) {
      expect(outcomes(await wire('goose', { mode }))).toEqual([['omnispindle', 'skipped', 'foreign_env_value']]);
      expect(await read(path)).toBe(text);
    }
    const codex = await install(home, 'codex', 'user', 'realworld/codex-config.toml');
    const toml = `${await read(codex)}\n[mcp_servers.local]\ncommand = "srv"\nenv_vars = ["AUTH0_TOKEN"]\n`;
    await writeFile(codex, toml);
    expect(outcomes(await wire('codex', { server: 'local' }))).toEqual([['local', 'skipped', 'foreign_env_value']]);
    expect(await read(codex)).toBe(toml);
  });

  it('a token of ours under the variable is refreshed, the user\'s other variables stay', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    await writeFile(path, original.replace('"${MY_STATIC_TOKEN}"', `"${OURS}"`));
    const before = await read(path);
    await wire('cursor', { mode: 'env' }, FRESH);
    expect(await read(path)).toBe(before.replace(OURS, FRESH));
    await unwire('cursor', { isOurToken });
    // Only the token goes: the user's OMNISPINDLE_REGION (and the env object) stay.
    expect(await read(path)).toBe(before.replace(`        "AUTH0_TOKEN": "${OURS}",\n`, ''));
  });
});

describe('§14 hand-written and npx wrappers', () => {
  it('unwire does not rewrite an `omni-auth exec -- …` entry it never wired', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    for (const server of ['omnispindle-hand', 'omnispindle-npx', 'omnispindle-path']) {
      expect(outcomes(await unwire('cursor', { server, isOurToken }))).toEqual([[server, 'unchanged', null]]);
      expect(await read(path)).toBe(original);
    }
    // `unwire --all` (and logout) does not pick them either.
    expect(only(await unwire('cursor', { allWired: true, isOurToken })).servers.map((s) => s.name)).toEqual([]);
    expect(await read(path)).toBe(original);
  });

  it('wire recognises them as already routed through omni-auth and does not wrap them twice', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    for (const server of ['omnispindle-hand', 'omnispindle-npx', 'omnispindle-path']) {
      const r = await wire('cursor', { server });
      expect(only(r).servers).toMatchObject([{ name: server, outcome: 'unchanged', wiring: 'exec', byHand: true }]);
      expect(await read(path)).toBe(original);
    }
  });

  it('an entry omni-auth wired is still unwired, and wiring it again changes nothing', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    await wire('cursor', { server: 'omnispindle-plain' });
    const wired = await read(path);
    expect(wired).toContain(`"args": ["${LAUNCHER}", "exec", "--env-var", "AUTH0_TOKEN", "--", "uvx", "omnispindle-server"]`);
    expect(only(await wire('cursor', { server: 'omnispindle-plain' })).status).toBe('unchanged');
    await unwire('cursor', { server: 'omnispindle-plain' });
    expect(await read(path)).toBe(original);
  });
});

describe('§15 Codex: an entry with bearer_token_env_var gets no second auth source', () => {
  it('is left alone, reported as skipped with the reason and a way to feed it', async () => {
    const path = await install(home, 'codex', 'user', 'realworld/codex-config.toml');
    const original = await read(path);
    for (const server of ['omnispindle', 'figma']) {
      const r = await wire('codex', { server });
      const s = only(r).servers[0];
      expect(s).toMatchObject({ outcome: 'skipped', code: 'own_auth_source' });
      expect(s?.reason).toMatch(/already takes its token from \$(OMNISPINDLE_TOKEN|FIGMA_OAUTH_TOKEN).*omni-auth exec --env-var/);
      expect(await read(path)).toBe(original);
    }
  });
});

describe('§16 a plain unwire finds a token stored under --env-var MY_TOK', () => {
  it('without the tenant\'s settings, from what wire recorded', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    await wire('cursor', { server: 'omnispindle-plain', mode: 'env', envVar: 'MY_TOK' });
    expect(await read(path)).toContain(`"MY_TOK": "${OURS}"`);
    const r = await unwire('cursor', { server: 'omnispindle-plain' });
    expect(outcomes(r)).toEqual([['omnispindle-plain', 'unwired', null]]);
    expect(await read(path)).toBe(original);
    // The record is gone with the token.
    expect(await read(recordPath)).not.toContain('omnispindle-plain');
  });

  it('with the tenant\'s settings and no record: our token under any variable', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    const original = await read(path);
    await wire('cursor', { server: 'omnispindle-plain', mode: 'env', envVar: 'MY_TOK', recordPath: join(home.dir, 'lost.json') });
    const r = await unwire('cursor', { server: 'omnispindle-plain', isOurToken });
    expect(outcomes(r)).toEqual([['omnispindle-plain', 'unwired', null]]);
    expect(await read(path)).toBe(original);
  });

  it('a JWT under the variable that is neither recorded nor the tenant\'s stays, reported', async () => {
    const path = await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    await wire('cursor', { server: 'omnispindle-plain', mode: 'env', envVar: 'MY_TOK' });
    const theirs = jwt({ iss: 'https://other.example/' });
    await writeFile(path, (await read(path)).replace(OURS, theirs));
    const r = await unwire('cursor', { server: 'omnispindle-plain', isOurToken });
    expect(only(r).servers).toMatchObject([{ outcome: 'unchanged', tokenLeft: true }]);
    expect(await read(path)).toContain(theirs);
  });
});

describe('§18 Zed: the older "command": {"path","args","env"} shape', () => {
  it('is wired inside the command object and unwired back, byte for byte (exec, and an entry without args)', async () => {
    const path = await install(home, 'zed', 'user', 'realworld/zed-settings.json');
    const original = await read(path);
    for (const server of ['omnispindle', 'omnispindle-bare']) {
      const r = await wire('zed', { server });
      expect(outcomes(r)).toEqual([[server, 'wired', null]]);
      expect(only(r).servers[0]).toMatchObject({ transport: 'stdio', wiring: 'exec' });
    }
    const wired = await read(path);
    expect(wired).toContain(`"path": "${NODE}",\n        "args": ["${LAUNCHER}", "exec", "--env-var", "AUTH0_TOKEN", "--", "/home/dev/.local/bin/omnispindle", "run", "--stdio"],`);
    expect(wired).toContain(`"args": ["${LAUNCHER}", "exec", "--env-var=AUTH0_TOKEN", "--", "omnispindle"]`);
    for (const server of ['omnispindle', 'omnispindle-bare']) expect(only(await wire('zed', { server })).status).toBe('unchanged');
    for (const server of ['omnispindle', 'omnispindle-bare']) expect(outcomes(await unwire('zed', { server }))).toEqual([[server, 'unwired', null]]);
    expect(await read(path)).toBe(original);
  });

  it('--mode env puts the token in the command\'s env and takes it out again', async () => {
    const path = await install(home, 'zed', 'user', 'realworld/zed-settings.json');
    const original = await read(path);
    await wire('zed', { mode: 'env' });
    expect(await read(path)).toContain(`"args": ["run", "--stdio"],\n        "env": {\n          "AUTH0_TOKEN": "${OURS}"\n        }\n      },`);
    await unwire('zed');
    expect(await read(path)).toBe(original);
  });
});

describe('the record of stored tokens', () => {
  it('holds no token (a digest), is 0600, and exec wiring writes none', async () => {
    const { stat } = await import('node:fs/promises');
    const { recordPathFor } = await import('../../src/mcp/wire-record.js');
    expect(recordPathFor('/h/omni/bin/omni-auth.cjs')).toBe('/h/omni/mcp-wired.json');
    expect(recordPathFor(LAUNCHER)).toBeUndefined();

    await install(home, 'cursor', 'user', 'realworld/cursor-mcp.json');
    await wire('cursor', { server: 'omnispindle-plain' });
    await expect(stat(recordPath)).rejects.toMatchObject({ code: 'ENOENT' });

    await wire('cursor', { server: 'omnispindle-plain', mode: 'env', envVar: 'MY_TOK' });
    const text = await read(recordPath);
    expect(text).not.toContain(OURS);
    expect(text).toContain('"envVar": "MY_TOK"');
    expect((await stat(recordPath)).mode & 0o777).toBe(0o600);
  });
});
