/**
 * src/exec/child.ts runChild's order of events (the warm and the full exec both rely on it): the
 * child is started first; `afterSpawn` (exec's sweep of dead execs' token directories) runs once the
 * child exists and omni-auth's signals are forwarded to it; `done` (the token file's clean-up) runs when
 * it ends. Outcomes and order only, never time.
 */
import { describe, expect, it } from 'vitest';
import { runChild } from '../../src/exec/child.js';

describe('runChild', () => {
  it('runs afterSpawn once the child exists and SIGINT/SIGTERM are forwarded, before done', async () => {
    const events: unknown[] = [];
    const before = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));
    const code = await runChild(process.execPath, ['-e', 'process.exit(3)'], process.env, () => events.push('done'), () => {
      events.push(['afterSpawn', ['SIGINT', 'SIGTERM'].map((s, i) => process.listenerCount(s) - before[i]!)]);
    });
    expect(code).toBe(3);
    expect(events).toEqual([['afterSpawn', [1, 1]], 'done']);
    // Nothing of exec's left on the process.
    expect(['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s))).toEqual(before);
  });

  it('a command that cannot be run: afterSpawn has run, then done, and the ChildFailed says it never started', async () => {
    const events: string[] = [];
    await expect(runChild('omni-auth-no-such-command', [], process.env, () => events.push('done'), () => events.push('afterSpawn')))
      .rejects.toMatchObject({ code: 'exec_failed', started: false });
    expect(events).toEqual(['afterSpawn', 'done']);
  });
});
