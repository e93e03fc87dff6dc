/**
 * The `node:vm` context an Action runs in: the globals an Action has on Auth0's Node runtime, a
 * console that writes to a bounded in-memory log (never to the emulator's stdout, which is an API),
 * timers that are cleared when the run ends, and a `process` without stdout, exit or env.
 *
 * `node:vm` is not a security boundary: it isolates the Action's globals and bounds its time, which
 * is what an emulator running its own user's Action needs.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { format } from 'node:util';
import vm from 'node:vm';

/** The file name in the build's syntax errors; at run time the Action is `<install dir>/index.js`. */
export const ACTION_FILENAME = '/action/index.js';
const ACTION_DIRNAME = '/action';

const MAX_LOG_LINES = 100;
const MAX_LOG_LINE_CHARS = 1000;

export interface SandboxOptions {
  logs?: string[];
  /** What a timer or microtask callback of the Action threw. */
  onAsyncError(error: unknown): void;
}

export interface Sandbox {
  context: vm.Context;
  /** An Error of the Action's realm, so `instanceof Error` holds inside the Action. */
  realmError(message: string, code?: string): Error;
  realmTypeError(message: string): Error;
  /** Copies plain JSON data into the Action's realm. */
  toRealm<T>(data: T): T;
  /** The `process` the Action sees (global and `require('process')`). */
  processShim: object;
  /** Clears the Action's timers; later timers are not scheduled. */
  dispose(): void;
}

export function createSandbox(options: SandboxOptions): Sandbox {
  let closed = false;
  const timeouts = new Set<NodeJS.Timeout>();
  const intervals = new Set<NodeJS.Timeout>();
  const immediates = new Set<NodeJS.Immediate>();

  // A callback the Action scheduled runs outside any try of the Action: what it throws would be an
  // uncaught exception of the emulator, so it is caught and fails the run instead.
  const guarded = (fn: unknown, args: unknown[]) => () => {
    try {
      (fn as (...a: unknown[]) => unknown)(...args);
    } catch (error) {
      options.onAsyncError(error);
    }
  };
  const requireFunction = (fn: unknown, name: string): void => {
    if (typeof fn !== 'function') throw sandbox.realmTypeError(`The "callback" argument of ${name} must be of type function`);
  };

  const timers = {
    setTimeout(fn: unknown, ms?: number, ...args: unknown[]): NodeJS.Timeout {
      requireFunction(fn, 'setTimeout');
      const t = setTimeout(() => {
        timeouts.delete(t);
        guarded(fn, args)();
      }, ms);
      if (closed) clearTimeout(t);
      else timeouts.add(t);
      return t;
    },
    clearTimeout(t?: NodeJS.Timeout): void {
      if (t === undefined) return;
      timeouts.delete(t);
      clearTimeout(t);
    },
    setInterval(fn: unknown, ms?: number, ...args: unknown[]): NodeJS.Timeout {
      requireFunction(fn, 'setInterval');
      const t = setInterval(guarded(fn, args), ms);
      if (closed) clearInterval(t);
      else intervals.add(t);
      return t;
    },
    clearInterval(t?: NodeJS.Timeout): void {
      if (t === undefined) return;
      intervals.delete(t);
      clearInterval(t);
    },
    setImmediate(fn: unknown, ...args: unknown[]): NodeJS.Immediate {
      requireFunction(fn, 'setImmediate');
      const i = setImmediate(() => {
        immediates.delete(i);
        guarded(fn, args)();
      });
      if (closed) clearImmediate(i);
      else immediates.add(i);
      return i;
    },
    clearImmediate(i?: NodeJS.Immediate): void {
      if (i === undefined) return;
      immediates.delete(i);
      clearImmediate(i);
    },
    queueMicrotask(fn: unknown): void {
      requireFunction(fn, 'queueMicrotask');
      queueMicrotask(guarded(fn, []));
    },
  };

  const processShim = Object.freeze({
    env: Object.freeze({}),
    version: process.version,
    versions: Object.freeze({ ...process.versions }),
    platform: process.platform,
    arch: process.arch,
    release: Object.freeze({ name: 'node' }),
    hrtime: process.hrtime,
    uptime: () => process.uptime(),
    cwd: () => ACTION_DIRNAME,
    nextTick(fn: unknown, ...args: unknown[]): void {
      requireFunction(fn, 'process.nextTick');
      process.nextTick(guarded(fn, args));
    },
    emitWarning: () => undefined,
  });

  const context = vm.createContext({
    console: actionConsole(options.logs),
    Buffer,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    atob,
    btoa,
    structuredClone,
    crypto: globalThis.crypto,
    fetch: globalThis.fetch,
    Headers: globalThis.Headers,
    Request: globalThis.Request,
    Response: globalThis.Response,
    FormData: globalThis.FormData,
    Blob,
    AbortController,
    AbortSignal,
    Event,
    EventTarget,
    performance,
    process: processShim,
    ...timers,
  });
  (context as Record<string, unknown>).global = vm.runInContext('globalThis', context);

  const RealmError = vm.runInContext('Error', context) as ErrorConstructor;
  const RealmTypeError = vm.runInContext('TypeError', context) as TypeErrorConstructor;
  const realmParse = vm.runInContext('JSON.parse', context) as typeof JSON.parse;

  const sandbox: Sandbox = {
    context,
    realmError(message, code) {
      const e = new RealmError(message);
      if (code) Object.defineProperty(e, 'code', { value: code, enumerable: true, writable: true, configurable: true });
      return e;
    },
    realmTypeError: (message) => new RealmTypeError(message),
    toRealm: <T>(data: T): T => realmParse(JSON.stringify(data)) as T,
    processShim,
    dispose() {
      closed = true;
      for (const t of timeouts) clearTimeout(t);
      for (const t of intervals) clearInterval(t);
      for (const i of immediates) clearImmediate(i);
      timeouts.clear();
      intervals.clear();
      immediates.clear();
    },
  };
  return sandbox;
}

