/**
 * The warm entry tells its loader (src/warm/loader.ts) that it has answered — a token printed, a child
 * started — so the V8 code cache the loader writes at exit holds the functions of a warm run, not those
 * of a hand-off. Without the loader (the full CLI, the sources under test) there is nothing to tell.
 */
const HOOK = Symbol.for('omni-auth.code-cache');

export function warmAnswered(): void {
  const hook = (globalThis as Record<symbol, unknown>)[HOOK];
  if (typeof hook === 'function') {
    delete (globalThis as Record<symbol, unknown>)[HOOK];
    hook();
  }
}
