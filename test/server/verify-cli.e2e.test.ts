/**
 * `omni-auth verify` (built CLI) against the emulator: the cached token, a token on stdin, each
 * refusal explained, exit codes 0 / 3 / 2 / 4, and the token never printed. Tokens with claims the
 * emulator does not issue yet (permissions, another audience) are signed test-only with its key.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { CLI, cleanEnv, runCli, tempHome, type CliResult } from '../cli/run-cli.js';
import { exchangedToken, nowSeconds, signedByTenant } from './helpers.js';

let emu: Emulator;
let other: Emulator;
let home: string;
const tokens: string[] = [];
const outputs: CliResult[] = [];

const env = (extra: Record<string, string | undefined> = {}) => {
  const info = emu.info();
  return cleanEnv({ OMNI_AUTH_HOME: home, OMNI_AUTH_DOMAIN: info.domain, OMNI_AUTH_CLIENT_ID: info.client_id, OMNI_AUTH_AUDIENCE: info.audience, ...extra });
};

async function verify(args: string[], stdin?: string, extraEnv: Record<string, string | undefined> = {}): Promise<CliResult> {
  let r: CliResult;
  if (stdin === undefined) {
    r = await runCli(['verify', ...args], env(extraEnv));
  } else {
    r = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'verify', ...args], { env: env(extraEnv), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      child.stdin.end(stdin);
    });
  }
  outputs.push(r);
  return r;
}
const json = (r: CliResult) => JSON.parse(r.stdout) as Record<string, any>;

beforeAll(async () => {
  [emu, other] = await Promise.all([startEmulator({ provisioned: true }), startEmulator({ provisioned: true })]);
  home = await tempHome();
  const got = await runCli(['token'], env());
  if (got.code !== 0) throw new Error(got.stderr);
  tokens.push(got.stdout.trim());
});
afterAll(async () => {
  // Never the token: not its signature, on stdout or stderr, in any run.
  for (const t of tokens) {
    const signature = t.split('.')[2]!;
    for (const r of outputs) {
      expect(r.stdout.includes(signature) || r.stderr.includes(signature), 'a token was printed').toBe(false);
    }
  }
  await Promise.all([emu?.close(), other?.close()]);
});

describe('omni-auth verify', () => {
  it('the cached token: accepted, with subject, audience, scopes and expiry on stderr (exit 0)', async () => {
    const r = await verify([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('✓ accepted');
    expect(r.stderr).toMatch(/subject\s+auth0\|omni-/);
    expect(r.stderr).toContain(emu.info().audience);
    expect(r.stderr).toMatch(/scopes\s+openid/);
    expect(r.stderr).toMatch(/expiry\s+expires /);
    expect(r.stderr).toContain('no permissions claim');
  });

  it('--json: the report on stdout, without the token', async () => {
    const r = await verify(['--json']);
    expect(r.code).toBe(0);
    const doc = json(r);
    expect(doc).toMatchObject({ valid: true, signature_valid: true, source: 'cache', client_id: emu.info().client_id, refusals: [] });
    expect(doc.expected).toEqual({ issuer: emu.issuer, audience: emu.info().audience, jwks_uri: `${emu.domain}/.well-known/jwks.json`, required_scopes: [], required_permissions: [], clock_tolerance: 0 });
    expect(doc.subject).toMatch(/^auth0\|omni-/);
    expect(doc.audience).toContain(emu.info().audience);
    expect(doc.permissions).toBeUndefined();
    expect(typeof doc.expires_at).toBe('number');
  });

  it('says every reason a server configured that way would refuse (exit 3)', async () => {
    const r = await verify(['--json', '--audience', 'https://other.example/api', '--require-permission', 'tool:echo', '--require-scope', 'write:x']);
    expect(r.code).toBe(3);
    const doc = json(r);
    expect(doc.valid).toBe(false);
    expect(doc.refusals.map((x: { code: string }) => x.code)).toEqual(['audience_mismatch', 'insufficient_scope', 'missing_permission']);
    expect(doc.refusals[0].message).toContain('https://other.example/api');
    expect(doc.refusals[1].message).toContain('write:x');
    expect(doc.refusals[2].message).toContain('tool:echo');
    expect(doc.refusals[2].hint).toContain('Add Permissions in the Access Token');

    const human = await verify(['--require-permission', 'tool:echo']);
    expect(human.code).toBe(3);
    expect(human.stderr).toContain('✗ refused');
    expect(human.stderr).toMatch(/refused:.*tool:echo.*\[missing_permission\]/);
  });

  it('a token on stdin with the permission (test-only signed): accepted, permissions shown', async () => {
    const token = await signedByTenant(emu, { claims: { scope: 'openid', permissions: ['tool:echo', 'tool:add'] } });
    tokens.push(token);
    const r = await verify(['-', '--require-permission', 'tool:echo,tool:add'], token);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/permissions\s+tool:echo tool:add/);
    const doc = json(await verify(['-', '--json'], token));
    expect(doc).toMatchObject({ valid: true, source: 'stdin', permissions: ['tool:echo', 'tool:add'] });
  });

  it('another tenant\'s token: refused (unknown_key), with what it claims marked unverified', async () => {
    const token = await exchangedToken(other);
    tokens.push(token);
    const r = await verify(['-'], token);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[unknown_key]');
    expect(r.stderr).toContain(`unverified  the token claims issuer ${other.issuer}`);
    const doc = json(await verify(['-', '--json'], token));
    expect(doc).toMatchObject({ signature_valid: false, unverified: { iss: other.issuer } });
    expect(doc.subject).toBeUndefined();
  });

  it('expired and from another issuer: each named; --clock-tolerance moves the expiry', async () => {
    const t = nowSeconds();
    const expired = await signedByTenant(emu, { now: t - 3600, lifetime: 60, issuer: 'https://evil.example/' });
    tokens.push(expired);
    const doc = json(await verify(['-', '--json'], expired));
    expect(doc.refusals.map((x: { code: string }) => x.code)).toEqual(['issuer_mismatch', 'expired']);
    const tolerant = json(await verify(['-', '--json', '--clock-tolerance', '86400'], expired));
    expect(tolerant.refusals.map((x: { code: string }) => x.code)).toEqual(['issuer_mismatch']);
  });

  it('a token as an argument works, with a warning that argv is visible', async () => {
    const token = await signedByTenant(emu);
    tokens.push(token);
    const r = await verify([token]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('visible to other processes');
    outputs.pop(); // its argv held the token by design; its output is checked below instead
    expect(r.stdout + r.stderr).not.toContain(token.split('.')[2]);
  });

  it('usage: nothing cached, nothing on stdin, a bad tolerance, no settings (exit 2)', async () => {
    const emptyHome = await tempHome();
    expect((await verify([], undefined, { OMNI_AUTH_HOME: emptyHome })).code).toBe(2);
    expect((await verify(['-'], '')).code).toBe(2);
    const tolerance = await verify(['--clock-tolerance', 'soon']);
    expect(tolerance.code).toBe(2);
    expect(tolerance.stderr).toContain('--clock-tolerance must be a whole number');
    const bare = await runCli(['verify'], cleanEnv({ OMNI_AUTH_HOME: emptyHome }));
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('settings_missing');
  });

  it('the tenant\'s keys unreachable: exit 4, not a verdict', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    });
    const token = await signedByTenant(emu);
    tokens.push(token);
    const r = await verify(['-', '--domain', `http://127.0.0.1:${port}`], token);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('[jwks_unavailable]');
  });

  it('is off the warm path: main reaches verify and src/server only through a dynamic import', () => {
    const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'metafile.json'), 'utf8')) as { inputs: Record<string, { imports: { path: string; kind: string }[] }> };
    const closure = (roots: string[], kinds: string[]) => {
      const seen = new Set<string>();
      const stack = [...roots];
      while (stack.length) {
        const p = stack.pop()!;
        if (seen.has(p)) continue;
        seen.add(p);
        for (const i of meta.inputs[p]?.imports ?? []) if (kinds.includes(i.kind)) stack.push(i.path);
      }
      return [...seen];
    };
    const warm = closure(['src/cli/main.ts'], ['import-statement', 'require-call']);
    expect(warm.filter((p) => p === 'src/cli/verify.ts' || p.startsWith('src/server/'))).toEqual([]);
    const all = closure(['src/cli/main.ts'], ['import-statement', 'require-call', 'dynamic-import']);
    expect(all).toContain('src/cli/verify.ts');
    expect(all).toContain('src/server/check.ts');
    expect(all).not.toContain('src/server/verifier.ts'); // the CLI does not load the MCP SDK's errors
  });
});
