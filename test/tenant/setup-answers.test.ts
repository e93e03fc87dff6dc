/**
 * setup against an msw-mocked tenant whose Token Exchange Profiles API refuses as a tenant without
 * Custom Token Exchange might (Auth0 documents no answer for that): exit 3 saying the tenant may lack
 * the feature and which plans have it — in a dry run too — and nothing written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { homeFiles, type HomeFiles } from '../../src/config/home.js';
import type { Transport } from '../../src/exchange/transport.js';
import { readActionSource } from '../../src/tenant/action-bundle.js';
import { MACHINES_CONNECTION } from '../../src/tenant/connection.js';
import { setup } from '../../src/tenant/setup.js';
import { OmniAuthError } from '../../src/util/errors.js';
import { Secret } from '../../src/util/secret.js';

const fetchTransport: Transport = async ({ method = 'POST', url, headers, body, signal }) => {
  const r = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal });
  return { status: r.status, headers: Object.fromEntries(r.headers), bodyText: await r.text() };
};

const DOMAIN = 'https://tenant.eu.auth0.com';
const M = `${DOMAIN}/api/v2`;
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

let files: HomeFiles;
beforeEach(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'omni-auth-setup-'));
  files = homeFiles(dir);
  return () => rm(dir, { recursive: true, force: true });
});

function tenant(profiles: () => Response): { writes: string[] } {
  const writes: string[] = [];
  server.use(
    http.get(`${M}/resource-servers/:id`, () => HttpResponse.json({ statusCode: 404, message: 'not found' }, { status: 404 })),
    http.get(`${M}/clients/cli`, () => HttpResponse.json({ client_id: 'cli', name: 'omni-auth', app_type: 'native' })),
    http.get(`${M}/actions/actions`, () => HttpResponse.json({ actions: [], total: 0, page: 0, per_page: 50 })),
    http.get(`${M}/token-exchange-profiles`, profiles),
    http.get(`${M}/connections`, () => HttpResponse.json([])),
    http.all(`${M}/*`, ({ request }) => {
      writes.push(`${request.method} ${new URL(request.url).pathname}`);
      return HttpResponse.json({}, { status: 500 });
    }),
  );
  return { writes };
}

async function runSetup(dryRun: boolean): Promise<OmniAuthError> {
  const e = await setup({
    inputs: {
      domain: DOMAIN, issuer: `${DOMAIN}/`, audience: 'https://mcp.example.com', clientId: 'cli', appName: 'omni-auth', connection: MACHINES_CONNECTION,
      subjectTokenType: 'urn:omnispindle:local-auth', profileName: 'omnispindle-local-auth', actionName: 'omni-auth-custom-token-exchange',
      action: await readActionSource(),
    },
    credentials: { kind: 'token', token: new Secret('opaque-mgmt-token') },
    dryRun, files, env: {}, saved: undefined, onPlan: () => {}, progress: () => {},
    management: { transport: fetchTransport, retry: { sleep: async () => {}, random: () => 0 } },
  }).then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(OmniAuthError);
  return e as OmniAuthError;
}

describe('setup on a tenant that may lack Custom Token Exchange', () => {
  it.each([
    ['403 with no scope missing', () => HttpResponse.json({ statusCode: 403, error: 'Forbidden', message: 'Forbidden' }, { status: 403 })],
    ['404 for the collection', () => HttpResponse.json({ statusCode: 404, error: 'Not Found', message: 'Not Found' }, { status: 404 })],
  ])('profiles API answers %s → exit 3 naming the plans, dry run or not, nothing written', async (_name, profiles) => {
    const { writes } = tenant(profiles);
    for (const dryRun of [true, false]) {
      const e = await runSetup(dryRun);
      expect([e.code, e.exitCode]).toEqual(['cte_unavailable', 3]);
      expect(e.hint).toMatch(/may lack Custom Token Exchange: Custom Token Exchange is an Early Access feature, available on Auth0's B2C Professional, B2B Professional and Enterprise plans/);
      expect(e.hint).toMatch(/asks Auth0/);
    }
    expect(writes).toEqual([]);
  });
});
