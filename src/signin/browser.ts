/**
 * Opening the system browser on a URL, without a shell: `BROWSER` (as most Unix tools read it — a
 * list separated by the path delimiter, each a command and its arguments; `%s` stands for the URL,
 * else the URL is the last argument), else `open` (macOS), `rundll32 url.dll,FileProtocolHandler`
 * (Windows: `start` is a cmd.exe built-in, and cmd would interpret `&` in the URL), `xdg-open` (others,
 * only with a display). The URL is always one argv element; nothing is interpreted by a shell.
 */
import { spawn } from 'node:child_process';
import { delimiter } from 'node:path';

export interface BrowserCommand {
  file: string;
  args: string[];
}

/** The commands to try, in order; empty when no browser can be expected (a headless Linux). */
export function browserCommands(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): BrowserCommand[] {
  const fromEnv = env.BROWSER?.trim();
  if (fromEnv) {
    return fromEnv.split(delimiter).map((entry) => entry.trim()).filter(Boolean).map((entry) => {
      const [file, ...rest] = entry.split(/\s+/) as [string, ...string[]];
      const hasSlot = rest.some((a) => a.includes('%s'));
      return { file, args: hasSlot ? rest.map((a) => a.split('%s').join(url)) : [...rest, url] };
    });
  }
  if (platform === 'darwin') return [{ file: 'open', args: [url] }];
  if (platform === 'win32') return [{ file: 'rundll32', args: ['url.dll,FileProtocolHandler', url] }];
  // Without a display, xdg-open falls back to a terminal browser (or nothing): not a browser to wait for.
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return [];
  return [{ file: 'xdg-open', args: [url] }];
}

/** How long a launcher has to fail before it counts as started (xdg-open exits 0 once the browser is asked). */
const SETTLE_MS = 3_000;

/** Runs each command until one starts; true when one did. Never throws. */
export async function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  for (const cmd of browserCommands(url, env, platform)) {
    if (await start(cmd)) return true;
  }
  return false;
}

function start(cmd: BrowserCommand): Promise<boolean> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(cmd.file, cmd.args, { stdio: 'ignore', detached: true, shell: false, windowsHide: true });
    } catch {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      child.unref();
      resolve(true);
    }, SETTLE_MS);
    timer.unref();
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}
