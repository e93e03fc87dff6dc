#!/usr/bin/env node
/**
 * Builds (`npm run build`) the CLI — dist/omni-auth-full.cjs, the whole CLI in one file, and
 * dist/omni-auth.cjs, the small entry users run, which answers a warm `token`/`exec` itself and hands
 * everything else to the full CLI (issue 13; see buildWarmEntry below and src/warm/main.ts) — the
 * server module dist/server.js (`buildServer`) and the library, dist/index.js + dist/index.d.ts
 * (`import { getToken } from 'omni-auth'`; see `buildLibrary` at the end).
 *
 * Start-up is dominated by V8 parsing the bundle, and most of it is code only some commands run: the
 * HTTP client (undici, ~1 MB) and the YAML/TOML editors of the MCP configs. Those packages go into the
 * same file as compressed string literals — scanning a string costs a fraction of parsing code — and
 * are decompressed and compiled the first time a command imports them (their importers are already loaded lazily). The warm `token`
 * path therefore parses little more than itself.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import zlib, { brotliCompressSync } from 'node:zlib';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

/** Packages compiled on first use. Each must be reached only through lazily loaded modules. */
const LAZY = ['undici', 'yaml', '@decimalturn/toml-patch', 'jose', 'jsonc-parser'];
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

async function lazyModule(pkg) {
  const bundled = await build({
    // The ESM builds where there are both: jsonc-parser's UMD main requires files by computed paths.
    stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: root, loader: 'js' },
    mainFields: ['module', 'main'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'error',
  });
  const names = Object.keys(await import(pkg)).filter((n) => n !== 'default' && IDENTIFIER.test(n));
  return compiledOnFirstUse(bundled.outputFiles[0].text, names, { withDefault: true });
}

/**
 * The module text that holds `source` (CommonJS) as a compressed string and compiles it when the
 * module is first initialised. Brotli + base64: a third of the bytes to scan at every start;
 * decompressing takes a millisecond. `__omniMetaUrl` is what the lazily compiled code's
 * `import.meta.url` becomes: the bundle's own URL.
 */
function compiledOnFirstUse(source, names, { withDefault }) {
  const packed = brotliCompressSync(Buffer.from(source), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).toString('base64');
  return [
    `import { createRequire as __lazyRequire } from 'node:module';`,
    `import { brotliDecompressSync as __lazyUnpack } from 'node:zlib';`,
    `const __module = { exports: {} };`,
    `const __source = __lazyUnpack(Buffer.from(${JSON.stringify(packed)}, 'base64')).toString('utf8');`,
    `new Function('module', 'exports', 'require', '__omniMetaUrl', __source)(__module, __module.exports, __lazyRequire(import.meta.url), import.meta.url);`,
    `const __exports = __module.exports;`,
    ...(withDefault ? ['export default __exports.default ?? __exports;'] : []),
    ...names.map((n) => `export const ${n} = __exports.${n};`),
  ].join('\n');
}

/**
 * Node's built-in modules, loaded when the module that imports them is first initialised instead of
 * all at start-up (esbuild hoists every `import … from 'node:x'` to the top of the bundle, so the warm
 * `token` would otherwise load http, net, vm, zlib, child_process … for nothing).
 */
async function lazyBuiltin(name) {
  const names = Object.keys(await import(name)).filter((n) => n !== 'default' && IDENTIFIER.test(n));
  return [
    `const __m = require(${JSON.stringify(name)});`,
    `export default __m;`,
    ...names.map((n) => `export const ${n} = __m.${n};`),
  ].join('\n');
}

/**
 * A dependency's `require('node:x')` at its top (commander's child_process, used only for executable
 * subcommands) gets a proxy that loads the module on first property access.
 */
const PROXIED = new Set(['node:child_process']);
function proxiedBuiltin(name) {
  const load = `(__m ??= require(${JSON.stringify(name)}))`;
  return `let __m; module.exports = new Proxy({}, { get: (_, k) => ${load}[k], set: (_, k, v) => ((${load}[k] = v), true), has: (_, k) => k in ${load} });`;
}

