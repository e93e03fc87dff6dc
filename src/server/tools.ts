/**
 * Per-tool authorization for MCP servers (the xmcp Auth0 plugin's rule): calling tool `<name>` needs
 * the permission `tool:<name>` in the token's `permissions` claim — Auth0 RBAC with "Enable RBAC" and
 * "Add Permissions in the Access Token" on the API. Only `permissions` counts, never `scope`: without
 * RBAC an application may request any scope the API defines and get it, so a scope proves nothing
 * about the person. Anything unknown or failing is denied: a tool without a rule, a request without
 * a verified token, a token without the claim.
 *
 * A refusal is a JSON-RPC error (code -32003, `data.permission` naming what is missing), raised before
 * the SDK's tools/call handler runs — not a tool result with `isError`, which a model might read as
 * the tool's own output.
 */
import type { AuthInfo } from './verifier.js';
import { ServerConfigError } from './errors.js';

/** The JSON-RPC error code of a refused tool call (server-defined range, -32000..-32099). */
export const TOOL_FORBIDDEN = -32003;

export type ToolRefusal = 'missing_permission' | 'unauthenticated' | 'no_rule';

/**
 * A refused tool call. `code` is the JSON-RPC error code (as the SDK's `McpError`), `reason` ours;
 * the SDK sends `message` and `data` to the client as they are.
 */
export class ToolForbiddenError extends Error {
  override readonly name = 'ToolForbiddenError';
  readonly code = TOOL_FORBIDDEN;
  readonly reason: ToolRefusal;
  readonly data: { reason: ToolRefusal; tool: string; permission?: string[] };
  constructor(reason: ToolRefusal, tool: string, message: string, permission?: string[]) {
    super(message);
    this.reason = reason;
    this.data = { reason, tool, ...(permission ? { permission } : {}) };
  }
}

export interface ToolPermissionOptions {
  /** Default `tool:`. */
  prefix?: string;
  /** The permissions the tool needs instead of `<prefix><toolName>` (all of them). */
  permissions?: readonly string[];
}

const shown = (name: string): string => (name.length > 128 ? `${name.slice(0, 128)}…` : name);

/**
 * Throws `ToolForbiddenError` unless `authInfo` (from `createTokenVerifier`, via `extra.authInfo` in a
 * tool handler) carries every permission the tool needs in `extra.permissions`.
 */
export function requireToolPermission(authInfo: AuthInfo | undefined, toolName: string, options: ToolPermissionOptions = {}): void {
  const needed = options.permissions ? [...options.permissions] : [`${options.prefix ?? 'tool:'}${toolName}`];
  if (needed.length === 0) throw new ServerConfigError('empty_permissions', `tool ${shown(toolName)}: an empty permission list would let anyone call it`, 'mark the tool public instead');
  if (!authInfo) {
    throw new ToolForbiddenError('unauthenticated', toolName, `tool ${shown(toolName)} requires the permission ${needed.join(' ')}, and the request carries no verified token`, needed);
  }
  const held = authInfo.extra?.permissions;
  const permissions = Array.isArray(held) ? held.filter((p): p is string => typeof p === 'string') : [];
  const missing = needed.filter((p) => !permissions.includes(p));
  if (missing.length > 0) {
    throw new ToolForbiddenError('missing_permission', toolName, `tool ${shown(toolName)} requires the permission ${missing.join(' ')}, which the token does not carry`, missing);
  }
}

export interface ProtectToolsOptions {
  /** Default `tool:`: tool `x` needs the permission `tool:x`. */
  prefix?: string;
  /** Tools anyone with a valid token may call (the bearer middleware still runs). */
  public?: readonly string[];
  /** Tools that need other permissions than `<prefix><name>` (all of the listed ones). */
  permissions?: Readonly<Record<string, string | readonly string[]>>;
}

type Handler = (request: unknown, extra: unknown) => unknown;
interface ProtocolLike {
  setRequestHandler(schema: unknown, handler: Handler): unknown;
  assertCanSetRequestHandler(method: string): void;
}
/** The parts of the SDK's `McpServer` the wrapper touches. */
export interface McpServerLike {
  server: unknown;
  tool(name: string, ...rest: unknown[]): unknown;
  registerTool(name: string, config: unknown, callback: unknown): unknown;
}

type Rule = { public: true } | { public: false; permissions: string[] };

const methodOf = (schema: unknown): unknown => (schema as { shape?: { method?: { value?: unknown } } } | null)?.shape?.method?.value;
const authOf = (extra: unknown): AuthInfo | undefined => (extra as { authInfo?: AuthInfo } | null)?.authInfo;
const toolNameOf = (request: unknown): unknown => (request as { params?: { name?: unknown } } | null)?.params?.name;

