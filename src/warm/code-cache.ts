/**
 * The warm entry tells its loader (src/warm/loader.ts) that it has answered — a token printed, a child
 * started — so the V8 code cache the loader then writes holds the functions of a warm run, not those
 * of a hand-off. Without the loader (the full CLI, the sources under test) there is nothing to tell.
 */
const HOOK = Symbol.for('omni-auth.code-cache');
let usual = true;

/**
 * This run took a path later runs do not (the key parser, once per key: src/warm/key-check.ts): its
 * cache would hold that code too, deserialised on every run for nothing. The next run writes it.
 */
export function warmUnusual(): void {
  usual = false;
}

/** `soon`: save once this turn of the event loop is over too, not only at a normal exit (a warm exec's child may run for hours, or end it by a signal). */
export function warmAnswered(soon = false): void {
  const hook = (globalThis as Record<symbol, unknown>)[HOOK];
  if (usual && typeof hook === 'function') {
    delete (globalThis as Record<symbol, unknown>)[HOOK];
    hook(soon);
  }
}