function actionConsole(logs: string[] | undefined): Record<string, (...args: unknown[]) => void> {
  let written = 0;
  const write = (prefix: string, args: unknown[]): void => {
    if (!logs) return;
    if (written > MAX_LOG_LINES) return;
    written += 1;
    if (written > MAX_LOG_LINES) {
      logs.push(`[console output beyond ${MAX_LOG_LINES} lines dropped]`);
      return;
    }
    const line = prefix + format(...args);
    logs.push(line.length > MAX_LOG_LINE_CHARS ? `${line.slice(0, MAX_LOG_LINE_CHARS)}…` : line);
  };
  const at = (prefix: string) => (...args: unknown[]) => write(prefix, args);
  const ignore = (): void => undefined;
  return {
    log: at(''),
    info: at(''),
    debug: at(''),
    dir: at(''),
    table: at(''),
    warn: at('warn: '),
    error: at('error: '),
    trace: at('trace: '),
    assert: (condition: unknown, ...args: unknown[]) => {
      if (!condition) write('Assertion failed: ', args);
    },
    time: ignore,
    timeEnd: ignore,
    timeLog: ignore,
    count: ignore,
    countReset: ignore,
    group: ignore,
    groupCollapsed: ignore,
    groupEnd: ignore,
  };
}

/**
 * Runs `thunk` inside `vm.runInContext` so that the `timeout` watchdog covers it: the only way to
 * bound the synchronous part of a function that lives in the context.
 */
export function callWithTimeout<T>(context: vm.Context, thunk: () => T, timeoutMs: number): T {
  const slot = `__omniCall_${randomBytes(8).toString('hex')}`;
  const global = context as Record<string, unknown>;
  global[slot] = thunk;
  try {
    return vm.runInContext(`${slot}()`, context, { timeout: Math.max(1, Math.ceil(timeoutMs)) }) as T;
  } finally {
    delete global[slot];
  }
}

/**
 * The CommonJS module function, compiled in `context` (or the emulator's, to check syntax only).
 * Its `import()` goes to Node's default ESM loader, resolving from `filename` — the Action's install
 * directory, whose node_modules holds only the declared packages (see dependencies.ts).
 */
function compileModule(code: string, filename: string, context?: vm.Context): (...args: unknown[]) => void {
  return vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename,
    ...(context ? { parsingContext: context, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER } : {}),
  }) as (...args: unknown[]) => void;
}

/** Compiles without running: the syntax error Auth0's build would report, or undefined. */
export function syntaxError(code: string): string | undefined {
  try {
    compileModule(code, ACTION_FILENAME);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const line = error instanceof Error ? new RegExp(`${ACTION_FILENAME}:(\\d+)`).exec(error.stack ?? '')?.[1] : undefined;
    return line ? `${message} (line ${line})` : message;
  }
}

let dynamicImportPrimed = false;
/**
 * Node 20 prints "ExperimentalWarning: vm.USE_MAIN_CONTEXT_DEFAULT_LOADER is an experimental
 * feature" on stderr the first time compiled code calls `import()`. That line is about the
 * emulator's implementation, not the Action, and stderr is where the emulator talks to people, so
 * the first `import()` is made here, once, with that one warning (and no other) held back. Node
 * emits it synchronously inside the `import()` call.
 */
function primeDynamicImport(): void {
  if (dynamicImportPrimed) return;
  dynamicImportPrimed = true;
  const probe = vm.compileFunction("return import('node:path')", [], {
    filename: ACTION_FILENAME,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }) as () => Promise<unknown>;
  const emitWarning = process.emitWarning;
  process.emitWarning = function filtered(this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (typeof text === 'string' && text.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    probe().catch(() => undefined);
  } catch {
    // an engine without the loader: the Action's own import() will say so
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Evaluates the Action's module in the sandbox as `filename` (in its install directory) and returns
 * its `module.exports`.
 */
export function evaluateModule(
  sandbox: Sandbox,
  code: string,
  filename: string,
  require: (id: string) => unknown,
  timeoutMs: number,
): unknown {
  primeDynamicImport();
  const factory = compileModule(code, filename, sandbox.context);
  const module = sandbox.toRealm({ exports: {} as Record<string, unknown> });
  callWithTimeout(
    sandbox.context,
    () => factory.call(module.exports, module.exports, require, module, filename, dirname(filename)),
    timeoutMs,
  );
  return module.exports;
}