const builtinPlugin = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (args.namespace === 'lazy-builtin' || args.namespace === 'proxied-builtin') return { path: args.path, external: true };
      return { path: args.path, namespace: args.kind === 'require-call' && PROXIED.has(args.path) ? 'proxied-builtin' : 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => ({ contents: await lazyBuiltin(args.path), loader: 'js' }));
    b.onLoad({ filter: /.*/, namespace: 'proxied-builtin' }, (args) => ({ contents: proxiedBuiltin(args.path), loader: 'js' }));
  },
};

/**
 * Our own code that the warm `token` never runs — the emulator (`emulator`, `demo`), tenant
 * provisioning (`setup`, `doctor`), the MCP config editors (`login`, `logout`, `mcp`) and the browser
 * sign-in (`login --browser`) — each
 * reached from src/cli through one index module, is compiled on first use like the packages above. It carries
 * its own copies of the small shared modules; errors are recognised by shape (util/errors.ts), not by
 * class identity, so that is safe.
 */
const LAZY_SUBTREES = {
  'src/emulator/index.ts': /[\\/]emulator[\\/]index\.js$/,
  'src/tenant/index.ts': /[\\/]tenant[\\/]index\.js$/,
  'src/mcp/index.ts': /[\\/]mcp[\\/]index\.js$/,
  // Browser sign-in (`login --browser`, a seamless `login` or `exec`), with oauth4webapi inside it.
  'src/signin/index.ts': /[\\/]signin[\\/]index\.js$/,
  // The stdio ⇄ Streamable HTTP proxy (`omni-auth proxy`), with the MCP SDK's client transports.
  'src/proxy/index.ts': /[\\/]proxy[\\/]index\.js$/,
};

async function lazySubtree(entry) {
  const common = {
    entryPoints: [join(root, entry)], bundle: true, platform: 'node', target: 'node20', write: false,
    mainFields: ['module', 'main'], logLevel: 'error', plugins: [lazyPlugin, builtinPlugin],
  };
  const esm = await build({ ...common, format: 'esm', metafile: true, define: { __OMNI_AUTH_VERSION__: '""' } });
  const names = Object.values(esm.metafile.outputs)[0].exports.filter((n) => n !== 'default' && IDENTIFIER.test(n));
  const cjs = await build({ ...common, format: 'cjs', define: { __OMNI_AUTH_VERSION__: JSON.stringify(version), 'import.meta.url': '__omniMetaUrl' } });
  return compiledOnFirstUse(cjs.outputFiles[0].text, names, { withDefault: false });
}

const subtreePlugin = {
  name: 'lazy-subtrees',
  setup(b) {
    for (const [entry, pattern] of Object.entries(LAZY_SUBTREES)) {
      b.onResolve({ filter: pattern }, (args) => (args.importer.includes(`${join('src', 'cli')}`) ? { path: entry, namespace: 'lazy-subtree' } : undefined));
    }
    b.onLoad({ filter: /.*/, namespace: 'lazy-subtree' }, async (args) => ({ contents: await lazySubtree(args.path), loader: 'js', resolveDir: root }));
  },
};

