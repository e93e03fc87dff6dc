/**
 * `setup --m2m` (issue 12 §4): a dedicated machine-to-machine application that authenticates with
 * Private Key JWT — this home's client key registered as its `public_key` credential, enabled through
 * `client_authentication_methods.private_key_jwt` — and a client grant for the API. No secret is
 * used or shown. Snapshot, plan steps and writes, idempotent like the rest of setup: an existing
 * application (by name), credential (by name, derived from the key's fingerprint), enabled credential
 * and client grant are left as they are.
 *
 * Why a dedicated application and not the CLI's: the CLI application is public (native, PKCE, no
 * client authentication) and every teammate's machine uses it; Auth0 lets an application use
 * Private Key JWT only as its one authentication method (`client_authentication_methods` and
 * `token_endpoint_auth_method` are mutually exclusive), so making it confidential would lock out every
 * person and machine that uses it without the key. A separate non-interactive application also keeps
 * the service's authority (its client grant) apart from people's tokens and is revocable on its own.
 */
import type { ManagementClient } from './management-client.js';
import type { ClientRecord } from './records.js';

export const M2M_APP_NAME = 'omni-auth-m2m';
/** Auth0's default and the one omni-auth signs with (src/identity/client-key.ts). */
export const M2M_CREDENTIAL_ALG = 'RS256';

export interface M2mInputs {
  appName: string;
  /** `omni-auth-<fingerprint prefix>`: finds the credential of this very key again. */
  credentialName: string;
  /** The client key's public half (SPKI PEM); undefined in a dry run before the key exists. */
  publicPem?: string;
  /** Scopes of the client grant (default none: the API's permissions come from RBAC). */
  scopes: string[];
}

export interface M2mClientRecord extends ClientRecord {
  client_authentication_methods?: { private_key_jwt?: { credentials?: { id: string }[] } } | null;
}
export interface CredentialRecord { id: string; name?: string; alg?: string; credential_type?: string; expires_at?: string }
export interface ClientGrantRecord { id: string; client_id: string; audience: string; scope?: string[] }

export interface M2mSnapshot {
  client?: M2mClientRecord;
  credentials: CredentialRecord[];
  grant?: ClientGrantRecord;
}

const PAGE = 100;
const enc = encodeURIComponent;

export const credentialNameOf = (fingerprint: string): string => `omni-auth-${fingerprint.slice(0, 16)}`;

async function findM2mClient(mc: ManagementClient, name: string): Promise<M2mClientRecord | undefined> {
  for (let page = 0; ; page++) {
    const clients = await mc.get<M2mClientRecord[]>('/clients', { page, per_page: PAGE });
    const found = clients.find((c) => c.name === name && c.app_type === 'non_interactive');
    if (found) return found;
    if (clients.length < PAGE) return undefined;
  }
}

export async function readM2mSnapshot(mc: ManagementClient, appName: string, audience: string): Promise<M2mSnapshot> {
  const client = await findM2mClient(mc, appName);
  if (!client) return { credentials: [] };
  const credentials = await mc.get<CredentialRecord[]>(`/clients/${enc(client.client_id)}/credentials`);
  const grants = await mc.get<ClientGrantRecord[]>('/client-grants', { client_id: client.client_id, audience });
  const grant = grants.find((g) => g.client_id === client.client_id && g.audience === audience);
  return { client, credentials, ...(grant ? { grant } : {}) };
}

export type M2mResource = 'm2m_application' | 'm2m_credential' | 'm2m_client_grant';
export interface M2mStep { resource: M2mResource; target: string; change: 'create' | 'update' | 'unchanged'; fields: string[] }

export function ourCredential(s: M2mSnapshot, inputs: M2mInputs): CredentialRecord | undefined {
  return s.credentials.find((c) => c.name === inputs.credentialName);
}

const enabledIds = (client: M2mClientRecord | undefined): string[] =>
  client?.client_authentication_methods?.private_key_jwt?.credentials?.map((c) => c.id) ?? [];

