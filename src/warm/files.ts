/**
 * The two files of the built CLI, side by side in dist/ and in `<home>/bin/` (the launcher):
 *  - omni-auth.cjs (src/warm/main.ts): the tiny entry users and MCP clients run; it answers a warm
 *    `token` from the cache and hands every other command (`exec` too) to
 *  - omni-auth-full.cjs (src/cli/main.ts): the whole CLI.
 * scripts/build.mjs writes both; src/mcp/launcher.ts copies both.
 */
export const FULL_CLI_FILE = 'omni-auth-full.cjs';

/**
 * Set by the entry before it loads the full CLI: the entry's own path, which the full CLI takes as its
 * location (`import.meta.url`), so `<home>/bin/omni-auth.cjs` still finds its home (config/home.ts)
 * and the launcher copies the pair (src/mcp/launcher.ts).
 */
export const ENTRY_SYMBOL = 'omni-auth.entry';

/**
 * Set by the warm entry's `exec` before it loads the full CLI to renew the token file's token
 * (src/warm/exec.ts): the full CLI then runs no command, it only exports `renewExecToken`
 * (src/exec/renew.ts).
 */
export const RENEW_ONLY_SYMBOL = 'omni-auth.renew-only';
