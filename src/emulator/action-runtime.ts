/**
 * The emulator's Action runner: runs a deployed custom-token-exchange Action the way Auth0 does —
 * `exports.onExecuteCustomTokenExchange = async (event, api) => …`, CommonJS, Node built-ins and
 * the declared npm dependencies, a time limit — and turns what it did into an ActionOutcome.
 *
 * Where Auth0 is silent, one documented choice (change it here, in one place):
 * - Dependencies: the declared version of each package, installed with omni-auth, loaded by Node's
 *   own loader from a per-Action install directory — `require()` and `import()` with Node's
 *   semantics; a package that is not installed at exactly that version fails the build. Details in
 *   action-runtime/dependencies.ts.
 * - Runtimes: `node22` and `node18`/`node18-actions` build; the code runs on the emulator's own Node.
 * - Build: fails on code that does not compile, an unavailable dependency, an unsupported runtime.
 *   Nothing runs at build time.
 * - Time: `timeoutMs` bounds the whole execution from the start of the module's evaluation. The
 *   synchronous parts (module body, the handler up to its first `await`) are interrupted by the vm
 *   watchdog; the asynchronous rest is raced, and its timers are cleared when the run ends. A
 *   CPU-bound loop after an `await` cannot be interrupted inside one process.
 * - Outcome precedence: the first rejectInvalidSubjectToken/deny decides, and stays the outcome even
 *   if the Action then throws or times out; else a throw, rejection or timeout fails the exchange;
 *   else a wrong api call (which also throws inside the Action) fails it, even if caught; else
 *   exactly one setUserById/setUserByConnection must have been made. Later calls (after reject/deny,
 *   or after the run ended) are ignored.
 * - Failure reasons carry the error's message, never its stack; values of the Action's secrets and
 *   the request's tokens (of 8 characters or more: shorter values are configuration words such as IDENTITY=person, not secrets) are replaced by `[redacted]` in every reason.
 * - Each run gets a fresh vm context: module-level state never carries over between executions
 *   (Auth0 may or may not reuse a warm instance; an Action cannot rely on either).
 * - `api.cache`: see action-runtime/cache-api.ts. Console output: an optional bounded log.
 * - Metadata: setAppMetadata/setUserMetadata values are copied as JSON; `null` marks a deletion the
 *   caller applies when merging into the user.
 * - Stray async failures (an unhandled rejection, a throw in a timer) fail the run that caused them
 *   and never crash the emulator: see action-runtime/async-guard.ts.
 * - Dynamic `import()` reaches the declared packages and Node's built-ins through Node's own ESM
 *   loader (vm's USE_MAIN_CONTEXT_DEFAULT_LOADER); what it returns belongs to the emulator's realm,
 *   and `import('node:process')` is the real process (node:vm is no security boundary). Unlike
 *   `require`, `import()` of an undeclared package is not refused by the emulator: Node walks up
 *   from the install directory (under the temporary directory) as it always does.
 * - Module instances: Node's module cache is per process, so two Actions (or two runs) that load
 *   the same installed package share its module instance; Auth0 isolates Actions.
 * - Post-login Actions (runPostLoginAction) run in the same sandbox, one execution each.
 */
import { join } from 'node:path';
import { runGuarded } from './action-runtime/async-guard.js';
import { createCacheApi, type ActionCacheApi } from './action-runtime/cache-api.js';
import { createCteApi, type RunEnd } from './action-runtime/cte-api.js';
import { createActionRequire, installDirectory, resolveDependencies } from './action-runtime/dependencies.js';
import { createPostLoginApi } from './action-runtime/postlogin-api.js';
import { createSandbox, evaluateModule, callWithTimeout, syntaxError } from './action-runtime/sandbox.js';
import type {
  ActionDependency, ActionOutcome, BuildResult, PostLoginOutcome, RunActionInput, RunPostLoginInput,
} from './action-runtime/types.js';

