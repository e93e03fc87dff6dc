import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ACTIONS_DIR } from './action-module.js';
import { expectedUsername } from './tokens.js';

/**
 * Issue 8 §2: the Action must not depend on require(esm) (jose 6 is ESM-only and Auth0 does not say
 * which node22 release it runs). The real Action file runs in a separate Node process with
 * require(esm) switched off, and must still set the user: the exchange gets its token.
 */

const run = promisify(execFile);
const RUNNER = fileURLToPath(new URL('./node-runner.mjs', import.meta.url));
const NO_REQUIRE_ESM = '--no-experimental-require-module';

interface RunnerOutput {
  node: string;
  kid: string;
  calls: Array<{ method: string; args: unknown[] }>;
}

async function runner(flags: string[], mode: 'machine' | 'person' = 'machine'): Promise<RunnerOutput> {
  const { stdout } = await run(process.execPath, [...flags, RUNNER, mode], { timeout: 20_000 });
  return JSON.parse(stdout.trim()) as RunnerOutput;
}

describe('the real Action file on a Node without require(esm)', () => {
  it(`sets the user under ${NO_REQUIRE_ESM}`, async () => {
    const out = await runner([NO_REQUIRE_ESM]);
    expect(out.calls).toEqual([
      {
        method: 'authentication.setUserByConnection',
        args: [
          'omni-auth-machines',
          { user_id: `omni-${out.kid}`, username: expectedUsername(out.kid), name: 'alice@devbox', nickname: 'alice' },
          { creationBehavior: 'create_if_not_exists', updateBehavior: 'none' },
        ],
      },
    ]);
  });

  it('sets the user with Node’s defaults too', async () => {
    const out = await runner([]);
    expect(out.calls.map((call) => call.method)).toEqual(['authentication.setUserByConnection']);
  });

  it(`a person-bound key gets its person under ${NO_REQUIRE_ESM}: the JWKS comes over the runtime's global fetch`, async () => {
    const out = await runner([NO_REQUIRE_ESM], 'person');
    expect(out.calls).toEqual([{ method: 'authentication.setUserById', args: ['auth0|alice-person'] }]);
  });

  it(`(control: ${NO_REQUIRE_ESM} really takes require(esm) away — require('jose') from auth0-actions/ fails under it)`, async () => {
    const probe = "try { require('jose'); console.log('loaded') } catch (e) { console.log(e.code) }";
    const without = await run(process.execPath, [NO_REQUIRE_ESM, '-e', probe], { cwd: ACTIONS_DIR });
    expect(without.stdout.trim()).toBe('ERR_REQUIRE_ESM');
  });
});
