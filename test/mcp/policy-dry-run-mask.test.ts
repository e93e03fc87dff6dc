/**
 * `--dry-run` shows a diff of the user's own config (issue 9 §8): secrets in `args` (`"--api-key",
 * "sk_live_…"`, `--token=…`, `Bearer …`, `-e NAME=…`, URL passwords), inline objects and context lines
 * are masked, not only values of secret-named keys — with configs as people write them, wired in a
 * dry run through the public API. Each secret is first shown to be in the unmasked diff.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maskDiffSecrets, unifiedDiff, wireClients } from '../../src/mcp/index.js';
import { maskSecrets } from '../../src/cli/mcp-report.js';
import { LAUNCHER, NODE, tempHome, type TempHome } from './helpers.js';

let home: TempHome;
beforeEach(async () => {
  home = await tempHome();
});
afterEach(() => home.cleanup());

/** The masked and unmasked dry-run diff of wiring `server` in `client`'s user file holding `text`. */
async function dryRun(client: string, rel: string, text: string, server = 'omnispindle'): Promise<{ raw: string; masked: string }> {
  const path = join(home.dir, rel);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  const r = await wireClients({ env: home.env, platform: 'linux', cwd: home.cwd, clients: [client], scope: 'user', server, launcherPath: LAUNCHER, nodePath: NODE, dryRun: true });
  const file = r.files.find((f) => f.path === path);
  expect(file?.status).toBe('would-change');
  const raw = unifiedDiff(file!.before, file!.after, { from: path, to: path }, 20);
  return { raw, masked: maskDiffSecrets(raw) };
}

function expectMasked(d: { raw: string; masked: string }, secrets: string[], visible: string[] = []): void {
  for (const s of secrets) {
    expect(d.raw, `${s} should be in the diff`).toContain(s);
    expect(d.masked, `${s} should be masked`).not.toContain(s);
  }
  for (const v of visible) expect(d.masked, `${v} should stay visible`).toContain(v);
  // The wiring itself stays readable.
  expect(d.masked).toContain(LAUNCHER);
  expect(d.masked.split('\n')).toHaveLength(d.raw.split('\n').length);
  // The same masking is what the CLI prints.
  expect(maskSecrets(d.raw)).toBe(d.masked);
}