const lazyPlugin = {
  name: 'lazy-packages',
  setup(b) {
    const filter = new RegExp(`^(${LAZY.map((p) => p.replace(/[/@.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy-package' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, async (args) => ({ contents: await lazyModule(args.path), loader: 'js', resolveDir: root }));
  },
};

// The full CLI. Run through the warm entry (below), it takes the entry's location as its own
// (src/warm/files.ts ENTRY_SYMBOL): `<home>/bin/omni-auth.cjs` finds its home, the launcher copies the pair.
const FULL_CLI_FILE = 'omni-auth-full.cjs'; // src/warm/files.ts
/**
 * What both CLI files (the full CLI and the warm entry) are built as. CommonJS: Node starts a single
 * CommonJS file measurably faster than an ES module (no module job, no linking). The sources are ESM;
 * `import.meta.url` becomes the bundle's own file URL.
 */
const CLI_BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  mainFields: ['module', 'main'],
  metafile: true,
  logLevel: 'warning',
};
const outfile = join(root, 'dist', FULL_CLI_FILE);
const result = await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile,
  ...CLI_BUNDLE,
  define: { __OMNI_AUTH_VERSION__: JSON.stringify(version), 'import.meta.url': '__omniMetaUrl' },
  banner: {
    js: "#!/usr/bin/env node\n'use strict';\nvar __omniMetaUrl = require('node:url').pathToFileURL(globalThis[Symbol.for('omni-auth.entry')] ?? __filename).href;",
  },
  plugins: [subtreePlugin, lazyPlugin, builtinPlugin],
});
const { writeFile } = await import('node:fs/promises');
await writeFile(join(root, 'dist', 'metafile.json'), JSON.stringify(result.metafile));
await chmod(outfile, 0o755);

// ---- The warm entry, dist/omni-auth.cjs (issue 13; src/warm/main.ts) ----
/**
 * node:fs/promises in the warm entry: the calls a warm `token` or `exec` makes (reading the cache and
 * settings; the exec token file's directory and atomic write, src/util/atomic-write.ts and
 * src/exec/token-file.ts) are node:fs's sync calls — the same results and error codes, without loading
 * fs/promises (and the readline code it brings: a megabyte of a warm exec's RSS). A warm run has nothing
 * to overlap its few small file operations with.
 */
const FS_PROMISES_SYNC = {
  readFile: 'readFileSync', stat: 'statSync', lstat: 'lstatSync', mkdir: 'mkdirSync', readdir: 'readdirSync', rm: 'rmSync',
  chmod: 'chmodSync', rename: 'renameSync', unlink: 'unlinkSync', link: 'linkSync', realpath: 'realpathSync.native',
};
/** fs/promises `open`: a FileHandle with the methods src/util/atomic-write.ts calls, on node:fs's sync calls; others load fs/promises. */
const OPEN_SYNC = `export async function open(path, flags, mode) {
  const fd = __fs.openSync(path, flags, mode);
  return {
    fd,
    chmod: async (m) => __fs.fchmodSync(fd, m),
    writeFile: async (data) => { __fs.writeFileSync(fd, data); },
    sync: async () => __fs.fsyncSync(fd),
    stat: async (o) => __fs.fstatSync(fd, o),
    close: async () => __fs.closeSync(fd),
  };
}`;
/**
 * node:crypto `randomBytes(n)` in the warm entry (file names: the exec token file's directory,
 * atomic-write's temporary file): the kernel's random source read directly, as node:crypto's own comes
 * from the OS CSPRNG too, without loading node:crypto (a megabyte of a warm exec's RSS). Where
 * /dev/urandom cannot be read (Windows), and with a callback, node:crypto's.
 */
const RANDOM_BYTES = `export function randomBytes(n, cb) {
  if (cb === undefined && process.platform !== 'win32') {
    let fd;
    try {
      fd = __fs.openSync('/dev/urandom', 'r');
      const out = Buffer.alloc(n);
      for (let got = 0; got < n;) {
        const r = __fs.readSync(fd, out, got, n - got, null);
        if (r <= 0) throw new Error('short read');
        got += r;
      }
      return out;
    } catch {
      // node:crypto's, below.
    } finally {
      if (fd !== undefined) __fs.closeSync(fd);
    }
  }
  return __load().randomBytes(n, cb);
}`;

await buildWarmEntry();

/**
 * The entry users run: the CLI's own `token` and `exec` code (src/cli, src/broker/get-token.ts, the
 * cache and settings modules) without commander, the HTTP client, the JWT library or the MCP code, and
 * with two seams (src/warm/main.ts): acquire.ts → src/warm/hand-off.ts, key-store.ts →
 * src/warm/key-check.ts (which imports the real one). Node built-ins a warm run does not need are loaded
 * only when called: node:crypto and node:child_process (every function an on-first-call wrapper; crypto's
 * randomBytes reads /dev/urandom, RANDOM_BYTES), and node:fs/promises, whose calls on the warm paths are
 * the node:fs calls, sync (FS_PROMISES_SYNC, OPEN_SYNC).
 */
async function buildWarmEntry() {
  const warmDir = join(root, 'src', 'warm');
  const inWarm = (importer) => importer.startsWith(warmDir);
  const seams = {
    name: 'warm-seams',
    setup(b) {
      b.onResolve({ filter: /[\\/]acquire\.js$/ }, (args) => (args.importer.endsWith(join('src', 'broker', 'get-token.ts')) ? { path: join(warmDir, 'hand-off.ts') } : undefined));
      b.onResolve({ filter: /[\\/]key-store\.js$/ }, (args) => (inWarm(args.importer) ? undefined : { path: join(warmDir, 'key-check.ts') }));
      // Only these packages: the rest (commander, undici, jose, the YAML/TOML editors) is the full CLI's.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || args.path === 'env-paths') return undefined;
        return { errors: [{ text: `the warm entry must not load ${args.path} (imported by ${args.importer})` }] };
      });
      b.onResolve({ filter: /^\./ }, (args) => {
        if (/[\\/]src[\\/](exchange|mcp|emulator|tenant)[\\/]/.test(join(args.resolveDir, args.path))) {
          return { errors: [{ text: `the warm entry must not load ${args.path} (imported by ${args.importer})` }] };
        }
        return undefined;
      });
    },
  };
  const DEFERRED = new Set(['node:crypto', 'node:child_process', 'node:fs/promises']);
  const builtins = {
    name: 'warm-builtins',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) => {
        if (args.namespace === 'warm-builtin' || args.namespace === 'warm-default' || args.namespace === 'warm-lazy-os') return { path: args.path, external: true };
        // A default import of an external makes esbuild copy every property of the module (__toESM):
        // env-paths' `import process from 'node:process'` (its only kind of import) costs a millisecond.
        // A module of ours that exports the built-in as its default instead.
        const fromEnvPaths = /[\\/]node_modules[\\/]env-paths[\\/]/.test(args.importer);
        // node:os is not loaded at Node's start (0.2 ms CPU): ours are call-time wrappers (warm-lazy-os).
        if (args.path === 'node:os' && !fromEnvPaths) return { path: args.path, namespace: 'warm-lazy-os' };
        if (!DEFERRED.has(args.path)) return fromEnvPaths ? { path: args.path, namespace: 'warm-default' } : { path: args.path, external: true };
        return { path: args.path, namespace: 'warm-builtin' };
      });
      // env-paths reads os.homedir() and os.tmpdir() when it is loaded; a home from OMNI_AUTH_HOME or the
      // launcher never calls it, so it is loaded on its first call.
      b.onResolve({ filter: /^env-paths$/ }, (args) => (args.namespace === 'warm-lazy-env-paths' ? undefined : { path: args.path, namespace: 'warm-lazy-env-paths' }));
      b.onLoad({ filter: /.*/, namespace: 'warm-lazy-env-paths' }, async () => ({
        contents: `export default function envPaths(name, options) { return require('env-paths').default(name, options); }`,
        loader: 'js',
        resolveDir: root,
      }));
      b.onLoad({ filter: /.*/, namespace: 'warm-lazy-os' }, async () => {
        // Every function on first call; `constants` a view whose properties are read from node:os when
        // read. Any other export (EOL, devNull) is not there: importing it fails the build.
        const mod = await import('node:os');
        const lines = [`let __m; const __load = () => (__m ??= require('node:os'));`];
        for (const name of Object.keys(mod)) {
          if (name !== 'default' && IDENTIFIER.test(name) && typeof mod[name] === 'function') lines.push(`export function ${name}(...a) { return __load().${name}(...a); }`);
        }
        lines.push(`export const constants = new Proxy({}, { get: (_, k) => __load().constants[k], has: (_, k) => k in __load().constants });`);
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
      b.onLoad({ filter: /.*/, namespace: 'warm-default' }, async (args) => {
        return { contents: `export default require(${JSON.stringify(args.path)});`, loader: 'js', resolveDir: root };
      });
      b.onLoad({ filter: /.*/, namespace: 'warm-builtin' }, async (args) => {
        const mod = await import(args.path);
        const sync = args.path === 'node:fs/promises' ? FS_PROMISES_SYNC : {};
        const own = args.path === 'node:fs/promises' ? { open: OPEN_SYNC } : args.path === 'node:crypto' ? { randomBytes: RANDOM_BYTES } : {};
        const lines = [`let __m; const __load = () => (__m ??= require(${JSON.stringify(args.path)}));`];
        if (args.path === 'node:fs/promises' || args.path === 'node:crypto') lines.push(`const __fs = require('node:fs');`);
        for (const name of Object.keys(mod)) {
          if (name === 'default' || !IDENTIFIER.test(name) || typeof mod[name] !== 'function') continue;
          lines.push(own[name] ?? (sync[name]
            ? `export async function ${name}(...a) { return __fs.${sync[name]}(...a); }`
            : `export function ${name}(...a) { return __load().${name}(...a); }`));
        }
        if (args.path === 'node:fs/promises') lines.push(`export const constants = __fs.constants;`);
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
  const keyParser = (await Promise.all(['src/identity/key-store.ts', 'src/identity/thumbprint.ts'].map((f) => readFile(join(root, f)))));
  const { createHash } = await import('node:crypto');
  const warmOut = join(root, 'dist', 'omni-auth.cjs');
  const warm = await build({
    entryPoints: [join(warmDir, 'main.ts')],
    outfile: warmOut,
    write: false,
    ...CLI_BUNDLE,
    // No comments (a `*/` would end the comment that holds this code, below); names kept for stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    define: {
      __OMNI_AUTH_VERSION__: JSON.stringify(version),
      __OMNI_AUTH_KEY_CHECK__: JSON.stringify(createHash('sha256').update(Buffer.concat(keyParser)).digest('base64url')),
      // The entry's URL, computed when asked, as a URL object: its one reader (config/home.ts) passes it
      // to fileURLToPath, which then need not parse it again.
      'import.meta.url': '__omniEntry.url',
    },
    banner: { js: "'use strict';var __omniEntry = { get url() { return require('node:url').pathToFileURL(__filename); } };" },
    plugins: [seams, builtins],
  });
  await writeFile(join(root, 'dist', 'metafile-warm.json'), JSON.stringify(warm.metafile));
  await writeFile(warmOut, await withCodeCacheLoader(warm.outputFiles[0].text));
  // Caches of the last build's runs: never shipped (package.json "files"), and dead weight here.
  await rm(join(root, 'dist', '.code-cache'), { recursive: true, force: true });
  await chmod(warmOut, 0o755);
}

/**
 * dist/omni-auth.cjs: src/warm/loader.ts, then the warm entry's code as a CommonJS module function
 * inside a comment — Node scans past it; the loader compiles it with V8's code cache (issue 13).
 * `__WARM_AT__` and `__WARM_LINE__`, where the code starts, are fixed-width, so they do not move the
 * code they point to.
 */
async function withCodeCacheLoader(code) {
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
  if (wrapped.includes('*/')) throw new Error('the warm entry contains "*/": it cannot sit inside the loader\'s comment');
  // vm.Script gets no importModuleDynamically: a dynamic import() would fail at run time.
  if (/\bimport\(/.test(code)) throw new Error('the warm entry contains import(): the loader cannot run it');
  const { createHash } = await import('node:crypto');
  const id = createHash('sha256').update(wrapped).digest('hex').slice(0, 16);
  const loaderWith = async (at, line) => (await build({
    entryPoints: [join(root, 'src', 'warm', 'loader.ts')],
    write: false,
    ...CLI_BUNDLE,
    metafile: false,
    define: { __WARM_AT__: JSON.stringify(String(at).padStart(10, '0')), __WARM_LINE__: JSON.stringify(String(line).padStart(10, '0')), __WARM_ID__: JSON.stringify(id) },
    banner: { js: '#!/usr/bin/env node' },
  })).outputFiles[0].text;
  const head = `${await loaderWith(0, 0)}/*\n`;
  const file = `${await loaderWith(head.length, head.split('\n').length - 1)}/*\n${wrapped}\n*/\n`;
  if (!file.endsWith('\n})\n*/\n')) throw new Error('the warm entry does not end as src/warm/loader.ts TAIL says');
  if (file.slice(head.length, head.length + wrapped.length) !== wrapped) throw new Error('the warm entry\'s offset moved');
  // The loader slices the file by character offsets: one byte, one character.
  if (/[^\x00-\x7f]/.test(file)) throw new Error('dist/omni-auth.cjs must be ASCII');
  return file;
}

/**
 * `omni-auth/server` (package.json `exports["./server"]`): src/server as its own ES module,
 * dist/server.js, for MCP servers. Its packages (jose; the MCP SDK's error classes, imported on
 * first refusal) stay imports, resolved from the user's node_modules so the SDK's `instanceof`
 * checks see the same classes. Its import graph goes to dist/server-metafile.json (test/server/
 * isolation.test.ts checks it reaches nothing of the CLI) and its declarations to dist/types/server/.
 */
async function buildServer() {
  const server = await build({
    entryPoints: [join(root, 'src/server/index.ts')],
    outfile: join(root, 'dist', 'server.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'warning',
  });
  await writeFile(join(root, 'dist', 'server-metafile.json'), JSON.stringify(server.metafile));
  const { default: ts } = await import('typescript');
  const program = ts.createProgram([join(root, 'src/server/index.ts')], {
    declaration: true, emitDeclarationOnly: true, rootDir: join(root, 'src'), outDir: join(root, 'dist', 'types'),
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, skipLibCheck: true, types: ['node'],
  });
  const emitted = program.emit();
  const problems = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics);
  if (problems.length > 0) throw new Error(ts.formatDiagnostics(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
}
await buildServer();

/**
 * The library: an ES module for `import { getToken } from 'omni-auth'` (package.json `exports`), built
 * from src/index.ts apart from the CLI — the CLI bundle above never imports it, so its warm path is
 * untouched. Code splitting keeps the library's own warm path (a cache hit) as light as the CLI's:
 * the exchange code, the HTTP client and jose are chunks under dist/lib/, loaded by the dynamic
 * imports the sources already have. CommonJS dependencies (undici) `require` Node's built-ins: each
 * file gets a `require` of its own.
 */
async function buildLibrary() {
  await rm(join(root, 'dist', 'lib'), { recursive: true, force: true });
  await build({
    entryPoints: { index: join(root, 'src/index.ts') },
    outdir: join(root, 'dist'),
    bundle: true,
    splitting: true,
    chunkNames: 'lib/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    logLevel: 'warning',
    define: { __OMNI_AUTH_VERSION__: JSON.stringify(version) },
    banner: { js: "import { createRequire as __omniCreateRequire } from 'node:module';\nconst require = __omniCreateRequire(import.meta.url);" },
    plugins: [cjsNamedExportsPlugin],
  });
  await buildDeclarations();
}

/**
 * A CommonJS package reached by a dynamic `import()` becomes, with code splitting, a chunk that
 * exports only `default`: `const { Agent } = await import('undici')` would find nothing. Such a
 * package is imported through a small ES module that names its exports (read at build time).
 */
const CJS_PACKAGES = ['undici'];
const cjsNamedExportsPlugin = {
  name: 'cjs-named-exports',
  setup(b) {
    const filter = new RegExp(`^(${CJS_PACKAGES.map((p) => p.replace(/[/@.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => (args.namespace === 'cjs-named' ? undefined : { path: args.path, namespace: 'cjs-named' }));
    b.onLoad({ filter: /.*/, namespace: 'cjs-named' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default' && IDENTIFIER.test(n));
      return {
        contents: [`import * as __m from ${JSON.stringify(args.path)};`, 'export default __m.default ?? __m;', ...names.map((n) => `export const ${n} = __m.${n};`)].join('\n'),
        loader: 'js',
        resolveDir: root,
      };
    });
  },
};

/**
 * dist/index.d.ts from TypeScript's declaration emit (tsconfig.lib.json), with the declaration files it
 * imports (relative `from './x.js'`), at the same relative paths under dist/ — and nothing else.
 */
async function buildDeclarations() {
  const out = await mkdtemp(join(tmpdir(), 'omni-auth-dts-'));
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.lib.json'), '--declarationDir', out], { stdio: 'inherit' });
    const seen = new Set();
    const queue = ['index.d.ts'];
    while (queue.length > 0) {
      const file = queue.pop();
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(join(out, file), 'utf8');
      for (const [, spec] of text.matchAll(/\bfrom\s+['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
        queue.push(posix.normalize(posix.join(posix.dirname(file), `${spec}.d.ts`)));
      }
      for (const [, spec] of text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)\.js['"]\s*\)/g)) {
        queue.push(posix.normalize(posix.join(posix.dirname(file), `${spec}.d.ts`)));
      }
    }
    for (const file of seen) {
      await mkdir(dirname(join(root, 'dist', file)), { recursive: true });
      await copyFile(join(out, file), join(root, 'dist', file));
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

await buildLibrary();
