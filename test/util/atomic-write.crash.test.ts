/**
 * kill -9 in the middle of writes: a child rewrites a 1–3 MB file atomically in a loop and is SIGKILLed,
 * 20 times. After each kill the file must hold one complete generation (each has its own size and end
 * marker, so a torn or truncated file is caught). Half the kills are aimed: with
 * OMNI_AUTH_TEST_PAUSE_DIR the writer stops once a temporary file is complete and before its rename
 * (src/util/atomic-write.ts), so those kills are known to land mid-write; the other half fall at a
 * random moment. The temporary files kills leave are recognizable and removed by a later write once
 * old enough.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { bigContent, completeGeneration } from './fixtures/big-content.js';
import { bundleWorker, killWorker, startWorker } from './fixtures/processes.js';

let script: string;
beforeAll(async () => {
  script = await bundleWorker();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('writeFileAtomic under SIGKILL', () => {
  it('leaves the old or the new content, complete, whenever the writer is killed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-crash-'));
    const file = join(dir, 'tokens.json');
    await writeFileAtomic(file, bigContent(0));
    let previous = 0;
    let aimed = 0;

    for (let i = 1; i <= 20; i++) {
      const firstGen = i * 1_000;
      const pauseDir = i % 2 === 0 ? await mkdtemp(join(tmpdir(), 'omni-pause-')) : undefined;
      const writer = startWorker(script, ['write-loop', file, String(firstGen)], pauseDir ? { OMNI_AUTH_TEST_PAUSE_DIR: pauseDir } : undefined);
      expect(await writer.firstLine).toBe('writing');
      if (pauseDir) {
        // Let 0–2 generations through, then kill the writer paused before the next rename.
        const through = i % 3;
        const pid = writer.child.pid!;
        for (let n = 1; ; n++) {
          const marker = join(pauseDir, `${pid}-${n}`);
          while (!existsSync(`${marker}.paused`)) await sleep(2);
          if (n > through) break;
          await writeFile(`${marker}.resume`, '');
        }
        const temps = (await readdir(dir)).filter((f) => f.startsWith(`.tokens.json.omni-tmp-${pid}-`));
        expect(temps, `kill ${i}: one complete temporary file`).toHaveLength(1);
        expect(readFileSync(join(dir, temps[0]!), 'utf8')).toBe(bigContent(firstGen + through));
        await killWorker(writer);
        // Killed before that rename: the file is the generation before, exactly.
        expect(completeGeneration(await readFile(file, 'utf8'))).toBe(through === 0 ? previous : firstGen + through - 1);
        aimed++;
      } else {
        await sleep(Math.random() * 150);
        await killWorker(writer);
      }

      const gen = completeGeneration(await readFile(file, 'utf8'));
      expect(gen, `after kill ${i} the file is not one complete generation`).toBeDefined();
      // The old content (whatever the previous round left), or one this writer completed.
      expect(gen === previous || (gen! >= firstGen && gen! < firstGen + 1_000)).toBe(true);
      previous = gen!;
    }
    expect(aimed).toBe(10);

    const strays = (await readdir(dir)).filter((name) => name !== 'tokens.json');
    expect(strays.length).toBeGreaterThanOrEqual(aimed); // every aimed kill left its temporary file
    for (const name of strays) expect(name).toMatch(/^\.tokens\.json\.omni-tmp-\d+-[0-9a-f]{12}$/);
    // Ten minutes later, the next write sweeps them.
    const longAgo = new Date(Date.now() - 11 * 60_000);
    for (const name of strays) await utimes(join(dir, name), longAgo, longAgo);
    await writeFileAtomic(file, 'done');
    expect(await readdir(dir)).toEqual(['tokens.json']);
    await rm(dir, { recursive: true });
  }, 120_000);
});