export type {
  ActionDependency,
  ActionOutcome,
  BuildResult,
  CacheEntry,
  CreationBehavior,
  CustomTokenExchangeEvent,
  PostLoginEvent,
  PostLoginOutcome,
  RunActionInput,
  RunPostLoginInput,
  UpdateBehavior,
  UserChoice,
} from './action-runtime/types.js';
export { CACHE_LIMITS } from './action-runtime/cache-api.js';
export { MAX_DEPENDENCIES, findInstalled } from './action-runtime/dependencies.js';

export const SUPPORTED_RUNTIMES: readonly string[] = ['node22', 'node18', 'node18-actions'];
export const HANDLER_NAME = 'onExecuteCustomTokenExchange';
export const POST_LOGIN_HANDLER = 'onExecutePostLogin';
const MAX_REASON_CHARS = 1000;
/** Shorter values are not worth hiding, and replacing them would garble every reason. */
const MIN_REDACTED_CHARS = 8;

/** The "build": what would make Auth0's build fail. Nothing runs at build time. */
export function buildAction(code: string, dependencies: ActionDependency[], runtime: string): BuildResult {
  if (!SUPPORTED_RUNTIMES.includes(runtime)) {
    return { ok: false, error: `runtime "${runtime}" is not supported; use one of ${SUPPORTED_RUNTIMES.join(', ')}` };
  }
  const resolved = resolveDependencies(dependencies);
  if (!resolved.ok) return { ok: false, error: resolved.error };
  if (typeof code !== 'string') return { ok: false, error: 'the Action has no code' };
  const compileError = syntaxError(code);
  if (compileError) return { ok: false, error: `the Action's code does not compile: ${compileError}` };
  return { ok: true };
}

/** One trigger's api: the object handed to the Action, and the outcome it recorded. */
interface TriggerApi<O> {
  api: object;
  close(): void;
  outcome(end: RunEnd): O;
}

interface Execution<O> {
  input: RunActionInput | RunPostLoginInput;
  handlerName: string;
  createApi(cache: ActionCacheApi, realmTypeError: (message: string) => Error): TriggerApi<O>;
  /** The outcome when the run failed before the handler could be called (e.g. a dependency). */
  failed(reason: string): O;
  /** The outcome with `redact` applied to its human-readable reason, if it has one. */
  redactOutcome(outcome: O, redact: (text: string) => string): O;
}

/** Runs one Action: sandbox, install directory, handler, time limit, outcome. */
async function execute<O>(x: Execution<O>): Promise<O> {
  const { input } = x;
  const secrets = Object.values(input.secrets);
  const transaction = (input.event as { transaction?: { subject_token?: string; actor_token?: string } }).transaction;
  const sensitive = [...secrets, transaction?.subject_token, transaction?.actor_token];
  const redacted = (outcome: O): O => x.redactOutcome(outcome, (text) => redact(text, sensitive));

  try {
    const resolved = resolveDependencies(input.dependencies);
    if (!resolved.ok) return redacted(x.failed(resolved.error));
    let filename: string;
    try {
      filename = join(installDirectory(resolved.packages), 'index.js');
    } catch (error) {
      return redacted(x.failed(`the Action's dependencies could not be installed: ${messageOf(error)}`));
    }
    return redacted(await run(x, filename));
  } finally {
    if (input.forgetCache) input.cache.clear();
  }
}

