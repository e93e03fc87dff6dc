/**
 * The `login` use case: resolve settings, exchange (always — login proves the whole chain works),
 * cache, save the settings for later commands, then the post-login steps (the CLI's: refresh the
 * launcher MCP entries run, and wire the MCP clients unless --no-write).
 */
import { saveSettings } from '../config/settings-write.js';
import { readKeyFile, KEY_ENV } from '../identity/key-store.js';
import { getToken, type TokenRequest, type TokenResult } from './get-token.js';

export interface LoginResult extends TokenResult {
  thumbprint: string;
  keySource: string;
  /** Display claims from the ID token (received directly from the token endpoint over TLS). */
  user: { sub?: string; name?: string; nickname?: string };
  /** After a browser sign-in: when the key was bound (the ID token's iat, epoch seconds). */
  boundAt?: number;
}

/** A step that runs after a successful login, in order (the launcher copy, the MCP wiring). */
export type PostLoginStep = (login: LoginResult) => Promise<void>;

export async function login(req: Omit<TokenRequest, 'force'>, steps: PostLoginStep[] = []): Promise<LoginResult> {
  const result = await getToken({ ...req, force: true });
  await saveSettings(req.files, req.settings);

  const fromEnv = Boolean(req.env[KEY_ENV]?.trim());
  const key = fromEnv ? undefined : await readKeyFile(req.files.key);
  const claims = decodeIdToken(result.token.id_token);
  const out: LoginResult = {
    ...result,
    thumbprint: result.token.key_thumbprint ?? key?.thumbprint ?? 'unknown',
    keySource: fromEnv ? KEY_ENV : req.files.key,
    user: { sub: result.token.subject ?? claims.sub, name: claims.name, nickname: claims.nickname },
  };
  for (const step of steps) await step(out);
  return out;
}

function decodeIdToken(idToken: string | undefined): { sub?: string; name?: string; nickname?: string } {
  if (!idToken) return {};
  try {
    const payload = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { sub: str(payload.sub), name: str(payload.name), nickname: str(payload.nickname) };
  } catch {
    return {};
  }
}
