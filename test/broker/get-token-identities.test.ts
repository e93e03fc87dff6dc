import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getToken, type TokenRequest } from '../../src/broker/get-token.js';
import { homeFiles } from '../../src/config/home.js';

describe('getToken with two identities asked for at once', () => {
  it('--ci with --grant client-credentials is a usage error (exit 2) before any file or request', async () => {
    const home = await mkdtemp(join(tmpdir(), 'omni-both-'));
    const req = {
      settings: { domain: 'http://127.0.0.1:9', issuer: 'http://127.0.0.1:9/', clientId: 'c', audience: 'https://api.example', scope: 'openid', subjectTokenType: 'urn:omnispindle:local-auth' },
      files: homeFiles(home),
      env: { GITHUB_ACTIONS: 'true' },
      minTtl: 300,
      warn: () => {},
      ci: { mode: 'github' },
      grant: 'client-credentials',
    } as unknown as TokenRequest;
    await expect(getToken(req)).rejects.toMatchObject({ code: 'ci_with_client_credentials', exitCode: 2 });
    expect(await readdir(home)).toEqual([]);
  });
});