export function planM2m(s: M2mSnapshot, inputs: M2mInputs, audience: string): M2mStep[] {
  const app: M2mStep = s.client
    ? { resource: 'm2m_application', target: `${inputs.appName} (${s.client.client_id})`, change: (s.client.grant_types ?? []).includes('client_credentials') ? 'unchanged' : 'update', fields: (s.client.grant_types ?? []).includes('client_credentials') ? [] : ['grant_types'] }
    : { resource: 'm2m_application', target: inputs.appName, change: 'create', fields: [] };
  const cred = ourCredential(s, inputs);
  const credentialStep: M2mStep = !cred
    ? { resource: 'm2m_credential', target: inputs.credentialName, change: 'create', fields: [] }
    : enabledIds(s.client).includes(cred.id)
      ? { resource: 'm2m_credential', target: `${inputs.credentialName} (${cred.id})`, change: 'unchanged', fields: [] }
      : { resource: 'm2m_credential', target: `${inputs.credentialName} (${cred.id})`, change: 'update', fields: ['client_authentication_methods.private_key_jwt'] };
  const missingScopes = s.grant ? inputs.scopes.filter((x) => !(s.grant!.scope ?? []).includes(x)) : [];
  const grantStep: M2mStep = !s.grant
    ? { resource: 'm2m_client_grant', target: audience, change: 'create', fields: [] }
    : { resource: 'm2m_client_grant', target: `${audience} (${s.grant.id})`, change: missingScopes.length > 0 ? 'update' : 'unchanged', fields: missingScopes.length > 0 ? ['scope'] : [] };
  return [app, credentialStep, grantStep];
}

export function m2mScopesNeeded(steps: readonly { resource: string; change: string }[]): string[] {
  const need = new Set<string>();
  for (const s of steps) {
    if (s.change === 'unchanged' || s.change === 'blocked') continue;
    if (s.resource === 'm2m_application') need.add(s.change === 'create' ? 'create:clients' : 'update:clients');
    if (s.resource === 'm2m_credential') {
      if (s.change === 'create') need.add('create:client_credentials');
      // Auth0: "To configure client_authentication_methods, the update:client_credentials scope is required."
      need.add('update:client_credentials');
      need.add('update:clients');
    }
    if (s.resource === 'm2m_client_grant') need.add(s.change === 'create' ? 'create:client_grants' : 'update:client_grants');
  }
  return [...need];
}

export interface M2mApplied { clientId: string; credentialId: string }

/** Writes the three steps in order; returns the application's and the credential's ids. */
export async function applyM2m(mc: ManagementClient, s: M2mSnapshot, inputs: M2mInputs, audience: string, steps: M2mStep[], progress: (line: string) => void): Promise<M2mApplied> {
  const [app, cred, grant] = steps as [M2mStep, M2mStep, M2mStep];
  let client = s.client;
  if (app.change === 'create') {
    progress(`creating machine-to-machine application ${inputs.appName}`);
    client = await mc.post<M2mClientRecord>('/clients', { name: inputs.appName, app_type: 'non_interactive', grant_types: ['client_credentials'] });
  } else if (app.change === 'update' && client) {
    progress(`updating machine-to-machine application ${inputs.appName}`);
    await mc.patch(`/clients/${enc(client.client_id)}`, { grant_types: [...new Set([...(client.grant_types ?? []), 'client_credentials'])] });
  }
  const clientId = client!.client_id;
  let credential = ourCredential(s, inputs);
  if (cred.change === 'create') {
    if (inputs.publicPem === undefined) throw new Error('setup --m2m: the client key is missing');
    progress(`registering the client key as credential ${inputs.credentialName}`);
    credential = await mc.post<CredentialRecord>(`/clients/${enc(clientId)}/credentials`, {
      credential_type: 'public_key', name: inputs.credentialName, pem: inputs.publicPem, alg: M2M_CREDENTIAL_ALG,
    });
  }
  if (cred.change !== 'unchanged' && credential) {
    progress('enabling Private Key JWT for the application');
    const ids = [...new Set([...enabledIds(client), credential.id])];
    await mc.patch(`/clients/${enc(clientId)}`, { client_authentication_methods: { private_key_jwt: { credentials: ids.map((id) => ({ id })) } } });
  }
  if (grant.change === 'create') {
    progress(`authorizing ${inputs.appName} for ${audience} (client grant)`);
    await mc.post('/client-grants', { client_id: clientId, audience, scope: inputs.scopes });
  } else if (grant.change === 'update' && s.grant) {
    await mc.patch(`/client-grants/${enc(s.grant.id)}`, { scope: [...new Set([...(s.grant.scope ?? []), ...inputs.scopes])] });
  }
  return { clientId, credentialId: credential!.id };
}
