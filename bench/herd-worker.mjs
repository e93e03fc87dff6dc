#!/usr/bin/env node
/**
 * One worker of `npm run bench`'s herd: `count` identities, each with its own home (so its own machine
 * key, its own Auth0 user), all calling the library's `getToken` at once — the same broker, retry and
 * backoff code as `omni-auth token`, without a Node start per identity (200 of those would measure this
 * machine's CPU, not the tenant's limit). Prints one JSON line: per identity, the outcome and when it
 * ended (ms since the worker's `startAt`, an epoch ms given by the parent so all workers share it).
 * Tokens are never printed.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getToken } from '../dist/index.js';

const [count, root] = [Number(process.argv[2]), process.argv[3]];
const homes = await Promise.all(Array.from({ length: count }, () => mkdtemp(join(root ?? tmpdir(), 'id-'))));
const results = await Promise.all(homes.map(async (home) => {
  try {
    await getToken({ home, env: process.env });
    return { ok: true, at: Date.now() };
  } catch (e) {
    return { ok: false, at: Date.now(), code: e?.code ?? 'error', exit: e?.exitCode };
  }
}));
process.stdout.write(`${JSON.stringify(results)}\n`);
