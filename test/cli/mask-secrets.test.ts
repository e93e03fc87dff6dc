import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/cli/mcp-report.js';

describe('maskSecrets (dry-run diffs on stderr)', () => {
  it('masks values of secret-named keys in JSON, TOML and YAML lines, and any JWT', () => {
    const diff = [
      '--- a/mcp.json',
      '+++ b/mcp.json',
      '@@ -1,6 +1,6 @@',
      '       "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_USERSECRET123",',
      '-      "API_KEY": "sk-live-abc"',
      '+      "command": "/usr/bin/node",',
      ' API_KEY = "sk-live-abc"',
      '+    Authorization: Bearer abc.def',
      '       "args": ["-y", "server"],',
      '       "env": {',
      '+      "X": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"',
    ].join('\n');
    const out = maskSecrets(diff);
    for (const secret of ['ghp_USERSECRET123', 'sk-live-abc', 'Bearer abc.def', 'c2lnbmF0dXJl']) expect(out).not.toContain(secret);
    expect(out).toContain('"GITHUB_PERSONAL_ACCESS_TOKEN": "[redacted]",');
    expect(out).toContain('+      "command": "/usr/bin/node",');
    expect(out).toContain('"args": ["-y", "server"],');
    expect(out).toContain('"env": {');
    expect(out.split('\n')).toHaveLength(diff.split('\n').length);
  });
});
