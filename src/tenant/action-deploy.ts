/**
 * Waiting on an Action: its build (`pending → building → built`, or `failed`), then its deploy
 * (`deployed_version.deployed`). Polls with a growing interval, bounded in total time; reports
 * progress for people (stderr).
 */
import { tenantText } from '../exchange/redact.js';
import { ExitCode, OmniAuthError } from '../util/errors.js';
import type { ManagementClient } from './management-client.js';
import type { ActionRecord } from './records.js';

export interface PollOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  /** For the build, and again for the deploy. */
  timeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export const DEFAULT_POLL: PollOptions = {
  firstDelayMs: 250,
  maxDelayMs: 2_000,
  timeoutMs: 180_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: Date.now,
};

const path = (id: string): string => `/actions/actions/${encodeURIComponent(id)}`;

async function poll(mc: ManagementClient, id: string, o: PollOptions, done: (a: ActionRecord) => boolean, what: string): Promise<ActionRecord> {
  const deadline = o.now() + o.timeoutMs;
  for (let delay = o.firstDelayMs; ; delay = Math.min(o.maxDelayMs, Math.round(delay * 1.5))) {
    const action = await mc.get<ActionRecord>(path(id));
    if (done(action)) return action;
    if (o.now() + delay > deadline) {
      throw new OmniAuthError('action_timeout', `the Action ${action.name} (${id}) was not ${what} after ${Math.round(o.timeoutMs / 1000)} s (status ${action.status ?? 'unknown'})`, {
        hint: 'Auth0 may be slow; run setup again in a few minutes (it picks up where it stopped), or see Dashboard → Actions → Library',
        exitCode: ExitCode.unreachable,
      });
    }
    await o.sleep(delay);
  }
}

/** Why a build failed, from the tenant's own words (cleaned), when it gives any. */
function buildErrorOf(action: ActionRecord): string | undefined {
  const reasons = (action.errors ?? []).map((e) => tenantText(e.msg ?? e.message, [])).filter((m): m is string => Boolean(m));
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

export async function waitUntilBuilt(mc: ManagementClient, id: string, progress: (line: string) => void, o: PollOptions): Promise<ActionRecord> {
  progress('  action: building…');
  const action = await poll(mc, id, o, (a) => a.status === 'built' || a.status === 'failed', 'built');
  if (action.status === 'failed') {
    const why = buildErrorOf(action);
    throw new OmniAuthError('action_build_failed', `the Action ${action.name} (${id}) failed to build${why ? `: ${why}` : ' (the tenant gave no reason)'}`, {
      hint: 'check auth0-actions/custom_token_exchange.js and the dependency versions in auth0-actions/package.json; '
        + 'the build log is in Dashboard → Actions → Library → the Action. Run setup again once fixed',
      exitCode: ExitCode.refused,
      ...(why ? { details: { build_error: why } } : {}),
    });
  }
  return action;
}

/** Deploys the built draft and waits until the new version is live. */
export async function deployAndWait(mc: ManagementClient, id: string, progress: (line: string) => void, o: PollOptions): Promise<ActionRecord> {
  progress('  action: deploying…');
  const version = await mc.post<{ id?: string; number?: number }>(`${path(id)}/deploy`, undefined);
  const isThisVersion = (v: ActionRecord['deployed_version']): boolean =>
    v !== undefined && (version.id !== undefined ? v.id === version.id : v.number === version.number);
  const action = await poll(mc, id, o, (a) => isThisVersion(a.deployed_version) && a.deployed_version?.deployed === true, 'deployed');
  progress(`  action: deployed${version.number !== undefined ? ` (version ${version.number})` : ''}`);
  return action;
}
