/**
 * Doctor's checks through the Management API (only with credentials): the Action bound to the
 * profile for the subject token type is deployed; the API skips consent; the connection is enabled
 * for the application. Reads only.
 */
import type { Settings } from '../config/settings.js';
import { loadActionSource } from '../emulator/action-source.js';
import { ExitCode } from '../util/errors.js';
import { stripMarker } from './action-bundle.js';
import { fail, failFrom, pass, type Check } from './doctor-check.js';
import { isLive } from './plan.js';
import type { ManagementClient } from './management-client.js';
import { connectionEnabledFor, readActionById, readApi, readConnection, readProfiles } from './snapshot.js';

const SETUP = 'run `omni-auth setup` to fix it';

export async function checkAction(mc: ManagementClient, settings: Settings, actionDir?: string): Promise<Check> {
  const title = 'Action and profile';
  const profile = (await readProfiles(mc)).find((p) => p.subject_token_type === settings.subjectTokenType);
  if (!profile) return fail('action', title, `no Token Exchange Profile for ${settings.subjectTokenType}`, SETUP, ExitCode.refused);
  const action = await readActionById(mc, profile.action_id);
  const bound = `profile "${profile.name}"`;
  if (!action) return fail('action', title, `${bound} runs the Action ${profile.action_id}, which does not exist`, SETUP, ExitCode.refused);
  const named = `the Action "${action.name}"`;
  if (action.deployed_version?.deployed !== true) {
    return fail('action', title, `${named} (bound to ${bound}) is not deployed`, `${SETUP} (it waits for the build and deploys), or deploy it in Dashboard → Actions → Library`, ExitCode.refused);
  }
  const version = action.deployed_version.number !== undefined ? ` version ${action.deployed_version.number}` : '';
  if (!isLive(action)) {
    return fail('action', title, `${named}${version} is deployed and bound to ${bound}, but has undeployed changes: exchanges run an older version`,
      `${SETUP} (it deploys the latest draft), or deploy it in Dashboard → Actions → Library`, ExitCode.refused);
  }
  const shipped = await loadActionSource(actionDir).then((s) => s.code, () => undefined);
  if (shipped !== undefined && stripMarker(action.code ?? '') !== stripMarker(shipped)) {
    return fail('action', title, `${named}${version} is deployed and bound to ${bound}, but its code is not the Action this omni-auth ships`,
      `${SETUP}: it deploys omni-auth's Action in its place`, ExitCode.refused);
  }
  return pass('action', title, `${named}${version} is deployed and bound to ${bound}`);
}

export async function checkApi(mc: ManagementClient, settings: Settings): Promise<Check> {
  const title = 'API consent';
  const api = await readApi(mc, settings.audience);
  if (!api) return fail('api', title, `the tenant has no API with identifier ${settings.audience}`, `check --audience, or ${SETUP} (it creates the API)`, ExitCode.refused);
  if (api.skip_consent_for_verifiable_first_party_clients !== true) {
    return fail('api', title, `the API ${settings.audience} does not allow skipping user consent: exchanges fail with consent_required`,
      `${SETUP}, or turn on "Allow Skipping User Consent" (Dashboard → Applications → APIs → the API → Settings)`, ExitCode.refused);
  }
  if (api.allow_offline_access !== true) {
    return fail('api', title, `the API ${settings.audience} skips consent but does not allow offline access: no refresh tokens, so every renewal is a new exchange`,
      `${SETUP}, or turn on "Allow Offline Access" (Dashboard → Applications → APIs → the API → Settings)`, ExitCode.refused);
  }
  return pass('api', title, `the API ${settings.audience} skips consent and allows offline access`);
}

export async function checkConnection(mc: ManagementClient, settings: Settings, name: string): Promise<Check> {
  const title = 'connection';
  const connection = await readConnection(mc, name);
  if (!connection) return fail('connection', title, `the tenant has no connection named ${name}`, 'pass --connection with the connection setup used', ExitCode.refused);
  if (!(await connectionEnabledFor(mc, connection.id, settings.clientId))) {
    return fail('connection', title, `the connection ${name} is not enabled for the application ${settings.clientId}: users cannot be created`,
      `${SETUP}, or enable it (Dashboard → Authentication → Database → ${name} → Applications)`, ExitCode.refused);
  }
  return pass('connection', title, `${name} is enabled for the application`);
}

/** Runs each check; a Management API failure (a missing scope, say) becomes that check's failure. */
export async function managementChecks(mc: ManagementClient, settings: Settings, connection: string, actionDir?: string): Promise<Check[]> {
  const guarded = async (id: string, title: string, run: () => Promise<Check>): Promise<Check> =>
    run().catch((e: unknown) => failFrom(id, title, e, 'check the Management API credentials'));
  return [
    await guarded('action', 'Action and profile', () => checkAction(mc, settings, actionDir)),
    await guarded('api', 'API consent', () => checkApi(mc, settings)),
    await guarded('connection', 'connection', () => checkConnection(mc, settings, connection)),
  ];
}
