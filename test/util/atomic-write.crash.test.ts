/**
 * kill -9 in the middle of writes: a child rewrites a 1–3 MB file atomically in a loop and is SIGKILLed
 * at a random moment, 20 times. After each kill the file must hold one complete generation (each has
 * its own size and end marker, so a torn or truncated file is caught). The temporary files a kill
 * leaves are recognizable and removed by a later write once old enough.
 */
import { mkdtemp, readFile, readdir, rm, utimes } from 'node:fs/promises';
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

describe('writeFileAtomic under SIGKILL', () => {
  it('leaves the old or the new content, complete, whenever the writer is killed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-crash-'));
    const file = join(dir, 'tokens.json');
    await writeFileAtomic(file, bigContent(0));
    const seen = new Set<number>();
    let previous = 0;

    for (let i = 1; i <= 20; i++) {
      const firstGen = i * 1_000;
      const writer = startWorker(script, ['write-loop', file, String(firstGen)]);
      expect(await writer.firstLine).toBe('writing');
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      await killWorker(writer);

      const gen = completeGeneration(await readFile(file, 'utf8'));
      expect(gen, `after kill ${i} the file is not one complete generation`).toBeDefined();
      // The old content (whatever the previous round left), or one this writer completed.
      expect(gen === previous || (gen! >= firstGen && gen! < firstGen + 1_000)).toBe(true);
      seen.add(gen!);
      previous = gen!;
    }
    // The kills did land during writing, not only before the first write or between rounds.
    expect(seen.size).toBeGreaterThan(5);

    const strays = (await readdir(dir)).filter((name) => name !== 'tokens.json');
    for (const name of strays) expect(name).toMatch(/^\.tokens\.json\.omni-tmp-\d+-[0-9a-f]{12}$/);
    // Ten minutes later, the next write sweeps them.
    const longAgo = new Date(Date.now() - 11 * 60_000);
    for (const name of strays) await utimes(join(dir, name), longAgo, longAgo);
    await writeFileAtomic(file, 'done');
    expect(await readdir(dir)).toEqual(['tokens.json']);
    await rm(dir, { recursive: true });
  }, 120_000);
});
