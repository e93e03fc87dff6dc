/**
 * The order of system calls is the guarantee, so it is checked directly: node:fs/promises is wrapped to
 * record every call writeFileAtomic makes (and to inject failures), while still doing the real work.
 */
import { constants } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

type Call = [string, ...unknown[]];
const calls: Call[] = [];
let failWriteWith: string | undefined;
let failRenameWith: string | undefined;

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const record = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls.push([name, ...args]);
      return fn(...args);
    };
  return {
    ...fs,
    rename: record('rename', async (from: string, to: string) => {
      if (failRenameWith) throw Object.assign(new Error(`${failRenameWith}: injected`), { code: failRenameWith });
      return fs.rename(from, to);
    }),
    link: record('link', fs.link),
    unlink: record('unlink', fs.unlink),
    open: async (path: string, flags?: string | number, mode?: number) => {
      calls.push(['open', path, flags, mode]);
      const handle = await fs.open(path, flags, mode);
      for (const name of ['chmod', 'writeFile', 'sync', 'close'] as const) {
        const original = handle[name].bind(handle) as (...args: unknown[]) => Promise<void>;
        Object.assign(handle, {
          [name]: async (...args: unknown[]) => {
            calls.push([`${name}`, path]);
            if (name === 'writeFile' && failWriteWith) throw Object.assign(new Error(`${failWriteWith}: injected`), { code: failWriteWith });
            return original(...args);
          },
        });
      }
      return handle;
    },
  };
});

const fs = await import('node:fs/promises');
const { writeFileAtomic } = await import('../../src/util/atomic-write.js');

beforeEach(() => {
  calls.length = 0;
  failWriteWith = undefined;
  failRenameWith = undefined;
});

async function target(): Promise<string> {
  return join(await fs.realpath(await fs.mkdtemp(join(tmpdir(), 'omni-aw-sys-'))), 'tokens.json');
}

/** The calls made on the temporary file and the directory, in order, with the temp path spelled "tmp". */
function story(file: string): string[] {
  const dir = dirname(file);
  const tmp = calls.find((c) => c[0] === 'open' && String(c[1]).includes('.omni-tmp-'))?.[1] as string;
  const name = (p: unknown) => (p === tmp ? 'tmp' : p === file ? 'target' : p === dir ? 'dir' : String(p));
  return calls.map((c) => [c[0], ...c.slice(1, 3).filter((a) => typeof a === 'string').map(name)].join(' '));
}

describe('writeFileAtomic system calls', () => {
  it('creates the temp file O_EXCL|O_NOFOLLOW with the final mode, fsyncs it, renames it, then fsyncs the directory', async () => {
    const file = await target();
    await writeFileAtomic(file, 'data');

    const open = calls[0]!;
    expect(open[0]).toBe('open');
    expect(dirname(open[1] as string)).toBe(dirname(file));
    expect(basename(open[1] as string)).toMatch(new RegExp(`^\\.tokens\\.json\\.omni-tmp-${process.pid}-[0-9a-f]{12}$`));
    // O_NOFOLLOW: a link planted at the temp name is never opened (O_EXCL alone refuses it too, on Linux).
    expect(open[2]).toBe(constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW);
    expect(open[3]).toBe(0o600);
    expect(story(file)).toEqual([
      'open tmp',
      'chmod tmp',
      'writeFile tmp',
      'sync tmp',
      'close tmp',
      'rename tmp target',
      'open dir r',
      'sync dir',
      'close dir',
    ]);
  });

  it('opens the temp file with the existing file mode when none is given', async () => {
    const file = await target();
    await fs.writeFile(file, 'old');
    await fs.chmod(file, 0o640);
    calls.length = 0;
    await writeFileAtomic(file, 'new');
    expect(calls[0]?.[3]).toBe(0o640);
  });

  it('exclusive: links the complete temp file to the name, then removes the temp name', async () => {
    const file = await target();
    await writeFileAtomic(file, 'key', { exclusive: true });
    expect(story(file)).toEqual([
      'open tmp',
      'chmod tmp',
      'writeFile tmp',
      'sync tmp',
      'close tmp',
      'link tmp target',
      'unlink tmp',
      'open dir r',
      'sync dir',
      'close dir',
    ]);
  });

  it('on a failed write: closes and removes the temp file, leaves the target as it was, rethrows with a hint', async () => {
    const file = await target();
    await fs.writeFile(file, 'old');
    calls.length = 0;
    failWriteWith = 'ENOSPC';
    await expect(writeFileAtomic(file, 'new')).rejects.toMatchObject({
      code: 'write_failed',
      message: `could not write ${file}: ENOSPC`,
      hint: expect.stringContaining('disk space'),
    });
    expect(story(file)).toEqual(['open tmp', 'chmod tmp', 'writeFile tmp', 'close tmp', 'unlink tmp']);
    expect(await fs.readFile(file, 'utf8')).toBe('old');
    expect(await fs.readdir(dirname(file))).toEqual(['tokens.json']);
  });

  it('removes its temporary file when the final rename fails, and leaves the target as it was', async () => {
    const file = await target();
    await fs.writeFile(file, 'old');
    calls.length = 0;
    failRenameWith = 'EXDEV';
    await expect(writeFileAtomic(file, 'new')).rejects.toMatchObject({ code: 'write_failed', message: `could not write ${file}: EXDEV` });
    expect(story(file)).toEqual(['open tmp', 'chmod tmp', 'writeFile tmp', 'sync tmp', 'close tmp', 'rename tmp target', 'unlink tmp']);
    expect(await fs.readFile(file, 'utf8')).toBe('old');
    expect(await fs.readdir(dirname(file))).toEqual(['tokens.json']);
  });
});
