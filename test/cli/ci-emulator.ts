/**
 * The emulator of the keyless-CI e2e files (test/cli/ci-setup.e2e.test.ts, ci-users.e2e.test.ts):
 * started once per file (no rate limit in the way), closed after it, and after every test nothing on
 * the CLI's stderr holds the CI request token or the Management secret.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { mgmtEnv } from '../tenant/helpers.js';
import { cleanEnv, expectNoSecretOnStderr, runMark, type RunMark } from './run-cli.js';

export interface CiEmulator {
  /** The running emulator (from the file's first beforeAll on). */
  readonly emu: Emulator;
  /** A CLI environment with this home and the emulator's Management credentials. */
  adminEnv(home: string): NodeJS.ProcessEnv;
}

/** Registers the hooks; call it before the file's own beforeAll. */
export function useCiEmulator(): CiEmulator {
  let emu: Emulator | undefined;
  let mark: RunMark;
  beforeAll(async () => {
    emu = await startEmulator({ settings: { exchangeRatePerSecond: 1000 } });
  });
  afterAll(async () => {
    await emu?.close();
  });
  beforeEach(() => {
    mark = runMark();
  });
  afterEach(async () => {
    await expectNoSecretOnStderr(mark, [ci.emu.info().ci.request_token, ci.emu.info().management.client_secret]);
  });
  const ci: CiEmulator = {
    get emu() {
      if (!emu) throw new Error('the CI emulator is not running yet');
      return emu;
    },
    adminEnv: (home) => cleanEnv({ OMNI_AUTH_HOME: home, ...mgmtEnv(ci.emu) }),
  };
  return ci;
}
