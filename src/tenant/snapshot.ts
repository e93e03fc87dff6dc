/**
 * Reading the tenant: what setup plans against and doctor checks. GETs only. Lists are paged to the
 * end (checkpoint pagination for profiles and a connection's clients, offset for clients).
 */
import { UsageError } from '../util/errors.js';
import type { ManagementClient } from './management-client.js';
import { readRole, type RoleSnapshot } from './rbac.js';
import {
  CTE_TRIGGER, type ActionRecord, type ClientRecord, type ConnectionRecord, type ProfileRecord, type ResourceServerRecord,
} from './records.js';

const PAGE = 100;
const enc = encodeURIComponent;

export interface SnapshotQuery {
  audience: string;
  /** The application to provision; when absent, one named `appName` is looked for. */
  clientId?: string;
  appName: string;
  actionName: string;
  subjectTokenType: string;
  connection: string;
  /** `setup --rbac --role NAME`: the role to read. */
  role?: string;
}

export interface TenantSnapshot {
  api?: ResourceServerRecord;
  /** Undefined: there is none yet (setup creates it). */
  client?: ClientRecord;
  /** How the application was found. */
  clientFoundBy: 'id' | 'name' | 'none';
  action?: ActionRecord;
  profiles: ProfileRecord[];
  /** The Action run by a profile that already holds the subject token type, when it is not ours. */
  profileHolderAction?: ActionRecord;
  connection?: ConnectionRecord;
  /** Whether the connection is enabled for the application. */
  connectionEnabled: boolean;
  /** With `--rbac --role NAME`: the role (when it exists) and its permissions. */
  role?: RoleSnapshot;
}

export const readApi = (mc: ManagementClient, audience: string): Promise<ResourceServerRecord | undefined> =>
  mc.find<ResourceServerRecord>(`/resource-servers/${enc(audience)}`);

export async function readClient(mc: ManagementClient, clientId: string): Promise<ClientRecord> {
  const client = await mc.find<ClientRecord>(`/clients/${enc(clientId)}`);
  if (!client) {
    throw new UsageError('client_not_found', `the tenant has no application with client id ${clientId}`, {
      hint: 'check --client-id, OMNI_AUTH_CLIENT_ID or the saved settings (Dashboard → Applications → the application → Client ID); without any, setup creates an application',
    });
  }
  return client;
}

/** A native application with exactly this name, when there is one. */
export async function findClientByName(mc: ManagementClient, name: string): Promise<ClientRecord | undefined> {
  for (let page = 0; ; page++) {
    const clients = await mc.get<ClientRecord[]>('/clients', { page, per_page: PAGE });
    const found = clients.find((c) => c.name === name && c.app_type === 'native');
    if (found) return found;
    if (clients.length < PAGE) return undefined;
  }
}

/** The custom-token-exchange Action with this name, read in full (code, secrets' names, versions). */
export async function readAction(mc: ManagementClient, name: string): Promise<ActionRecord | undefined> {
  const list = await mc.get<{ actions?: ActionRecord[] }>('/actions/actions', { triggerId: CTE_TRIGGER.id, actionName: name });
  const match = list.actions?.find((a) => a.name === name);
  return match ? mc.get<ActionRecord>(`/actions/actions/${enc(match.id)}`) : undefined;
}

export const readActionById = (mc: ManagementClient, id: string): Promise<ActionRecord | undefined> =>
  mc.find<ActionRecord>(`/actions/actions/${enc(id)}`);

export async function readProfiles(mc: ManagementClient): Promise<ProfileRecord[]> {
  const out: ProfileRecord[] = [];
  let from: string | undefined;
  do {
    const page = await mc.get<{ token_exchange_profiles?: ProfileRecord[]; next?: string }>('/token-exchange-profiles', { take: PAGE, from });
    out.push(...(page.token_exchange_profiles ?? []));
    from = page.next;
  } while (from);
  return out;
}

export async function readConnection(mc: ManagementClient, name: string): Promise<ConnectionRecord | undefined> {
  const found = await mc.get<ConnectionRecord[]>('/connections', { name });
  return found.find((c) => c.name === name);
}

export async function connectionEnabledFor(mc: ManagementClient, connectionId: string, clientId: string): Promise<boolean> {
  let from: string | undefined;
  do {
    const page = await mc.get<{ clients?: { client_id: string }[]; next?: string }>(`/connections/${enc(connectionId)}/clients`, { take: PAGE, from });
    if (page.clients?.some((c) => c.client_id === clientId)) return true;
    from = page.next;
  } while (from);
  return false;
}

export async function readSnapshot(mc: ManagementClient, q: SnapshotQuery): Promise<TenantSnapshot> {
  const api = await readApi(mc, q.audience);
  const client = q.clientId !== undefined ? await readClient(mc, q.clientId) : await findClientByName(mc, q.appName);
  const action = await readAction(mc, q.actionName);
  const profiles = await readProfiles(mc);
  const holder = profiles.find((p) => p.subject_token_type === q.subjectTokenType);
  const profileHolderAction = holder && holder.action_id !== action?.id ? await readActionById(mc, holder.action_id) : undefined;
  const connection = await readConnection(mc, q.connection);
  const connectionEnabled = connection !== undefined && client !== undefined && await connectionEnabledFor(mc, connection.id, client.client_id);
  const role = q.role !== undefined ? await readRole(mc, q.role) : undefined;
  return {
    ...(api ? { api } : {}),
    ...(client ? { client } : {}),
    clientFoundBy: q.clientId !== undefined ? 'id' : client ? 'name' : 'none',
    ...(action ? { action } : {}),
    profiles,
    ...(profileHolderAction ? { profileHolderAction } : {}),
    ...(connection ? { connection } : {}),
    connectionEnabled,
    ...(role ? { role } : {}),
  };
}