/**
 * Applies `requireToolPermission` to every tool of an SDK `McpServer`. Call it right after creating
 * the server, before registering tools: tools registered through `tool()` / `registerTool()` get a rule
 * (public, or their permissions); a call to any other tool (registered earlier, by another path, or
 * renamed) is denied. The check runs in front of the SDK's tools/call handler and again inside each
 * wrapped tool handler.
 */
export function protectTools<S extends McpServerLike>(mcpServer: S, options: ProtectToolsOptions = {}): S {
  const prefix = options.prefix ?? 'tool:';
  const publicTools = new Set(options.public ?? []);
  const explicit = new Map<string, string[]>();
  for (const [name, p] of Object.entries(options.permissions ?? {})) {
    const list = typeof p === 'string' ? [p] : [...p];
    if (list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) {
      throw new ServerConfigError('empty_permissions', `tool ${name}: permissions must be non-empty strings`, 'mark the tool public instead of giving it no permission');
    }
    if (publicTools.has(name)) throw new ServerConfigError('conflicting_rule', `tool ${name} is both public and given permissions`);
    explicit.set(name, list);
  }
  const rules = new Map<string, Rule>();

  const gate = (name: unknown, authInfo: AuthInfo | undefined): void => {
    const rule = typeof name === 'string' ? rules.get(name) : undefined;
    if (!rule) {
      const label = typeof name === 'string' ? shown(name) : '(unnamed)';
      throw new ToolForbiddenError('no_rule', String(name), `tool ${label} has no permission rule, so it is denied`);
    }
    if (!rule.public) requireToolPermission(authInfo, name as string, { permissions: rule.permissions });
  };
  const gated = (handler: Handler): Handler => async (request, extra) => {
    gate(toolNameOf(request), authOf(extra));
    return handler(request, extra);
  };

  // 1. In front of the SDK's tools/call handler (a refusal becomes a JSON-RPC error).
  const protocol = mcpServer.server as ProtocolLike;
  let installed = false;
  let free: boolean;
  try {
    protocol.assertCanSetRequestHandler('tools/call');
    free = true;
  } catch {
    free = false;
  }
  if (free) {
    const original = protocol.setRequestHandler.bind(protocol);
    protocol.setRequestHandler = (schema, handler) => {
      if (methodOf(schema) !== 'tools/call') return original(schema, handler);
      installed = true;
      return original(schema, gated(handler));
    };
  } else {
    // The handler exists already (McpServer created with capabilities.tools): wrap it where the SDK keeps it.
    const handlers = (protocol as unknown as { _requestHandlers?: unknown })._requestHandlers;
    const existing = handlers instanceof Map ? (handlers.get('tools/call') as Handler | undefined) : undefined;
    if (!existing) throw new ServerConfigError('unsupported_sdk', 'protectTools cannot find the tools/call handler of this McpServer', 'call protectTools right after creating the McpServer');
    (handlers as Map<string, Handler>).set('tools/call', gated(existing));
    installed = true;
  }

  // 2. Each tool gets its rule when registered, and its handler the same check.
  const ruleFor = (name: string): Rule => (publicTools.has(name) ? { public: true } : { public: false, permissions: explicit.get(name) ?? [`${prefix}${name}`] });
  const wrapCallback = (name: string, callback: unknown): unknown => {
    if (typeof callback !== 'function') return callback;
    return function (this: unknown, ...args: unknown[]) {
      gate(name, authOf(args[args.length - 1]));
      return (callback as (...a: unknown[]) => unknown).apply(this, args);
    };
  };
  const register = (name: string, call: () => unknown): unknown => {
    if (typeof name !== 'string') return call();
    const result = call();
    rules.set(name, ruleFor(name));
    if (!installed) throw new ServerConfigError('unsupported_sdk', 'protectTools could not put its check in front of tools/call with this SDK version', 'pin @modelcontextprotocol/sdk to a version documented in docs/server.md');
    return result;
  };
  const tool = mcpServer.tool.bind(mcpServer);
  const registerTool = mcpServer.registerTool.bind(mcpServer);
  mcpServer.tool = (name: string, ...rest: unknown[]) => {
    const i = rest.length - 1;
    const wrapped = i >= 0 ? [...rest.slice(0, i), wrapCallback(name, rest[i])] : rest;
    return register(name, () => tool(name, ...wrapped));
  };
  mcpServer.registerTool = (name: string, config: unknown, callback: unknown) =>
    register(name, () => registerTool(name, config, wrapCallback(name, callback)));
  return mcpServer;
}
