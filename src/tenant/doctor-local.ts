/** Doctor's checks of this machine: the settings resolve; the machine key exists, is 0600, and parses. */
import { stat } from 'node:fs/promises';
import type { HomeFiles } from '../config/home.js';
import { readSavedSettings, resolveSettings, type Settings, type SettingsFlags } from '../config/settings.js';
import { KEY_ENV, parsePrivateKey, readKeyFile } from '../identity/key-store.js';
import { ExitCode } from '../util/errors.js';
import { fail, failFrom, pass, type Check } from './doctor-check.js';

/**
 * No key yet fails (exit 2): the issue lists "the key file exists" among the checks, and a machine
 * without one cannot get a token. On an admin machine that only provisions, this is the one expected
 * failure; its fix says what creates the key.
 */
const noKey = (path: string): Check => fail('key', 'machine key', `no key yet at ${path}`,
  'run `omni-auth login`: it creates the key (this machine then becomes an Auth0 user)', ExitCode.usage);

export async function checkSettings(flags: SettingsFlags, env: NodeJS.ProcessEnv, files: HomeFiles): Promise<{ check: Check; settings?: Settings }> {
  try {
    const settings = resolveSettings(flags, env, await readSavedSettings(files.settings));
    const detail = `profile ${settings.profile ?? 'default'} · ${settings.domain} · client ${settings.clientId} · audience ${settings.audience}`;
    return { check: pass('settings', 'settings', detail), settings };
  } catch (e) {
    return { check: failFrom('settings', 'settings', e, 'run `omni-auth setup` or pass --domain, --client-id and --audience') };
  }
}

export async function checkKey(files: HomeFiles, env: NodeJS.ProcessEnv): Promise<Check> {
  const title = 'machine key';
  try {
    const fromEnv = env[KEY_ENV];
    if (fromEnv !== undefined && fromEnv.trim() !== '') {
      const key = parsePrivateKey(fromEnv, KEY_ENV);
      return pass('key', title, `from ${KEY_ENV} (${key.alg}), thumbprint ${key.thumbprint}`);
    }
    const st = await stat(files.key).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    if (!st) return noKey(files.key);
    // readKeyFile refuses a key others can read, naming the mode and the chmod that fixes it.
    const key = await readKeyFile(files.key);
    if (!key) return noKey(files.key);
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return pass('key', title, `${files.key} (mode ${process.platform === 'win32' ? 'n/a' : mode}, ${key.alg}), thumbprint ${key.thumbprint}`);
  } catch (e) {
    const checked = failFrom('key', title, e, `move ${files.key} aside and run \`omni-auth login\` (a new key is a new Auth0 user)`);
    return checked.exit_code === ExitCode.internal ? fail('key', title, checked.detail, checked.fix!, ExitCode.usage) : checked;
  }
}
