/**
 * Editing a multi-megabyte MCP config — Claude Code's ~/.claude.json grows with every project — parses
 * it whole, and V8's default young generation then holds tens of MB of RSS besides. Node takes
 * `--max-semi-space-size` only at start (v8.setFlagsFromString is too late), so the commands that edit
 * MCP configs re-run themselves once with it when such a file is in sight. Measured on a 5.6 MB file:
 * ~143 → ~113 MiB peak for `mcp wire`, ~0.45 s (`npm run bench`). `OMNI_AUTH_LEAN_HEAP=0` turns it off.
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const FLAG = '--max-semi-space-size=2';
/** Below this, the default heap costs too little to pay for a second Node start. */
const BIG_BYTES = 1024 * 1024;
const EDITING = new Set(['login', 'logout', 'mcp']);

/** The exit code of the lean re-run, or undefined when this process should go on itself. */
export function leanHeapRerun(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> | undefined {
  const [node, script, command] = argv;
  if (!node || !script || !command || !EDITING.has(command)) return undefined;
  if (env.OMNI_AUTH_LEAN_HEAP === '0' || process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) return undefined;
  const dir = env.CLAUDE_CONFIG_DIR?.trim() || env.HOME?.trim() || homedir();
  let size = 0;
  try {
    size = statSync(join(dir, '.claude.json')).size;
  } catch {
    return undefined;
  }
  if (size < BIG_BYTES) return undefined;
  // child_process on demand: the warm entry asks this before anything else and must not load it.
  const { spawn } = process.getBuiltinModule('child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FLAG, ...process.execArgv, script, ...argv.slice(2)], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      if (signal) process.kill(process.pid, signal);
      resolve(code ?? 1);
    });
  });
}
