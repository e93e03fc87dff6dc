#!/usr/bin/env node
/**
 * `npm run bench`: measured in one run, on this machine, against the built-in emulator.
 *  1. on a warm cache, against bare `node -e 0`, all interleaved round by round (median wall, ≥ 30 runs
 *     each, issue 13): `omni-auth token` in each format (target ≤ 1.15), the launcher MCP entries run,
 *     `<home>/bin/omni-auth.cjs token` (≤ 1.15), `exec -- node -e 0` (≤ 2.15: two Node starts are the floor),
 *     and, for reference, the full CLI alone (dist/omni-auth-full.cjs token)
 *  2. a cold exchange vs a minimal Node script doing one fetch POST to the same emulator (target ≤ 1.5)
 *  3. peak RSS of the warm `token` (each format), the launcher and exec vs `node -e 0` (target + 4 MiB),
 *     medians of interleaved runs
 *  4. exchanges caused by 32 parallel cold `token` calls (target 1)
 *  5. `mcp wire`, a no-op `mcp wire` and `mcp unwire` on a 5 MB ~/.claude.json (hundreds of projects,
 *     a third holding the server): median wall time and peak RSS, next to a bare `JSON.parse` of the
 *     same file in its own Node (targets: < 0.5 s, < 150 MB)
 *  6. 200 identities (a home, so a machine key, each) asking for a token at once from an emulator on
 *     Auth0's Essentials limit (`--plan essentials`: burst 4, 4/s, tenant-wide): the time until all
 *     200 have one, against the physical limit 200 / 4 s (target ≤ 1.3), and the failures (target 0).
 *     Two rows: (a) 200 real `omni-auth token` processes at once, as CI jobs (CI=true: the CI retry
 *     budget), bench/herd-cli.mjs — seconds vs 50 s, failures, the emulator's count of successful
 *     exchanges (exactly 200 when no answer is thrown away) and of 429s, with the load average and
 *     whether the emulator (standing in for a tenant that does not share the runners' CPUs) could be
 *     given a higher priority; 200 Node starts need ~60 CPU-seconds, so on a shared 2-core machine
 *     this row also measures the machine; (b) the library's getToken for 200 identities in 4 worker
 *     processes (bench/herd-worker.mjs): the same broker, retry and backoff code without the 200 Node
 *     starts, i.e. what the retry algorithm achieves against the limit itself.
 * Not a test: it prints figures, it does not pass or fail. `BENCH_ONLY=warm,cold,rss,parallel,big,herd`
 * (any of them) runs only those sections; `BENCH_RUNS=N` (≥ 30, default 60) sets the runs per median.
 * Each warm ratio also shows its interquartile range taken round by round (each run against that
 * round's `node -e 0`): how far the machine's noise moves it.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'omni-auth.cjs');
// 60 by default: on a shared VM a median of 30 still moved by ±0.03 between runs.
const RUNS = Math.max(30, Number(process.env.BENCH_RUNS ?? 60));
const SECTIONS = ['warm', 'cold', 'rss', 'parallel', 'big', 'herd'];
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter(Boolean);
for (const x of ONLY) if (!SECTIONS.includes(x)) throw new Error(`BENCH_ONLY: unknown section ${x} (known: ${SECTIONS.join(', ')})`);
const want = (section) => ONLY.length === 0 || ONLY.includes(section);

/** Runs a command; resolves with wall time (ms), exit code, stdout, and peak RSS (KB, via /usr/bin/time when present). */
function run(cmd, args, env = {}, cwd = undefined) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, out, err }));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The wall times (ms) of each command, RUNS rounds of one run each, interleaved (after one warm-up run each). */
async function timeRounds(...commands) {
  const times = commands.map(() => []);
  for (const [cmd, args, env] of commands) await run(cmd, args, env); // warm the OS file cache
  for (let i = 0; i < RUNS; i++) {
    // Every command once per round, in a new order each round: no command always follows the same one.
    const order = [...commands.entries()];
    for (let j = order.length - 1; j > 0; j--) {
      const r = Math.floor(Math.random() * (j + 1));
      [order[j], order[r]] = [order[r], order[j]];
    }
    for (const [k, [cmd, args, env]] of order) {
      const r = await run(cmd, args, env);
      if (r.code !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited ${r.code}: ${r.err}`);
      times[k].push(r.ms);
    }
  }
  return times;
}

/** The quartiles of `xs`: [25th, 75th] percentile (nearest rank). */
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 4)], s[Math.ceil(((s.length - 1) * 3) / 4)]];
};

async function peakRssKb(args, env) {
  // /usr/bin/time reports the child's maximum resident set size.
  const r = await run('/usr/bin/time', ['-f', '%M', process.execPath, cli, ...args], env).catch(() => undefined);
  const kb = r ? Number(r.err.trim().split('\n').pop()) : NaN;
  return Number.isFinite(kb) ? kb : undefined;
}

/** Median peak RSS (KB) of each command, run interleaved `rounds` times under /usr/bin/time; undefined without it. */
async function peakRssMedians(commands, rounds) {
  const kb = commands.map(() => []);
  for (let i = 0; i < rounds; i++) {
    for (const [k, [cmd, args, env]] of commands.entries()) {
      // /usr/bin/time reports the child's maximum resident set size (exec: the larger of omni-auth and its child).
      const r = await run('/usr/bin/time', ['-f', '%M', cmd, ...args], env).catch(() => undefined);
      const v = r ? Number(r.err.trim().split('\n').pop()) : NaN;
      if (!Number.isFinite(v)) return undefined;
      kb[k].push(v);
    }
  }
  return kb.map(median);
}

async function startEmulator(extra = []) {
  const child = spawn(process.execPath, [cli, 'emulator', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.on('exit', (c) => reject(new Error(`emulator exited ${c}`)));
  });
  return { info: JSON.parse(line), stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

const stats = async (domain) => (await fetch(`${domain}/__emulator/stats`, { headers: { authorization: `Bearer ${emu.info.control_token}` } })).json();

/** Claude Code's ~/.claude.json layout, grown to `bytes`: settings, servers, projects with history. */
function bigClaudeJson(bytes) {
  const doc = {
    numStartups: 812, installMethod: 'npm-global', autoUpdates: true, theme: 'dark',
    mcpServers: { omnispindle: { type: 'stdio', command: 'npx', args: ['-y', 'omnispindle@latest', '--stdio'], env: {} } },
    projects: {},
  };
  for (let i = 0, size = 0; size < bytes; i++) {
    const p = {
      allowedTools: ['Bash(npm test:*)', 'Bash(git status:*)'],
      history: Array.from({ length: 40 }, (_, h) => ({ display: `refactor module ${h} of project ${i}: make the parser stream tokens instead of buffering the whole input`, pastedContents: {} })),
      mcpContextUris: [],
      mcpServers: i % 3 === 0 ? { omnispindle: { type: 'stdio', command: '/home/dev/.local/bin/omnispindle', args: ['--project', `p${i}`], env: { OMNISPINDLE_PROJECT: `p${i}` } } } : {},
      enabledMcpjsonServers: [], disabledMcpjsonServers: [], hasTrustDialogAccepted: true, lastCost: 0.42, lastDuration: 183042,
    };
    doc.projects[`/home/dev/src/project-${i}`] = p;
    size += JSON.stringify(p, null, 2).length;
  }
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Wall time (ms) and peak RSS (KB) of one run, via /usr/bin/time when present. */
async function timedRss(args, env, cwd) {
  const r = await run('/usr/bin/time', ['-f', '%M', process.execPath, ...args], env, cwd).catch(() => undefined);
  if (r) {
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.err.slice(-500)}`);
    return { ms: r.ms, kb: Number(r.err.trim().split('\n').pop()) };
  }
  const plain = await run(process.execPath, args, env, cwd);
  if (plain.code !== 0) throw new Error(`${args.join(' ')} exited ${plain.code}: ${plain.err.slice(-500)}`);
  return { ms: plain.ms, kb: NaN };
}

/** 5. wire / no-op wire / unwire on a 5 MB ~/.claude.json, next to a bare JSON.parse of it. */
async function bigConfigBench(dir) {
  const mcpHome = join(dir, 'big-home');
  const config = join(mcpHome, '.claude.json');
  const original = join(dir, 'claude-5mb.json');
  await mkdir(mcpHome, { recursive: true });
  await writeFile(original, bigClaudeJson(5 * 1024 * 1024));
  const env = { HOME: mcpHome, XDG_CONFIG_HOME: join(mcpHome, '.config'), OMNI_AUTH_HOME: join(mcpHome, 'omni'), CLAUDE_CONFIG_DIR: '' };
  const rounds = Math.max(5, Math.floor(RUNS / 5));
  const t = { parse: [], wire: [], noop: [], unwire: [] };
  const add = (k, r) => t[k].push(r);
  for (let i = 0; i < rounds; i++) {
    await copyFile(original, config);
    // In the home directory: no project-scope file of this repository is in sight.
    add('parse', await timedRss(['-e', `JSON.parse(require('fs').readFileSync(${JSON.stringify(config)}, 'utf8'))`], env, mcpHome));
    add('wire', await timedRss([cli, 'mcp', 'wire', '--client', 'claude-code'], env, mcpHome));
    add('noop', await timedRss([cli, 'mcp', 'wire', '--client', 'claude-code'], env, mcpHome));
    add('unwire', await timedRss([cli, 'mcp', 'unwire', '--client', 'claude-code'], env, mcpHome));
    if ((await readFile(config, 'utf8')) !== (await readFile(original, 'utf8'))) throw new Error('the 5 MB file did not come back byte for byte after unwire');
  }
  const ms = (k) => median(t[k].map((r) => r.ms));
  const mb = (k) => Math.max(...t[k].map((r) => r.kb)) / 1024;
  const size = ((await readFile(original)).length / 1048576).toFixed(1);
  const out = [];
  for (const [k, label] of [['wire', '`mcp wire`'], ['noop', 'no-op `mcp wire`'], ['unwire', '`mcp unwire`']]) {
    out.push([`${label} on a ${size} MB ~/.claude.json / bare JSON.parse of it (median wall, peak RSS)`,
      `${ms(k).toFixed(0)} ms, ${mb(k).toFixed(0)} MiB / ${ms('parse').toFixed(0)} ms, ${mb('parse').toFixed(0)} MiB`,
      (ms(k) / ms('parse')).toFixed(2), '< 500 ms, < 150 MiB']);
  }
  return out;
}

// 5 first: it needs no emulator.
let bigResults = [];
if (want('big')) {
  const bigDir = await mkdtemp(join(tmpdir(), 'omni-bench-mcp-'));
  bigResults = await bigConfigBench(bigDir).finally(() => rm(bigDir, { recursive: true, force: true }));
}

const emu = await startEmulator(['--provisioned']);
const { domain, client_id, audience } = emu.info;
const settings = { OMNI_AUTH_DOMAIN: domain, OMNI_AUTH_CLIENT_ID: client_id, OMNI_AUTH_AUDIENCE: audience };
const home = await mkdtemp(join(tmpdir(), 'omni-bench-'));
const results = [];
try {
  // 1. warm token (each format), launcher, exec vs node -e 0
  const env = { ...settings, OMNI_AUTH_HOME: join(home, 'warm') };
  const login = await run(process.execPath, [cli, 'login', '--no-write'], env);
  if (login.code !== 0) throw new Error(`login failed: ${login.err}`);
  const launcher = join(home, 'warm', 'bin', 'omni-auth.cjs');
  const spawnFloor = join(home, 'spawn-floor.cjs');
  await writeFile(spawnFloor, `require('node:child_process').spawn(process.execPath, ['-e', '0'], { stdio: 'inherit' }).on('exit', (c) => (process.exitCode = c));\n`);
  const full = join(root, 'dist', 'omni-auth-full.cjs');
  const node = process.execPath;
  const warmCommands = [
    ['`node -e 0`', [node, ['-e', '0']]],
    ['warm `omni-auth token`', [node, [cli, 'token'], env], '≤ 1.15'],
    ...['json', 'header', 'env', 'headers-json'].map((f) => [`warm \`token --format ${f}\``, [node, [cli, 'token', '--format', f], env], '≤ 1.15']),
    ['launcher `<home>/bin/omni-auth.cjs token`', [node, [launcher, 'token'], env], '≤ 1.15'],
    ['warm `exec -- node -e 0`', [node, [cli, 'exec', '--', node, '-e', '0'], env], '≤ 2.15'],
    // The floor of exec: a Node script that does nothing but spawn `node -e 0` and wait for it — through
    // node:child_process, which a warm exec does not load (src/warm/spawn.ts): two Node starts and that module.
    ['(exec\'s floor: a script spawning `node -e 0` with node:child_process)', [node, [spawnFloor]], '-'],
    ['(the full CLI alone: omni-auth-full.cjs token)', [node, [full, 'token'], env], '-'],
  ];
  // Interleaved, one of each per round: the machine's speed drifts, and a drift between two blocks of
  // runs would show up as a ratio.
  if (want('warm')) {
    const [node0, ...warm] = await timeRounds(...warmCommands.map((c) => c[1]));
    for (const [k, [label, , target]] of warmCommands.slice(1).entries()) {
      // The spread of the same ratio taken round by round (each run against the round's `node -e 0`):
      // how far this machine's noise moves it.
      const [q1, q3] = quartiles(warm[k].map((ms, i) => ms / node0[i]));
      results.push([`${label} / \`node -e 0\` (median wall)`, `${median(warm[k]).toFixed(1)} ms / ${median(node0).toFixed(1)} ms (per round: ${q1.toFixed(2)}–${q3.toFixed(2)})`, (median(warm[k]) / median(node0)).toFixed(2), target]);
    }
  }

  // 2. cold exchange vs one fetch POST to the same emulator
  if (want('cold')) {
    const probe = join(home, 'fetch-post.mjs');
    await writeFile(probe, `await (await fetch(${JSON.stringify(`${domain}/oauth/token`)}, { method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'grant_type=client_credentials' })).text();\n`);
    const fetches = [];
    const colds = [];
    await run(process.execPath, [probe]);
    for (let i = 0; i < Math.max(10, Math.floor(RUNS / 2)); i++) {
      const f = await run(process.execPath, [probe]);
      if (f.code !== 0) throw new Error(`fetch probe exited ${f.code}: ${f.err}`);
      fetches.push(f.ms);
      // A new home each time: no cache, no key — a first run as a new user would do it.
      const r = await run(process.execPath, [cli, 'token'], { ...env, OMNI_AUTH_HOME: join(home, `cold-${i}`) });
      if (r.code !== 0) throw new Error(`cold token exited ${r.code}: ${r.err}`);
      colds.push(r.ms);
    }
    const fetchMs = median(fetches);
    const cold = median(colds);
    results.push(['cold `omni-auth token` (exchange) / one fetch POST (median wall)', `${cold.toFixed(1)} ms / ${fetchMs.toFixed(1)} ms`, (cold / fetchMs).toFixed(2), '≤ 1.5']);
  }

  // 3. peak RSS (median of interleaved runs) vs node -e 0
  if (want('rss')) {
    const rssCommands = warmCommands.filter((c) => c[2] !== '-');
    const rss = await peakRssMedians(rssCommands.map((c) => c[1]), Math.max(10, Math.floor(RUNS / 3)));
    if (rss) {
      for (const [k, [label]] of rssCommands.slice(1).entries()) {
        results.push([`peak RSS, ${label} / \`node -e 0\``, `${(rss[k + 1] / 1024).toFixed(1)} MiB / ${(rss[0] / 1024).toFixed(1)} MiB`, `+${((rss[k + 1] - rss[0]) / 1024).toFixed(1)} MiB`, '≤ +4 MiB']);
      }
    } else {
      results.push(['peak RSS', 'n/a (/usr/bin/time missing)', '-', '-']);
    }
  }

  // 4. exchanges caused by 32 parallel cold token calls
  if (want('parallel')) {
    const before = (await stats(domain)).exchanges;
    const parallelHome = join(home, 'parallel');
    const outs = await Promise.all(Array.from({ length: 32 }, () => run(process.execPath, [cli, 'token'], { ...env, OMNI_AUTH_HOME: parallelHome })));
    const after = (await stats(domain)).exchanges;
    const distinct = new Set(outs.map((o) => o.out)).size;
    const failed = outs.filter((o) => o.code !== 0).length;
    results.push(['exchanges caused by 32 parallel cold `token` calls', `${after.ok + after.failed - before.ok - before.failed} (distinct tokens printed: ${distinct}, failures: ${failed})`, String(after.ok + after.failed - before.ok - before.failed), '1']);
  }

} finally {
  await emu.stop();
  await rm(home, { recursive: true, force: true });
}

// 6a. 200 real `omni-auth token` processes at once under the Essentials limit (burst 4, 4/s)
if (want('herd')) {
  const { cliHerd } = await import('./herd-cli.mjs');
  const r = await cliHerd({ n: 200, cli });
  results.push([`${r.n} \`omni-auth token\` processes at once, --plan essentials (4/s): time for all / ${r.n} / 4 s`,
    `${r.seconds.toFixed(1)} s / ${r.physicalSeconds} s (load ${r.load1} before; emulator priority ${r.emulatorPriority})`,
    r.ratio.toFixed(2), '≤ 1.3']);
  results.push([`${r.n} \`omni-auth token\` processes: failures`, `${r.failed}${r.exitCodes.length ? ` (exit ${r.exitCodes.join(', ')}: ${r.firstFailure})` : ''}`, String(r.failed), '0']);
  results.push([`${r.n} \`omni-auth token\` processes: successful exchanges (429s)`, `${r.exchanges} (${r.rateLimited})`, String(r.exchanges), String(r.n)]);
}

// 6b. 200 identities at once under the Essentials limit (burst 4, 4/s), in-process (4 workers)
if (want('herd')) {
  const HERD = 200;
  const WORKERS = 4;
  const herdEmu = await startEmulator(['--provisioned', '--plan', 'essentials']);
  const herdDir = await mkdtemp(join(tmpdir(), 'omni-bench-herd-'));
  try {
    const { domain: d, client_id: c, audience: a, control_token: ct } = herdEmu.info;
    // CI's patience: a herd of 200 at 4/s needs 50 s at best.
    const herdEnv = { ...process.env, OMNI_AUTH_DOMAIN: d, OMNI_AUTH_CLIENT_ID: c, OMNI_AUTH_AUDIENCE: a, OMNI_AUTH_RETRY_BUDGET: '300' };
    const t0 = Date.now();
    const outs = await Promise.all(Array.from({ length: WORKERS }, (_, w) => new Promise((resolve, reject) => {
      const n = Math.floor(HERD / WORKERS) + (w < HERD % WORKERS ? 1 : 0);
      const child = spawn(process.execPath, [join(root, 'bench', 'herd-worker.mjs'), String(n), herdDir], { env: herdEnv, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (x) => (out += x));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`herd worker exited ${code}`))));
    })));
    const totalMs = Date.now() - t0;
    const all = outs.flat();
    const failed = all.filter((r) => !r.ok);
    const why = [...new Set(failed.map((r) => r.code))].join(', ');
    const herdStats = await (await fetch(`${d}/__emulator/stats`, { headers: { authorization: `Bearer ${ct}` } })).json();
    const floorMs = (HERD / 4) * 1000;
    results.push([`${HERD} identities at once, in-process getToken (4 workers), --plan essentials: time for all / ${HERD} / 4 s`,
      `${(totalMs / 1000).toFixed(1)} s / ${(floorMs / 1000).toFixed(0)} s (429s: ${herdStats.exchanges.rate_limited}, exchanges: ${herdStats.exchanges.ok})`,
      (totalMs / floorMs).toFixed(2), '≤ 1.3']);
    results.push([`${HERD} identities at once, in-process getToken: failures`, `${failed.length}${why ? ` (${why})` : ''}`, String(failed.length), '0']);
  } finally {
    await herdEmu.stop();
    await rm(herdDir, { recursive: true, force: true });
  }
}

results.push(...bigResults);
console.log(`omni-auth bench — node ${process.version}, ${RUNS} runs per median\n`);
const w = [Math.max(...results.map((r) => r[0].length)), Math.max(...results.map((r) => r[1].length))];
console.log(`${'measure'.padEnd(w[0])}  ${'values'.padEnd(w[1])}  ratio/result  target`);
for (const [m, v, ratio, target] of results) console.log(`${m.padEnd(w[0])}  ${v.padEnd(w[1])}  ${ratio.padEnd(12)}  ${target}`);
