/**
 * The emulated tenant's in-memory state: the one data model shared by the OAuth endpoints
 * (oauth.ts), the Management API (management.ts) and the Action runner (action-runtime.ts).
 * Field names follow Auth0's Management API v2 JSON so handlers can return records nearly as is.
 */
import { randomBytes } from 'node:crypto';
import type { SigningKey } from './tokens.js';

export const MANAGEMENT_SCOPES = [
  'read:actions', 'create:actions', 'update:actions', 'delete:actions',
  'read:token_exchange_profiles', 'create:token_exchange_profiles',
  'update:token_exchange_profiles', 'delete:token_exchange_profiles',
  'read:clients', 'create:clients', 'update:clients',
  'read:resource_servers', 'create:resource_servers', 'update:resource_servers',
  'read:connections', 'create:connections', 'update:connections',
  'read:connections_options', 'update:connections_options',
  'read:users', 'create:users', 'update:users',
  'read:attack_protection', 'update:attack_protection',
  'read:roles', 'create:roles', 'update:roles', 'delete:roles',
  'read:role_members', 'create:role_members', 'delete:role_members',
  // Issue 12 §4: application credentials (Private Key JWT) and client grants (machine-to-machine).
  'read:client_credentials', 'create:client_credentials', 'update:client_credentials', 'delete:client_credentials',
  'read:client_grants', 'create:client_grants', 'update:client_grants', 'delete:client_grants',
] as const;

/** `null` once `client_authentication_methods` configures Private Key JWT (the two are mutually exclusive). */
export type TokenEndpointAuthMethod = 'none' | 'client_secret_post' | 'client_secret_basic' | null;

export interface Client {
  client_id: string;
  client_secret?: string;
  name: string;
  app_type: 'native' | 'non_interactive' | 'spa' | 'regular_web';
  is_first_party: boolean;
  oidc_conformant: boolean;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: string[];
  token_exchange?: { allow_any_profile_of_type: string[] };
  callbacks: string[];
  client_metadata: Record<string, string>;
  /**
   * Private Key JWT (`{private_key_jwt: {credentials: [{id}]}}`): set instead of a secret method; the
   * client then authenticates only with a `client_assertion` signed by one of these credentials.
   */
  client_authentication_methods?: { private_key_jwt?: { credentials: { id: string }[] } };
  [other: string]: unknown;
}

/** An application credential (`POST /api/v2/clients/{id}/credentials`, `credential_type: public_key`). */
export interface ClientCredential {
  id: string;
  client_id: string;
  name: string;
  kid: string;
  alg: 'RS256' | 'RS384' | 'PS256';
  credential_type: 'public_key';
  /** The public key as given (SPKI or PKCS#1 PEM); never returned by the API. */
  pem: string;
  created_at: string;
  updated_at: string;
  expires_at?: string;
}

/** A machine-to-machine authorization: which client may get tokens for which API, with which scopes. */
export interface ClientGrant {
  id: string;
  client_id: string;
  audience: string;
  scope: string[];
}

/**
 * An API's access token profile ("Token dialect"): `access_token` (Auth0's default), RFC 9068's
 * `rfc9068_profile`, and the `_authz` variants that add the `permissions` claim (RBAC).
 */
export const TOKEN_DIALECTS = ['access_token', 'access_token_authz', 'rfc9068_profile', 'rfc9068_profile_authz'] as const;
export type TokenDialect = typeof TOKEN_DIALECTS[number];

export interface ResourceServer {
  id: string;
  name: string;
  identifier: string;
  signing_alg: 'RS256';
  token_lifetime: number;
  skip_consent_for_verifiable_first_party_clients: boolean;
  allow_offline_access: boolean;
  scopes: { value: string; description?: string }[];
  /** RBAC ("Enable RBAC"): granted API scopes are those of the requested ones the user holds. */
  enforce_policies: boolean;
  token_dialect: TokenDialect;
  is_system?: boolean;
  [other: string]: unknown;
}

