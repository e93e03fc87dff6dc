/** Applications: `GET|POST /api/v2/clients`, `GET|PATCH /api/v2/clients/{id}`. */
import { randomBytes } from 'node:crypto';
import { newClientId, type Client, type Tenant, type TokenEndpointAuthMethod } from '../state.js';
import { fail } from './errors.js';
import { offsetList, selectFields } from './list.js';
import { json, type Route } from './router.js';
import {
  AUTH_METHODS_EXCLUSIVE, CLIENT_NOT_ELIGIBLE, CLIENT_PROFILE_TYPES, CREDENTIALS_UPDATE_SCOPE, FOREIGN_CREDENTIAL, NO_CLIENT, insufficientScope,
} from './rules.js';
import { BodyReader } from './validate.js';

const APP_TYPES = ['native', 'non_interactive', 'spa', 'regular_web'] as const;
const AUTH_METHODS = ['none', 'client_secret_post', 'client_secret_basic'] as const;
const URL_LISTS = ['callbacks', 'allowed_logout_urls', 'web_origins', 'allowed_origins'] as const;
/** Accepted and stored as given; the emulator does not use them. */
const PASS_THROUGH = [
  'logo_uri', 'initiate_login_uri', 'jwt_configuration', 'refresh_token', 'sso', 'sso_disabled',
  'cross_origin_authentication', 'organization_usage', 'organization_require_behavior',
] as const;
const WRITABLE = [
  'name', 'description', 'app_type', 'is_first_party', 'oidc_conformant', 'token_endpoint_auth_method',
  'grant_types', 'client_metadata', 'token_exchange', ...URL_LISTS, ...PASS_THROUGH,
] as const;

/** Auth0's grant types for a new application of each type. */
const DEFAULT_GRANTS: Record<Client['app_type'], string[]> = {
  native: ['authorization_code', 'implicit', 'refresh_token'],
  spa: ['authorization_code', 'implicit', 'refresh_token'],
  non_interactive: ['client_credentials'],
  regular_web: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials'],
};

const newSecret = (): string => randomBytes(48).toString('base64url');

/** The client as the API shows it: never with its secret. */
function clientView(client: Client): Record<string, unknown> {
  const { client_secret: _secret, ...rest } = client;
  return rest;
}

export function findClient(tenant: Tenant, id: string): Client {
  const client = tenant.clients.get(id);
  if (!client) throw fail(NO_CLIENT);
  return client;
}

/** The writable fields of a body, validated; only what the body holds. */
function readClientFields(body: unknown, required: boolean): Partial<Client> {
  const r = new BodyReader(body, WRITABLE);
  const fields: Partial<Client> = {};
  const name = r.string('name', { min: 1, required });
  if (name !== undefined) fields.name = name;
  const description = r.string('description', { max: 140 });
  if (description !== undefined) fields.description = description;
  const appType = r.oneOf('app_type', APP_TYPES);
  if (appType !== undefined) fields.app_type = appType;
  const authMethod = r.oneOf('token_endpoint_auth_method', AUTH_METHODS);
  if (authMethod !== undefined) fields.token_endpoint_auth_method = authMethod;
  for (const key of ['is_first_party', 'oidc_conformant'] as const) {
    const value = r.boolean(key);
    if (value !== undefined) fields[key] = value;
  }
  const grants = r.strings('grant_types');
  if (grants !== undefined) fields.grant_types = grants;
  for (const key of URL_LISTS) {
    const value = r.strings(key);
    if (value !== undefined) fields[key] = value;
  }
  const metadata = r.map('client_metadata');
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw r.problem('client_metadata', `Expected type string but found type ${typeof v} for key ${k}`);
    }
    fields.client_metadata = metadata as Record<string, string>;
  }
  const exchange = r.object('token_exchange', ['allow_any_profile_of_type']);
  if (exchange !== undefined) {
    const types = exchange.strings('allow_any_profile_of_type') ?? [];
    for (const t of types) {
      if (!(CLIENT_PROFILE_TYPES as readonly string[]).includes(t)) {
        throw exchange.problem('allow_any_profile_of_type', `No enum match for: "${t}"; allowed: ${CLIENT_PROFILE_TYPES.join(', ')}`);
      }
    }
    fields.token_exchange = { allow_any_profile_of_type: types };
  }
  for (const key of PASS_THROUGH) if (r.has(key)) fields[key] = r.raw(key);
  return fields;
}

/** Auth0 allows Custom Token Exchange only for first-party, OIDC-conformant applications. */
function checkEligible(client: Client): void {
  const wantsExchange = (client.token_exchange?.allow_any_profile_of_type.length ?? 0) > 0;
  if (wantsExchange && (!client.is_first_party || !client.oidc_conformant)) throw fail(CLIENT_NOT_ELIGIBLE);
}

