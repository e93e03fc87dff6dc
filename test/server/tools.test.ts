/**
 * protectTools / requireToolPermission in process: the SDK's McpServer and Client over its in-memory
 * transport, the client's messages carrying an AuthInfo as requireBearerAuth would set it.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ServerConfigError, TOOL_FORBIDDEN, ToolForbiddenError, protectTools, requireToolPermission, type AuthInfo } from '../../src/server/index.js';

const auth = (permissions: unknown, scopes: string[] = []): AuthInfo => ({
  token: 't', clientId: 'c', scopes, expiresAt: 4102444800, extra: { sub: 'u', permissions, claims: {} },
});

/** A client connected to `server`, every message carrying `authInfo()` (undefined: no token). */
async function clientOf(server: McpServer, authInfo: () => AuthInfo | undefined): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const send = clientSide.send.bind(clientSide);
  clientSide.send = (message, options) => send(message, { ...options, ...(authInfo() ? { authInfo: authInfo()! } : {}) });
  await server.connect(serverSide);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(clientSide);
  return client;
}

async function refusal(p: Promise<unknown>): Promise<McpError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, 'the call was not refused').toBeInstanceOf(McpError);
  return e as McpError;
}

const ok = (text: string) => async () => ({ content: [{ type: 'text' as const, text }] });

describe('requireToolPermission', () => {
  it('passes with tool:<name> in permissions; names the missing permission otherwise', () => {
    requireToolPermission(auth(['tool:echo']), 'echo');
    requireToolPermission(auth(['x:echo']), 'echo', { prefix: 'x:' });
    requireToolPermission(auth(['a', 'b']), 'echo', { permissions: ['a', 'b'] });
    const e = (() => { try { requireToolPermission(auth(['tool:add']), 'echo'); } catch (x) { return x; } })() as ToolForbiddenError;
    expect(e).toBeInstanceOf(ToolForbiddenError);
    expect(e.code).toBe(TOOL_FORBIDDEN);
    expect(e.reason).toBe('missing_permission');
    expect(e.message).toContain('tool:echo');
    expect(e.data).toEqual({ reason: 'missing_permission', tool: 'echo', permission: ['tool:echo'] });
  });

  it('denies: no AuthInfo, no permissions claim, a malformed claim, the permission only in scopes', () => {
    expect(() => requireToolPermission(undefined, 'echo')).toThrow(/no verified token/);
    expect(() => requireToolPermission({ token: 't', clientId: 'c', scopes: ['tool:echo'] }, 'echo')).toThrow(/tool:echo/);
    expect(() => requireToolPermission(auth('tool:echo'), 'echo')).toThrow(/tool:echo/);
    expect(() => requireToolPermission(auth([]), 'echo', { permissions: [] })).toThrow(ServerConfigError);
  });
});

describe('protectTools', () => {
  function server(options: Parameters<typeof protectTools>[1] = {}, mcpOptions?: ConstructorParameters<typeof McpServer>[1]) {
    const s = protectTools(new McpServer({ name: 's', version: '1' }, mcpOptions), options);
    s.registerTool('whoami', {}, ok('me'));
    s.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text' as const, text }] }));
    s.tool('add', { a: z.number(), b: z.number() }, async ({ a, b }) => ({ content: [{ type: 'text' as const, text: String(a + b) }] }));
    s.registerTool('admin', {}, ok('admin'));
    return s;
  }

  it('every tool needs tool:<name>; public tools anyone may call; explicit permissions replace the default', async () => {
    let current: AuthInfo | undefined = auth(['tool:echo']);
    const client = await clientOf(server({ public: ['whoami'], permissions: { admin: ['role:admin', 'tool:admin'] } }), () => current);
    expect(await client.callTool({ name: 'whoami', arguments: {} })).toMatchObject({ content: [{ text: 'me' }] });
    expect(await client.callTool({ name: 'echo', arguments: { text: 'x' } })).toMatchObject({ content: [{ text: 'x' }] });
    const add = await refusal(client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }));
    expect(add.code).toBe(TOOL_FORBIDDEN);
    expect(add.message).toContain('tool:add');
    current = auth(['tool:admin']);
    expect((await refusal(client.callTool({ name: 'admin', arguments: {} }))).message).toContain('role:admin');
    current = auth(['tool:admin', 'role:admin']);
    expect(await client.callTool({ name: 'admin', arguments: {} })).toMatchObject({ content: [{ text: 'admin' }] });
    current = undefined;
    expect(await client.callTool({ name: 'whoami', arguments: {} })).toMatchObject({ content: [{ text: 'me' }] });
    expect((await refusal(client.callTool({ name: 'echo', arguments: { text: 'x' } }))).data).toMatchObject({ reason: 'unauthenticated' });
  });

  it('a tool without a rule is denied: registered before protectTools, renamed, or unknown', async () => {
    const raw = new McpServer({ name: 's', version: '1' }, { capabilities: { tools: {} } }); // tools/call handler installed at construction
    raw.registerTool('early', {}, ok('early'));
    const s = protectTools(raw, { public: ['late'] });
    s.registerTool('late', {}, ok('late'));
    const renamed = s.registerTool('old', {}, ok('old'));
    renamed.update({ name: 'new' });
    const client = await clientOf(s, () => auth(['tool:early', 'tool:old', 'tool:new']));
    expect(await client.callTool({ name: 'late', arguments: {} })).toMatchObject({ content: [{ text: 'late' }] });
    for (const name of ['early', 'new', 'nope']) {
      const e = await refusal(client.callTool({ name, arguments: {} }));
      expect(e.data).toMatchObject({ reason: 'no_rule', tool: name });
    }
  });

  it('each tool handler checks again (a call that reaches it some other way is refused as a tool error)', async () => {
    let captured: ((...a: unknown[]) => unknown) | undefined;
    const s2 = protectTools(new McpServer({ name: 's', version: '1' }));
    const registerTool = s2.registerTool.bind(s2);
    // Look at the callback the SDK receives: it is the wrapped one.
    (s2 as unknown as { _createRegisteredTool: (...a: unknown[]) => unknown })._createRegisteredTool = ((orig) => function (this: unknown, ...a: unknown[]) {
      captured = a[a.length - 1] as (...x: unknown[]) => unknown;
      return orig.apply(this, a);
    })((s2 as unknown as { _createRegisteredTool: (...a: unknown[]) => unknown })._createRegisteredTool);
    registerTool('echo', {}, ok('echo'));
    expect(captured).toBeTypeOf('function');
    await expect(Promise.resolve().then(() => captured!({ authInfo: auth([]) }))).rejects.toThrow(/tool:echo/);
    await expect(Promise.resolve().then(() => captured!({ authInfo: auth(['tool:echo']) }))).resolves.toMatchObject({ content: [{ text: 'echo' }] });
  });

  it('refuses contradictory or empty rules when set up', () => {
    expect(() => protectTools(new McpServer({ name: 's', version: '1' }), { permissions: { a: [] } })).toThrow(ServerConfigError);
    expect(() => protectTools(new McpServer({ name: 's', version: '1' }), { public: ['a'], permissions: { a: 'p' } })).toThrow(/both public/);
  });
});