/** A connection's `options`, as far as the emulator models them (Management API v2 field names). */
export interface ConnectionOptions {
  /** Flexible Identifiers: which user attributes identify a user (e.g. `username` only). */
  attributes?: Record<string, unknown>;
  /** Legacy "Require Username" (cannot be combined with `attributes`). */
  requires_username?: boolean;
  /** Legacy username length rules, `{username: {min, max}}` (cannot be combined with `attributes`). */
  validation?: Record<string, unknown>;
  /** "Disable Sign Ups". */
  disable_signup?: boolean;
  [other: string]: unknown;
}

/** A permission: one scope (`permission_name`) of one API (`resource_server_identifier`). */
export interface Permission {
  resource_server_identifier: string;
  permission_name: string;
}

/** An RBAC role (`/api/v2/roles`): its permissions and members are kept in the Tenant's maps. */
export interface Role {
  id: string;
  name: string;
  description?: string;
}

export interface Connection {
  id: string;
  name: string;
  strategy: string;
  /** Client ids the connection is enabled for. */
  enabled_clients: string[];
  options?: ConnectionOptions;
  display_name?: string;
  is_domain_connection?: boolean;
  realms?: string[];
  metadata?: Record<string, string>;
}

/** One binding of an Action to a trigger (`GET/PATCH /api/v2/actions/triggers/{trigger}/bindings`). */
export interface TriggerBinding {
  id: string;
  action_id: string;
  display_name: string;
  created_at: string;
  updated_at: string;
}

export interface ActionSecret {
  name: string;
  value: string;
  updated_at: string;
}

export type ActionBuildStatus = 'pending' | 'building' | 'packaged' | 'built' | 'retrying' | 'failed';

export interface ActionVersion {
  id: string;
  number: number;
  action_id: string;
  code: string;
  runtime: string;
  dependencies: { name: string; version: string }[];
  /** A snapshot of the secrets when this version was deployed (what the runner uses). */
  secrets: ActionSecret[];
  status: 'built';
  deployed: boolean;
  created_at: string;
  deployed_at?: string;
}

export interface Action {
  id: string;
  name: string;
  supported_triggers: { id: string; version: string }[];
  code: string;
  runtime: string;
  dependencies: { name: string; version: string }[];
  secrets: ActionSecret[];
  created_at: string;
  updated_at: string;
  /** When the current build started (create or PATCH); the status is derived from it. */
  build_started_at: number;
  /** Set when the current build fails; its message is what GET shows in `errors`. */
  build_error?: string;
  deployed_version?: ActionVersion;
  versions: ActionVersion[];
}

export interface TokenExchangeProfile {
  id: string;
  name: string;
  subject_token_type: string;
  action_id: string;
  type: 'custom_authentication';
  created_at: string;
  updated_at: string;
}

export interface User {
  user_id: string;
  connection: string;
  name?: string;
  nickname?: string;
  email?: string;
  email_verified?: boolean;
  username?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  phone_number?: string;
  phone_verified?: boolean;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  last_login?: string;
  logins_count: number;
  /** Blocked by an administrator (`PATCH /api/v2/users/{id}` `{"blocked": true}`): no sign-in, no token. */
  blocked?: boolean;
}

/**
 * One `/authorize` request waiting for the person's credentials (the sign-in page's hidden `tx`).
 * Everything the code grant must later check is kept here, never in the page.
 */
export interface AuthTransaction {
  id: string;
  client_id: string;
  redirect_uri: string;
  audience: string;
  scope: string;
  state?: string;
  nonce?: string;
  code_challenge?: string;
  created_at: number;
  /** Set once the credentials were right but consent is still to be given. */
  user_id?: string;
  auth_time?: number;
}

/** An issued authorization code (single use, AUTH_CODE_LIFETIME_MS). */
export interface AuthCode {
  client_id: string;
  user_id: string;
  redirect_uri: string;
  audience: string;
  scope: string;
  nonce?: string;
  code_challenge?: string;
  auth_time: number;
  created_at: number;
}

export interface RefreshTokenRecord {
  client_id: string;
  user_id: string;
  audience: string;
  scope: string;
  created_at: number;
}

export interface SuspiciousIpThrottling {
  enabled: boolean;
  shields: string[];
  allowlist: string[];
  stage: Record<string, { max_attempts: number; rate: number }>;
}