/**
 * `client_authentication_methods` of a PATCH (`{private_key_jwt: {credentials: [{id}]}}`, or null to
 * drop it): only with `update:client_credentials`, never beside `token_endpoint_auth_method`, and
 * naming only credentials of this client. Undefined when the body does not hold it.
 */
function readAuthMethods(tenant: Tenant, client: Client, body: unknown, scopes: readonly string[]): Client['client_authentication_methods'] | null | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const raw = (body as Record<string, unknown>).client_authentication_methods;
  if (raw === undefined) return undefined;
  if (!scopes.includes(CREDENTIALS_UPDATE_SCOPE)) throw fail(insufficientScope(CREDENTIALS_UPDATE_SCOPE));
  if ((body as Record<string, unknown>).token_endpoint_auth_method !== undefined) throw fail(AUTH_METHODS_EXCLUSIVE);
  if (raw === null) return null;
  const r = new BodyReader({ client_authentication_methods: raw }, ['client_authentication_methods']).object('client_authentication_methods', ['private_key_jwt']);
  const pkj = r?.object('private_key_jwt', ['credentials']);
  if (!pkj) return {};
  const ids = (pkj.objects('credentials', ['id'], { required: true }) ?? []).map((c) => c.string('id', { min: 1, required: true }));
  for (const credId of ids) if (tenant.credentials.get(credId)?.client_id !== client.client_id) throw fail(FOREIGN_CREDENTIAL);
  return { private_key_jwt: { credentials: [...new Set(ids)].map((credId) => ({ id: credId })) } };
}

function withoutAuthMethods(body: unknown): Record<string, unknown> {
  const { client_authentication_methods: _methods, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** PATCH semantics: top-level fields replace the stored ones (so `token_exchange` as a whole). */
export function patchClient(tenant: Tenant, id: string, body: unknown, scopes: readonly string[] = []): Client {
  const client = findClient(tenant, id);
  const methods = readAuthMethods(tenant, client, body, scopes);
  const fields = readClientFields(methods === undefined ? body : withoutAuthMethods(body), false);
  checkEligible({ ...client, ...fields });
  Object.assign(client, fields);
  // The two are mutually exclusive: Private Key JWT leaves no token_endpoint_auth_method, and a secret
  // method (or none) set later ends Private Key JWT.
  if (methods === null) delete client.client_authentication_methods;
  else if (methods !== undefined) {
    client.client_authentication_methods = methods;
    client.token_endpoint_auth_method = null;
  } else if (fields.token_endpoint_auth_method !== undefined) delete client.client_authentication_methods;
  // A public client made confidential needs a secret, as every Auth0 application has one.
  if (client.token_endpoint_auth_method !== 'none' && client.client_secret === undefined) client.client_secret = newSecret();
  if (methods === null && client.token_endpoint_auth_method === null) client.token_endpoint_auth_method = 'client_secret_post';
  return client;
}

export function createClient(tenant: Tenant, body: unknown): Client {
  const fields = readClientFields(body, true);
  const appType = fields.app_type ?? 'regular_web';
  const publicApp = appType === 'native' || appType === 'spa';
  const authMethod: TokenEndpointAuthMethod = fields.token_endpoint_auth_method ?? (publicApp ? 'none' : 'client_secret_post');
  const client: Client = {
    client_id: newClientId(),
    name: fields.name!,
    app_type: appType,
    // Auth0's defaults for an application created through the API.
    is_first_party: true,
    oidc_conformant: false,
    token_endpoint_auth_method: authMethod,
    grant_types: DEFAULT_GRANTS[appType],
    callbacks: [],
    client_metadata: {},
    ...fields,
    ...(authMethod === 'none' ? {} : { client_secret: newSecret() }),
  };
  checkEligible(client);
  tenant.clients.set(client.client_id, client);
  return client;
}

export const clientRoutes: Route[] = [
  {
    method: 'GET', pattern: '/api/v2/clients', scope: 'read:clients',
    handle: ({ tenant, req }) => json(200, offsetList('clients', [...tenant.clients.values()].map((c) => selectFields(clientView(c), req.query)), req.query)),
  },
  {
    method: 'GET', pattern: '/api/v2/clients/:id', scope: 'read:clients',
    handle: ({ tenant, req, params }) => json(200, selectFields(clientView(findClient(tenant, params.id!)), req.query)),
  },
  {
    method: 'PATCH', pattern: '/api/v2/clients/:id', scope: 'update:clients',
    handle: ({ tenant, req, params, scopes }) => json(200, clientView(patchClient(tenant, params.id!, req.body, scopes))),
  },
  {
    // Auth0 shows a new confidential client's secret in the creation answer, the one chance to learn it.
    method: 'POST', pattern: '/api/v2/clients', scope: 'create:clients',
    handle: ({ tenant, req }) => json(201, createClient(tenant, req.body)),
  },
];