describe('the dry-run diff masks secrets in args and context lines', () => {
  it('Claude Desktop: Stripe --api-key=…, Supabase --access-token on the next line, docker -e NAME=…, mcp-remote --header Bearer, a postgres URL password', async () => {
    const text = `{
  "mcpServers": {
    "stripe": {
      "command": "npx",
      "args": ["-y", "@stripe/mcp", "--tools=all", "--api-key=sk_live_51HxQfKLm0nT3stK3yAbCdEf"]
    },
    "supabase": {
      "command": "npx",
      "args": [
        "-y",
        "@supabase/mcp-server-supabase@latest",
        "--access-token",
        "sbp_0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4"
      ]
    },
    "github": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_R3alLooking0ne1234567890abcdefXYZ", "ghcr.io/github/github-mcp-server"]
    },
    "omnispindle": { "command": "omnispindle-server", "args": ["--stdio"] },
    "linear": {
      "command": "npx",
      "args": ["mcp-remote", "https://mcp.linear.app/sse", "--header", "Authorization: Bearer lin_api_Secr3tValue0123456789"]
    },
    "postgres": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://admin:hunter2pass@db.internal:5432/app"]
    },
    "brave": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-brave-search"], "env": { "BRAVE_API_KEY": "BSAplainSecretValue42" } }
  }
}
`;
    const d = await dryRun('claude-desktop', '.config/Claude/claude_desktop_config.json', text);
    expectMasked(d, [
      'sk_live_51HxQfKLm0nT3stK3yAbCdEf',
      'sbp_0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4',
      'ghp_R3alLooking0ne1234567890abcdefXYZ',
      'lin_api_Secr3tValue0123456789',
      'hunter2pass',
      'BSAplainSecretValue42',
    ], ['"--access-token"', '--tools=all', 'GITHUB_PERSONAL_ACCESS_TOKEN=[redacted]', 'postgresql://admin:[redacted]@db.internal:5432/app', 'Authorization: Bearer [redacted]', '"BRAVE_API_KEY": "[redacted]"']);
  });

  it('VS Code (JSONC): references to inputs and variables stay visible, literal tokens do not', async () => {
    const text = `{
\t"inputs": [{ "type": "promptString", "id": "pat", "password": true }],
\t"servers": {
\t\t"github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": { "Authorization": "Bearer \${input:pat}" } },
\t\t"sentry": { "command": "npx", "args": ["@sentry/mcp-server", "--access-token", "\${env:SENTRY_TOKEN}"] },
\t\t"omnispindle": { "type": "stdio", "command": "omnispindle-server" },
\t\t"notion": { "command": "npx", "args": ["-y", "@notionhq/notion-mcp-server"], "env": { "OPENAPI_MCP_HEADERS": "{\\"Authorization\\": \\"Bearer ntn_4815162342abcdefSECRET\\"}" } },
\t\t"search": { "type": "http", "url": "https://search.example.com/mcp?api_key=qs_9f8e7d6c5b4a&region=eu" },
\t},
}
`;
    const d = await dryRun('vscode', '.config/Code/User/mcp.json', text);
    expectMasked(d, ['ntn_4815162342abcdefSECRET', 'qs_9f8e7d6c5b4a'], ['Bearer ${input:pat}', '"${env:SENTRY_TOKEN}"', 'region=eu']);
  });

  it('Codex (TOML): a flag and its value on separate lines of a multi-line array, and an inline env table', async () => {
    const text = `model = "o4-mini"

[mcp_servers.tavily]
command = "npx"
args = [
  "-y",
  "tavily-mcp",
  "--api-key",
  "tvly-dev-ABCDEFGH12345678",
]
env = { "TAVILY_EXTRA" = "1", OPENAI_API_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUv" }

[mcp_servers.omnispindle]
command = "omnispindle-server"
args = ["--stdio"]
`;
    const d = await dryRun('codex', '.codex/config.toml', text);
    expectMasked(d, ['tvly-dev-ABCDEFGH12345678', 'sk-proj-AbCdEfGhIjKlMnOpQrStUv'], ['"--api-key"', '"TAVILY_EXTRA" = "1"']);
  });

  it('Goose (YAML): block-sequence args with a flag and its value, unquoted secret values', async () => {
    const text = `extensions:
  firecrawl:
    enabled: true
    type: stdio
    name: firecrawl
    cmd: npx
    args:
      - -y
      - firecrawl-mcp
      - --api-key
      - fc-0123456789abcdef
    envs:
      FIRECRAWL_API_TOKEN: fctok_plain_value_77
    timeout: 300
  omnispindle:
    enabled: true
    type: stdio
    name: omnispindle
    cmd: omnispindle-server
    args: []
    envs: {}
    timeout: 300
`;
    const d = await dryRun('goose', '.config/goose/config.yaml', text);
    expectMasked(d, ['fc-0123456789abcdef', 'fctok_plain_value_77'], ['- --api-key', 'timeout: 300', 'enabled: true']);
  });
});

describe('maskDiffSecrets, line by line', () => {
  const mask = (lines: string[]) => maskDiffSecrets(['--- a', '+++ a', '@@ -1,9 +1,9 @@', ...lines].join('\n')).split('\n').slice(3);

  it('a flag on a removed line and its value on the added line are each judged on their own side', () => {
    expect(mask(['-  "--token",', '+  "--verbose",', '   "value-one"'])).toEqual(['-  "--token",', '+  "--verbose",', '   "[redacted]"']);
  });

  it('a flag followed by another flag does not mask it; a closing bracket ends a pending flag', () => {
    expect(mask([' ["--api-key", "--verbose", "x"]'])).toEqual([' ["--api-key", "--verbose", "x"]']);
    expect(mask([' "--password"]', ' "next"'])).toEqual([' "--password"]', ' "next"']);
  });

  it('keeps our own wiring, booleans and numbers of secret-named keys, and keys themselves', () => {
    const wired = `+  "args": ["${LAUNCHER}", "exec", "--env-var", "AUTH0_TOKEN", "--", "npx", "-y", "server"],`;
    expect(mask([wired])).toEqual([wired]);
    expect(mask(['   "auth": true,', '   tokenTimeout = 30'])).toEqual(['   "auth": true,', '   tokenTimeout = 30']);
  });

  it('known token shapes anywhere, comments included', () => {
    expect(mask(['   // old key: sk_live_abcdefghijkl0123', '+# xoxb-1234567890-abcdefghij'])).toEqual(['   // old key: [redacted]', '+# [redacted]']);
  });
});