export interface Stats {
  requests: Record<string, number>;
  exchanges: { ok: number; failed: number; /** Of the failed: refused by the rate limit (429). */ rate_limited: number };
  /**
   * Verification mails Auth0 would have sent: a user created with an email, `email_verified` not
   * true and `verify_email` not false (the emulator sends nothing; it counts).
   */
  mails: number;
  /** Sign-ins on the /authorize page: right credentials, wrong ones (unknown user or password). */
  logins: { ok: number; failed: number };
}

/** Knobs of the emulator itself (not of Auth0); defaults in createTenant. */
export interface EmulatorSettings {
  /** Token-exchange requests regained per second (the bucket's sustained rate; Auth0 plans: 4 or 15). */
  exchangeRatePerSecond: number;
  /** The token-exchange bucket's size (Auth0's "Burst Request Limit"); unset: the same as the rate. */
  exchangeBurst?: number;
  /** The Auth0 plan whose limits were set with `--plan` or the control API, when one was. */
  plan?: string;
  /** Auth0's Action time limit. */
  actionTimeoutMs: number;
  /** How long an Action build takes (pending → building → built). */
  buildMs: number;
  /** How long a deploy takes before `deployed_version.deployed` is true. */
  deployMs: number;
  /** When set, the next Action build fails with this message (tests: "a build fails on demand"). */
  failNextBuild?: string;
  /**
   * Auth0's api.cache is not durable between executions. When true, the emulator forgets every
   * api.cache entry after each Action execution (the worst case Auth0 allows).
   */
  forgetActionCache?: boolean;
}

export interface Tenant {
  settings: EmulatorSettings;
  signingKey: SigningKey;
  /** What a user passes to --domain: `http://127.0.0.1:PORT`. */
  domain: string;
  /** As in tokens: `http://127.0.0.1:PORT/`. */
  issuer: string;
  clients: Map<string, Client>;
  clientGrants: ClientGrant[];
  resourceServers: Map<string, ResourceServer>;
  connections: Map<string, Connection>;
  actions: Map<string, Action>;
  profiles: Map<string, TokenExchangeProfile>;
  /** Ordered Action bindings per trigger id (`post-login`, …); Custom Token Exchange uses profiles instead. */
  triggerBindings: Map<string, TriggerBinding[]>;
  users: Map<string, User>;
  /** RBAC: roles by id, each role's permissions, and per user the role ids and direct permissions. */
  roles: Map<string, Role>;
  rolePermissions: Map<string, Permission[]>;
  userRoles: Map<string, Set<string>>;
  userPermissions: Map<string, Permission[]>;
  /** scrypt hashes of database users' passwords, by user_id (never part of a User, never returned). */
  passwords: Map<string, string>;
  /** Open /authorize transactions by id, and issued authorization codes. */
  authTransactions: Map<string, AuthTransaction>;
  authCodes: Map<string, AuthCode>;
  /** Consent given on the sign-in page: `user_id client_id audience` (Auth0's user grants). */
  userGrants: Set<string>;
  refreshTokens: Map<string, RefreshTokenRecord>;
  /** Application credentials by id. */
  credentials: Map<string, ClientCredential>;
  /** `jti`s of accepted client assertions, with their `exp` (seconds), so each is used once. */
  usedAssertions: Map<string, number>;
  attackProtection: { suspiciousIpThrottling: SuspiciousIpThrottling };
  /** The Action cache, one store per trigger (Auth0's api.cache is per trigger). */
  actionCache: Map<string, Map<string, { value: string; expires_at: number }>>;
  stats: Stats;
  /** Ids of the seeded objects, for the emulator's one-line JSON and for tests. */
  seed: {
    cliClientId: string;
    audience: string;
    connection: string;
    managementClientId: string;
    managementClientSecret: string;
    /** The Action's IDENTITY secret when provisioned. */
    identity?: 'person' | 'machine' | 'both';
    /** The demo CI service user's id, when provisioned (issue 14 §1). */
    ciUser?: string;
  };
}

export const nowIso = (): string => new Date().toISOString();

/** An Auth0-like client id: 32 alphanumeric characters. */
export function newClientId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(32);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** An Auth0-like object id with a prefix (`con_`, `rs_`, `tep_`, …). */
export function newId(prefix = ''): string {
  return prefix + randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
}