async function run<O>(x: Execution<O>, filename: string): Promise<O> {
  const { input } = x;
  const deadline = Date.now() + input.timeoutMs;
  const remaining = (): number => Math.max(1, deadline - Date.now());
  const timedOut: RunEnd = { kind: 'failed', reason: `Action timed out after ${input.timeoutMs} ms` };
  const failedWith = (error: unknown): RunEnd => (isVmTimeout(error) ? timedOut : { kind: 'failed', reason: messageOf(error) });

  let reportAsyncError: (error: unknown) => void = () => undefined;
  const asyncFailure = new Promise<RunEnd>((resolve) => {
    reportAsyncError = (error) => resolve(failedWith(error));
  });
  const sink = { onAsyncError: (error: unknown) => reportAsyncError(error) };

  let running = true;
  const sandbox = createSandbox({ logs: input.logs, onAsyncError: sink.onAsyncError });
  const cache = createCacheApi(input.cache, input.now ?? Date.now, () => running);
  const trigger = x.createApi(cache, sandbox.realmTypeError);
  const event = sandbox.toRealm(input.event) as unknown as Record<string, unknown>;
  event.secrets = Object.freeze(sandbox.toRealm({ ...input.secrets }));
  const declared = input.dependencies.map((d) => d.name);
  const require = createActionRequire(filename, declared, { process: sandbox.processShim }, sandbox.realmError);

  let deadlineTimer: NodeJS.Timeout | undefined;
  try {
    const handlerDone = runGuarded(sink, (): Promise<RunEnd> => {
      try {
        const exported = evaluateModule(sandbox, input.code, filename, require, remaining()) as Record<string, unknown> | null;
        const handler = exported?.[x.handlerName];
        if (typeof handler !== 'function') {
          return Promise.resolve({ kind: 'failed', reason: `the Action does not export ${x.handlerName}` });
        }
        const result = callWithTimeout(sandbox.context, () => handler(event, trigger.api) as unknown, remaining());
        return Promise.resolve(result).then(
          (): RunEnd => ({ kind: 'returned' }),
          (error: unknown) => failedWith(error),
        );
      } catch (error) {
        return Promise.resolve(failedWith(error));
      }
    });
    const deadlinePassed = new Promise<RunEnd>((resolve) => {
      deadlineTimer = setTimeout(() => resolve(timedOut), remaining());
    });
    const end = await Promise.race([handlerDone, asyncFailure, deadlinePassed]);
    return trigger.outcome(end);
  } finally {
    running = false;
    clearTimeout(deadlineTimer);
    trigger.close();
    sandbox.dispose();
  }
}

/** Runs a custom-token-exchange Action (`exports.onExecuteCustomTokenExchange`). */
export function runCustomTokenExchangeAction(input: RunActionInput): Promise<ActionOutcome> {
  return execute<ActionOutcome>({
    input,
    handlerName: HANDLER_NAME,
    createApi: createCteApi,
    failed: (reason) => ({ kind: 'failed', reason }),
    redactOutcome: (outcome, r) => (outcome.kind === 'user' ? outcome : { ...outcome, reason: r(outcome.reason) }),
  });
}

/** Runs one post-login Action (`exports.onExecutePostLogin`, trigger post-login v3). */
export function runPostLoginAction(input: RunPostLoginInput): Promise<PostLoginOutcome> {
  return execute<PostLoginOutcome>({
    input,
    handlerName: POST_LOGIN_HANDLER,
    createApi: createPostLoginApi,
    failed: (reason) => ({ kind: 'failed', reason, appMetadata: {}, userMetadata: {} }),
    redactOutcome: (outcome, r) => (outcome.kind === 'continue' ? outcome : { ...outcome, reason: r(outcome.reason) }),
  });
}

function isVmTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** The message of what the Action threw — never its stack, which may quote the Action's data. */
function messageOf(error: unknown): string {
  let message: string;
  try {
    if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
      const { message: m, name } = error as { message: string; name?: unknown };
      message = m || (typeof name === 'string' && name ? name : 'Error');
    } else {
      message = String(error);
    }
  } catch {
    message = 'the Action failed with a value that cannot be shown';
  }
  return message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS)}…` : message;
}

/** Replaces every occurrence of the given values (longest first) by `[redacted]`. */
function redact(text: string, values: readonly (string | undefined)[]): string {
  const present = values.filter((v): v is string => typeof v === 'string' && v.length >= MIN_REDACTED_CHARS);
  present.sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of present) out = out.split(v).join('[redacted]');
  return out;
}
