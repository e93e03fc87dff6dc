#!/usr/bin/env node
/**
 * An MCP server (Streamable HTTP, stateless) that accepts Auth0 access tokens, with a permission per
 * tool — the other end of `omni-auth`. Run it against a real tenant or the emulator:
 *
 *   npm run build                                   # builds dist/server.js (omni-auth/server)
 *   node dist/omni-auth.cjs emulator --provisioned  # in another terminal: prints domain and audience
 *   OMNI_AUTH_DOMAIN=http://127.0.0.1:PORT OMNI_AUTH_AUDIENCE=https://omnispindle.example/api \
 *     node examples/mcp-server/server.mjs
 *
 * Environment:
 *   OMNI_AUTH_DOMAIN    the Auth0 domain (tenant.eu.auth0.com), or the emulator's http://127.0.0.1:PORT
 *   OMNI_AUTH_AUDIENCE  the API identifier tokens must be for
 *   PORT                to listen on 127.0.0.1 (default 0: a free port)
 *   MCP_RESOURCE        this server's public URL (default http://127.0.0.1:PORT/mcp)
 *   REQUIRED_SCOPES     space-separated scopes every request needs (default none)
 *
 * Prints one JSON line on stdout when listening: {"url": ".../mcp", "metadata": ".../.well-known/..."}.
 *
 * Tools: `whoami` is public (any valid token); `echo` needs the permission `tool:echo`, `add`
 * needs `tool:add` — Auth0 RBAC with "Add Permissions in the Access Token" on the API.
 */
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { createTokenVerifier, protectTools, protectedResourceMetadata } from 'omni-auth/server';

const domain = process.env.OMNI_AUTH_DOMAIN;
const audience = process.env.OMNI_AUTH_AUDIENCE;
if (!domain || !audience) {
  process.stderr.write('set OMNI_AUTH_DOMAIN and OMNI_AUTH_AUDIENCE (see the top of this file)\n');
  process.exit(2);
}
const requiredScopes = (process.env.REQUIRED_SCOPES ?? '').split(' ').filter(Boolean);
const verifier = createTokenVerifier({ domain, audience, requiredScopes, clockTolerance: 5 });

/** One McpServer per request (stateless): every tool registered after protectTools, so each has a rule. */
function mcpServer() {
  const server = protectTools(new McpServer({ name: 'omni-auth-example', version: '1.0.0' }), { public: ['whoami'] });
  server.registerTool('whoami', { description: 'who the token says you are (public)' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify({ sub: extra.authInfo?.extra?.sub, permissions: extra.authInfo?.extra?.permissions ?? [] }) }],
  }));
  server.registerTool('echo', { description: 'repeats the text (needs tool:echo)', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.tool('add', 'adds two numbers (needs tool:add)', { a: z.number(), b: z.number() }, async ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
  }));
  return server;
}

const app = createMcpExpressApp({ host: '127.0.0.1' });
const listener = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = listener.address();
  const resource = process.env.MCP_RESOURCE ?? `http://127.0.0.1:${port}/mcp`;
  const metadata = protectedResourceMetadata({ resource, domain, scopes: ['tool:echo', 'tool:add'], resourceName: 'omni-auth example' });
  const auth = requireBearerAuth({ verifier, resourceMetadataUrl: metadata.url });

  app.get(metadata.path, (_req, res) => res.json(metadata.document));
  app.post('/mcp', auth, async (req, res) => {
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch {
      if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
    }
  });
  // Stateless: no SSE stream to resume, no session to end.
  const notAllowed = (_req, res) => res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  app.get('/mcp', auth, notAllowed);
  app.delete('/mcp', auth, notAllowed);

  process.stdout.write(`${JSON.stringify({ url: resource, metadata: metadata.url })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => listener.close(() => process.exit(0)));
