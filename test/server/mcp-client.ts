/** The MCP SDK's own client against the example server, for the server-side e2e tests. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';

export async function connectWithToken(url: string, token: string, name = 'omni-auth-test'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return client;
}

/** The text of a tool call's first content item. */
export const text = (r: unknown): string => ((r as { content: { type: string; text: string }[] }).content[0]?.text ?? '');

/** The JSON-RPC error a refused call ends with (fails the test when the call was not refused). */
export async function refusal(p: Promise<unknown>): Promise<McpError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, 'the call was not refused').toBeInstanceOf(McpError);
  return e as McpError;
}
