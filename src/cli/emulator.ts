/**
 * `omni-auth emulator`: starts the local tenant, prints its EmulatorInfo as ONE JSON line on stdout
 * (an API for scripts and tests), then runs until SIGINT/SIGTERM and closes cleanly (exit 0).
 */
import { startEmulator } from '../emulator/index.js';
import { info } from './output.js';

const waitForStopSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

export async function runEmulator(opts: { port?: number; provisioned?: boolean }): Promise<void> {
  const stopped = waitForStopSignal();
  const emulator = await startEmulator({
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    provisioned: opts.provisioned === true,
  });
  process.stdout.write(`${JSON.stringify(emulator.info())}\n`);
  info(`omni-auth emulator: listening on ${emulator.domain}${opts.provisioned ? ' (provisioned)' : ''}; stop with Ctrl-C`);
  const signal = await stopped;
  info(`omni-auth emulator: ${signal}, stopping`);
  await emulator.close();
}
