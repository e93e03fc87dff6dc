/**
 * The MCP-client configuration API used by the CLI (`login`, `logout`, `mcp wire|unwire|add|list`).
 * Everything that writes goes through apply.ts; everything else here is pure or read-only.
 */
export { wireClients, unwireClients, addServer, tokenHolders, DEFAULT_SERVER, DEFAULT_ENV_VAR } from './wire-clients.js';
export type { WireClientsOptions, UnwireClientsOptions, AddServerOptions, TargetOptions, WriteOptions, McpReport, FileReport, ServerReport } from './wire-clients.js';
export { listClients, renderList } from './list.js';
export type { ListOptions, ClientList, ListedClient, ListedFile, ListedServer } from './list.js';
export { newRun, backupPath, type ApplyRun } from './apply.js';
export { CLIENTS, findClient, resolveFiles, type ClientSpec, type ResolvedFile, type Scope } from './registry.js';
export { looksLikeJwt, headersHelperCommand, wiredProfile, type WireMode, type Wiring } from './wire.js';
export { installLauncher, launcherPath } from './launcher.js';
export { issuedBy } from './our-token.js';
export { maskDiffSecrets, unifiedDiff } from './diff.js';
export { displayUrl, policyRefusal, recipients, urlVerdict, isLoopbackHost, PROJECT_ENV, POLICY_CODES, type PolicyCode, type Recipient } from './policy.js';
export { discoverServer, INITIALIZE, type Discovery } from './discover.js';
