/** Opening the system browser: BROWSER respected, the URL one argv element, never a shell. */
import { mkdtemp, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserCommands, openBrowser } from '../../src/signin/index.js';

const URL_WITH_SHELL_CHARS = 'http://127.0.0.1:1/authorize?a=1&b=$(touch pwned);c=`id`|x';

describe('browserCommands', () => {
  it('runs BROWSER with the URL as its last argument, or in place of %s', () => {
    expect(browserCommands('u', { BROWSER: 'firefox' }, 'linux')).toEqual([{ file: 'firefox', args: ['u'] }]);
    expect(browserCommands('u', { BROWSER: 'firefox --new-tab' }, 'linux')).toEqual([{ file: 'firefox', args: ['--new-tab', 'u'] }]);
    expect(browserCommands('u', { BROWSER: 'w --url=%s' }, 'linux')).toEqual([{ file: 'w', args: ['--url=u'] }]);
    expect(browserCommands('u', { BROWSER: 'a:b' }, 'linux').map((c) => c.file)).toEqual(['a', 'b']);
  });

  it('falls back to open / rundll32 / xdg-open, and to nothing on a Linux without a display', () => {
    expect(browserCommands('u', {}, 'darwin')).toEqual([{ file: 'open', args: ['u'] }]);
    expect(browserCommands('u', {}, 'win32')).toEqual([{ file: 'rundll32', args: ['url.dll,FileProtocolHandler', 'u'] }]);
    expect(browserCommands('u', { DISPLAY: ':0' }, 'linux')).toEqual([{ file: 'xdg-open', args: ['u'] }]);
    expect(browserCommands('u', {}, 'linux')).toEqual([]);
  });
});

describe('openBrowser', () => {
  it('passes the URL as one argument, never through a shell', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-browser-'));
    const script = join(dir, 'browser.sh');
    await writeFile(script, `#!/bin/sh\nprintf '%s\\n' "$#" "$1" > "${join(dir, 'argv')}"\n`);
    await chmod(script, 0o755);
    expect(await openBrowser(URL_WITH_SHELL_CHARS, { BROWSER: script }, 'linux')).toBe(true);
    const [argc, arg] = (await readFile(join(dir, 'argv'), 'utf8')).split('\n');
    expect(argc).toBe('1');
    expect(arg).toBe(URL_WITH_SHELL_CHARS);
    await expect(readFile(join(process.cwd(), 'pwned'))).rejects.toThrow();
  });

  it('is false when no browser starts (missing command, failing launcher)', async () => {
    expect(await openBrowser('u', { BROWSER: '/nonexistent/browser' }, 'linux')).toBe(false);
    expect(await openBrowser('u', { BROWSER: 'false' }, 'linux')).toBe(false);
    expect(await openBrowser('u', {}, 'linux')).toBe(false);
  });
});
