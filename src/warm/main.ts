/**
 * dist/omni-auth.cjs — what users, CI steps and MCP clients run (issue 13), compiled by its first
 * lines (src/warm/loader.ts) with V8's code cache. A warm `token` is a CI
 * step's or a header helper's every request: it is answered here by the CLI's own code
 * (src/cli/token.ts, src/broker/get-token.ts, the cache and settings modules), built without commander,
 * the HTTP client, the JWT library or the MCP code, with node:crypto, node:child_process and
 * fs/promises loaded only if called (scripts/build.mjs). A warm `exec` runs its child from here too
 * (src/warm/exec.ts); renewing its token file, or a browser sign-in, is the full CLI's.
 * Two seams differ from the full CLI: getting a new token is a hand-off (src/warm/hand-off.ts), and the
 * key's thumbprint comes from records of what the key parser computed (src/warm/key-check.ts).
 *
 * Everything else — other commands, options this entry does not know, and every case where the cache
 * cannot answer or something is wrong — is handed, before anything is printed, to the full CLI
 * (omni-auth-full.cjs beside this file), which runs the same argv from the start: its output, errors
 * and exit codes are the only ones a user sees there.
 */
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseWarmArgs } from './argv.js';
import { leanHeapRerun } from '../cli/lean-heap.js';
import { ENTRY_SYMBOL, FULL_CLI_FILE } from './files.js';
import { warmAnswered } from './code-cache.js';

async function warm(args: string[]): Promise<boolean> {
  const cmd = parseWarmArgs(args);
  if (!cmd) return false;
  if (cmd.name === 'exec') return (await import('./exec.js')).warmExec(cmd);
  try {
    // src/cli/token.ts runToken, but stdout written with fs.writeSync: process.stdout on a pipe loads
    // the stream and net modules, a tenth of a warm run. The same bytes.
    const [{ formatToken }, { getToken }, { tenantContext }, { warn }] = await Promise.all([
      import('../cli/token.js'), import('../broker/get-token.js'), import('../cli/context.js'), import('../cli/output.js'),
    ]);
    const ctx = await tenantContext(cmd.opts);
    const { token } = await getToken({ ...ctx, minTtl: cmd.opts.minTtl, warn });
    writeStdout(`${formatToken(token, cmd.opts.format)}\n`);
    warmAnswered();
    return true;
  } catch {
    return false;
  }
}

/** All of `text` to fd 1; what a full pipe or any error leaves is process.stdout's to write, as the full CLI would. */
function writeStdout(text: string): void {
  let rest = Buffer.from(text, 'utf8');
  try {
    while (rest.length > 0) rest = rest.subarray(writeSync(1, rest));
  } catch {
    process.stdout.write(rest);
  }
}

function fullCli(): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for(ENTRY_SYMBOL)] = __filename;
  require(join(__dirname, FULL_CLI_FILE));
}

void warm(process.argv.slice(2)).then((answered) => {
  if (answered) return;
  // Big MCP config edits re-run with a lean heap before the full CLI is even loaded (src/cli/lean-heap.ts).
  const lean = leanHeapRerun(process.argv);
  if (lean) void lean.then((code) => { if (code !== 0) process.exitCode = code; });
  else fullCli();
});
