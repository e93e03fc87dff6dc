/**
 * The Management API objects setup and doctor read, reduced to the fields they look at (Auth0's
 * field names). Everything is optional that Auth0 may leave out.
 */
export interface ResourceServerRecord {
  id: string;
  identifier: string;
  name?: string;
  skip_consent_for_verifiable_first_party_clients?: boolean;
  allow_offline_access?: boolean;
  /** RBAC ("Enable RBAC") and the access token profile (`access_token_authz` adds `permissions`). */
  enforce_policies?: boolean;
  token_dialect?: string;
  /** The API's scopes: RBAC's permissions. */
  scopes?: { value: string; description?: string }[];
}

export interface ClientRecord {
  client_id: string;
  name?: string;
  app_type?: string;
  is_first_party?: boolean;
  oidc_conformant?: boolean;
  token_endpoint_auth_method?: string;
  grant_types?: string[];
  /** Allowed redirect URIs of the authorization code flow (Auth0: "Allowed Callback URLs"). */
  callbacks?: string[];
  token_exchange?: { allow_any_profile_of_type?: string[] };
}

export interface Dependency {
  name: string;
  version: string;
}

export interface ActionRecord {
  id: string;
  name: string;
  code?: string;
  runtime?: string;
  dependencies?: Dependency[];
  /** Names only: Auth0 never returns secret values. */
  secrets?: { name: string }[];
  supported_triggers?: { id: string; version: string }[];
  status?: string;
  /** A failed build's reasons (the emulator adds them; Auth0's versions carry the same shape). */
  errors?: { id?: string; msg?: string; message?: string }[];
  all_changes_deployed?: boolean;
  deployed_version?: { id?: string; number?: number; deployed?: boolean };
}

export interface ProfileRecord {
  id: string;
  name: string;
  subject_token_type: string;
  action_id: string;
  type?: string;
}

export interface ConnectionRecord {
  id: string;
  name: string;
  strategy?: string;
  /** Only the fields setup and doctor look at are named; the rest is kept when options are written back. */
  options?: {
    attributes?: Record<string, unknown>;
    requires_username?: boolean;
    validation?: Record<string, unknown>;
    disable_signup?: boolean;
    [other: string]: unknown;
  };
}

export const CTE_TRIGGER = { id: 'custom-token-exchange', version: 'v1' } as const;
export const PROFILE_TYPE = 'custom_authentication';
export const ACTION_RUNTIME = 'node22';