export const DEFAULT_AUDIENCE = 'https://omnispindle.example/api';
export const DEFAULT_CONNECTION = 'Username-Password-Authentication';

/**
 * A fresh tenant as an admin has prepared it (issue #2 §4): a first-party, OIDC-conformant native
 * application not yet allowed to use token exchange, an API for the audience (consent not skipped),
 * the database connection (not enabled for the CLI application), and a machine-to-machine
 * application with every Management API scope this project uses.
 */
export function createTenant(
  origin: string,
  signingKey: SigningKey,
  options: { audience?: string; settings?: Partial<EmulatorSettings> } = {},
): Tenant {
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const domain = origin.replace(/\/+$/, '');
  const issuer = `${domain}/`;
  const cli: Client = {
    client_id: newClientId(),
    name: 'omni-auth CLI',
    app_type: 'native',
    is_first_party: true,
    oidc_conformant: true,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    callbacks: [],
    client_metadata: {},
  };
  const m2m: Client = {
    client_id: newClientId(),
    client_secret: randomBytes(48).toString('base64url'),
    name: 'omni-auth provisioning (M2M)',
    app_type: 'non_interactive',
    is_first_party: true,
    oidc_conformant: true,
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    callbacks: [],
    client_metadata: {},
  };
  const managementApi: ResourceServer = {
    id: newId(''),
    name: 'Auth0 Management API',
    identifier: `${issuer}api/v2/`,
    signing_alg: 'RS256',
    token_lifetime: 86400,
    skip_consent_for_verifiable_first_party_clients: false,
    allow_offline_access: false,
    scopes: MANAGEMENT_SCOPES.map((value) => ({ value })),
    enforce_policies: false,
    token_dialect: 'access_token',
    is_system: true,
  };
  const api: ResourceServer = {
    id: newId(''),
    name: 'Omnispindle MCP',
    identifier: audience,
    signing_alg: 'RS256',
    token_lifetime: 86400,
    skip_consent_for_verifiable_first_party_clients: false,
    allow_offline_access: false,
    scopes: [],
    enforce_policies: false,
    token_dialect: 'access_token',
  };
  const connection: Connection = {
    id: newId('con_'),
    name: DEFAULT_CONNECTION,
    strategy: 'auth0',
    enabled_clients: [m2m.client_id],
  };
  return {
    settings: { exchangeRatePerSecond: 10, actionTimeoutMs: 20_000, buildMs: 300, deployMs: 200, ...options.settings },
    signingKey,
    domain,
    issuer,
    clients: new Map([[cli.client_id, cli], [m2m.client_id, m2m]]),
    clientGrants: [
      { id: newId('cgr_'), client_id: m2m.client_id, audience: managementApi.identifier, scope: [...MANAGEMENT_SCOPES] },
    ],
    resourceServers: new Map([[managementApi.id, managementApi], [api.id, api]]),
    connections: new Map([[connection.id, connection]]),
    actions: new Map(),
    profiles: new Map(),
    triggerBindings: new Map(),
    users: new Map(),
    roles: new Map(),
    rolePermissions: new Map(),
    userRoles: new Map(),
    userPermissions: new Map(),
    passwords: new Map(),
    authTransactions: new Map(),
    authCodes: new Map(),
    userGrants: new Set(),
    refreshTokens: new Map(),
    credentials: new Map(),
    usedAssertions: new Map(),
    attackProtection: {
      suspiciousIpThrottling: {
        enabled: true,
        shields: ['admin_notification', 'block'],
        allowlist: [],
        stage: {
          'pre-login': { max_attempts: 100, rate: 864000 },
          'pre-user-registration': { max_attempts: 50, rate: 1200 },
          'pre-custom-token-exchange': { max_attempts: 10, rate: 600000 },
        },
      },
    },
    actionCache: new Map(),
    stats: { requests: {}, exchanges: { ok: 0, failed: 0, rate_limited: 0 }, mails: 0, logins: { ok: 0, failed: 0 } },
    seed: {
      cliClientId: cli.client_id,
      audience,
      connection: connection.name,
      managementClientId: m2m.client_id,
      managementClientSecret: m2m.client_secret!,
    },
  };
}
