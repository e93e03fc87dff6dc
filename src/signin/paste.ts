/**
 * Paste-back for headless machines (`--no-browser`): the person opens the URL anywhere, signs in, and
 * pastes back the address the browser ended on (the loopback page that failed to load, holding `code`
 * and `state`) or the bare code.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { badCallback } from './errors.js';

/**
 * The callback parameters in what was pasted: a whole URL, a query string (`?code=…&state=…` or
 * `code=…&state=…`), or a bare code — which cannot carry `state`, so `expectedState` is filled in: the
 * person typed it, no other program sent it.
 */
export function parsePasted(text: string, expectedState: string): URLSearchParams {
  const t = text.trim();
  if (t === '') throw badCallback('nothing was pasted');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    let url: URL;
    try {
      url = new URL(t);
    } catch {
      throw badCallback('the pasted address is not a URL');
    }
    return url.searchParams;
  }
  if (t.startsWith('?') || /(^|&)(code|error|state)=/.test(t)) return new URLSearchParams(t.replace(/^\?/, ''));
  if (!/^[\w.~-]+$/.test(t)) throw badCallback('paste the whole address the browser ended on, or only the value of its "code" parameter');
  return new URLSearchParams({ code: t, state: expectedState });
}

/** The first non-empty line from `input` (undefined at its end). */
export function readPastedLine(input: Readable, signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    const done = (line: string | undefined) => {
      // Settled first: close() emits 'close' at once, which would settle it with undefined.
      resolve(line);
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      // A paused pipe or terminal still holds the event loop: let the process end when its work does.
      input.pause();
      (input as Readable & { unref?: () => void }).unref?.();
    };
    const onAbort = () => done(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    rl.on('line', (line) => {
      if (line.trim() !== '') done(line);
    });
    rl.once('close', () => resolve(undefined));
  });
}
