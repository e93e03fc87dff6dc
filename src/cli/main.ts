/**
 * The CLI entry point: parses flags and hands each command to its module, loaded on demand so that
 * the warm `token` path never loads the HTTP client, the JWT library or the MCP code.
 * stdout is an API (data only); everything for people goes to stderr.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, isOmniAuthError } from '../util/errors.js';
import { printError } from './output.js';

declare const __OMNI_AUTH_VERSION__: string | undefined;
const VERSION = typeof __OMNI_AUTH_VERSION__ === 'string' ? __OMNI_AUTH_VERSION__ : '0.0.0-dev';

export function buildProgram(): Command {
  const program = new Command('omni-auth')
    .description('Auth0 access tokens for MCP servers, from a machine-bound key (Custom Token Exchange)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('emulator')
    .description('run a local Auth0 tenant emulator on loopback (prints one JSON line, runs until SIGINT/SIGTERM)')
    .option('--port <n>', 'port to listen on (default: a free port)', parsePort)
    .option('--provisioned', 'deploy the Action, create the profile, enable token exchange and consent skipping')
    .action(async (opts: { port?: number; provisioned?: boolean }) => {
      const { runEmulator } = await import('./emulator.js');
      await runEmulator(opts);
    });

  program
    .command('demo')
    .description('run the whole flow offline against an in-process emulator, in a throw-away home')
    .action(async () => {
      const { runDemo } = await import('./demo.js');
      await runDemo();
    });

  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CommanderError(ExitCode.usage, 'omni-auth.invalidPort', `--port must be an integer 0..65535, got "${value}"`);
  }
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with exitCode 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : ExitCode.usage;
    }
    printError(e);
    return isOmniAuthError(e) ? e.exitCode : ExitCode.internal;
  }
}

const code = await main(process.argv);
if (code !== 0) process.exitCode = code;
