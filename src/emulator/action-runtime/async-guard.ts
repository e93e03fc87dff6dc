/**
 * Keeps an Action's stray asynchronous failures inside the Action.
 *
 * On Auth0 an Action's unhandled promise rejection kills the Action's own process; here the Action
 * shares the emulator's process, whose default is to crash on one. Everything an Action starts
 * runs inside an AsyncLocalStorage scope, and Node reports an unhandled rejection in the async
 * context of the promise that was rejected — including promises of modules the Action called
 * (jose, fetch) — so the rejection is routed to the run that caused it and fails that run.
 *
 * The listener stays installed once an Action has run: an Action can leave work behind that
 * rejects long after its run ended. A rejection from outside any Action is left to Node's default:
 * rethrown (a crash) when no one else listens. Side effect: a test runner that reports unhandled
 * rejections only when it is the sole listener (Vitest) no longer reports unrelated ones in a
 * process where an Action has run.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface AsyncFailureSink {
  /** Called with what an Action's detached async work threw or rejected with. */
  onAsyncError(error: unknown): void;
}

const scope = new AsyncLocalStorage<AsyncFailureSink>();
let installed = false;

function onUnhandledRejection(reason: unknown): void {
  const sink = scope.getStore();
  if (sink) {
    sink.onAsyncError(reason);
    return;
  }
  if (process.listenerCount('unhandledRejection') === 1) throw reason;
}

/** Runs `fn` (and everything asynchronous it starts) with its failures routed to `sink`. */
export function runGuarded<T>(sink: AsyncFailureSink, fn: () => T): T {
  if (!installed) {
    process.on('unhandledRejection', onUnhandledRejection);
    installed = true;
  }
  return scope.run(sink, fn);
}
