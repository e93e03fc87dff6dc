/**
 * The type declarations a consumer gets (package.json `exports` "." → `types`): a TypeScript project
 * importing 'omni-auth' by name compiles under strict NodeNext settings, without @types/node and
 * without skipLibCheck — and the types are real: a misuse does not compile.
 * Also: the CLI bundle never contains the library, and the library's own warm path (a cache hit)
 * does not statically load the exchange code, the HTTP client or jose.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';
import { consumerProject, LIBRARY, type Consumer } from './helpers.js';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: [],
    strict: true, noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
  },
  files: ['consumer.ts'],
};

const GOOD = `
import { getToken, isOmniAuthError, OmniAuthError, ExitCode, DEFAULT_MIN_TTL, type AccessToken, type GetTokenOptions } from 'omni-auth';

const options: GetTokenOptions = {
  domain: 'tenant.eu.auth0.com', clientId: 'abc', audience: 'https://mcp.example.com', scope: 'openid',
  subjectTokenType: 'urn:omnispindle:local-auth', minTtl: DEFAULT_MIN_TTL, home: '/tmp/home', env: { OMNI_AUTH_DOMAIN: 'x' },
  onWarning: (message: string) => { void message; },
};
export async function use(): Promise<string> {
  const t: AccessToken = await getToken(options);
  const token: string = t.accessToken;
  const expiresAt: number = t.expiresAt;
  const subject: string | undefined = t.subject;
  try {
    await getToken();
  } catch (e) {
    if (isOmniAuthError(e)) {
      const code: string = e.code;
      const exit: 0 | 1 | 2 | 3 | 4 | 5 = e.exitCode;
      const hint: string | undefined = e.hint;
      return [code, exit, hint].join();
    }
    if (e instanceof OmniAuthError && e.exitCode === ExitCode.refused) return 'refused';
  }
  return [token, expiresAt, subject].join();
}
`;

function tsc(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr });
    });
  });
}

describe('the declarations, as a TypeScript consumer sees them', () => {
  let consumer: Consumer;
  beforeAll(async () => {
    consumer = await consumerProject();
    await consumer.write('tsconfig.json', JSON.stringify(TSCONFIG));
  });
  afterAll(() => consumer?.cleanup());

  it('a consumer importing omni-auth by name compiles (strict, NodeNext, no @types/node, no skipLibCheck)', async () => {
    await consumer.write('consumer.ts', GOOD);
    const r = await tsc(consumer.dir);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);

  it.each([
    ['the token is a string', 'const n: number = (await getToken()).accessToken;', 'TS2322'],
    ['the expiry is a number', 'const s: string = (await getToken()).expiresAt;', 'TS2322'],
    ['the subject may be undefined', 'const s: string = (await getToken()).subject;', 'TS2322'],
    ['an unknown option', "await getToken({ domian: 'x' });", 'TS2561'],
    ['minTtl is a number', "await getToken({ minTtl: '300' });", 'TS2322'],
  ])('does not compile a misuse: %s', async (_, line, code) => {
    await consumer.write('consumer.ts', `import { getToken } from 'omni-auth';\nexport async function f(): Promise<void> {\n  ${line}\n}\n`);
    const r = await tsc(consumer.dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(code);
  }, 60_000);
});

describe('the library and the CLI bundle stay apart', () => {
  it('the CLI bundle does not contain the library entry (its start-up is unchanged)', () => {
    const meta = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'metafile.json'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(Object.keys(meta.inputs)).toContain('src/cli/main.ts');
    expect(Object.keys(meta.inputs)).not.toContain('src/index.ts');
  });

  it('the library\'s static imports (its warm path) reach no exchange code, HTTP client or jose', async () => {
    const seen = new Set<string>();
    const stack = [LIBRARY];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(file, 'utf8');
      // Static import statements only (`import … from "./x.js"` / `import "./x.js"`), never `import(…)`.
      for (const [, spec] of text.matchAll(/^import\s+(?:[^'"()]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["'];?$/gm)) stack.push(join(dirname(file), spec!));
    }
    const names = [...seen].map((f) => f.slice(join(packageRoot(), 'dist').length + 1));
    expect(names).toContain('index.js');
    expect(names.filter((n) => /(^|\/)(acquire|undici|webapi|exchange)-/.test(n))).toEqual([]);
    const code = (await Promise.all([...seen].map((f) => readFile(f, 'utf8')))).join('\n');
    expect(code).not.toContain('// src/exchange/exchange.ts');
    expect(code).not.toContain('node_modules/undici/');
    expect(code).not.toContain('node_modules/jose/');
    // The walk can see them: the exchange is there, behind a dynamic import.
    expect(readFileSync(LIBRARY, 'utf8')).toMatch(/import\("\.\/lib\/acquire-[A-Z0-9]+\.js"\)/);
  });
});
