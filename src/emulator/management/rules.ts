/**
 * The Management API's limits, defaults and answers in one place. Entries marked CHOICE are where
 * Auth0 documents nothing and the emulator picked a behaviour (docs/emulator-management.md explains
 * each); correcting one after a finding on a real tenant means editing one line here.
 */
import { SUPPORTED_RUNTIMES } from '../action-runtime.js';
import type { ErrorChoice } from '../behaviour.js';
import type { ErrorAnswer } from './errors.js';

// ---- Actions ----

export const CTE_TRIGGER = { id: 'custom-token-exchange', version: 'v1' } as const;
export const POST_LOGIN_TRIGGER = { id: 'post-login', version: 'v3' } as const;
/**
 * The triggers the emulator knows (`GET /api/v2/actions/triggers`). Custom Token Exchange Actions
 * are attached by Token Exchange Profiles (entity-bound); post-login Actions by trigger bindings.
 */
export const ACTION_TRIGGERS = [
  { ...CTE_TRIGGER, binding_policy: 'entity-bound' },
  { ...POST_LOGIN_TRIGGER, binding_policy: 'trigger-bound' },
] as const;
/** ActionBindingRefTypeEnum. */
export const BINDING_REF_TYPES = ['binding_id', 'action_id', 'action_name'] as const;
/** The runtimes the Action runner builds (node22, node18); others are refused at the API. */
export const ACTION_RUNTIMES = SUPPORTED_RUNTIMES;
/** Auth0's default for new Actions. */
export const DEFAULT_ACTION_RUNTIME = 'node22';
/** CHOICE: Auth0 documents no maximum for an Action's name. */
export const ACTION_NAME_MAX = 255;
export const SECRET_NAME_MAX = 128;
export const SECRET_VALUE_MAX = 4096;
/** The `id` of the entry in `errors` that a failed build shows (CHOICE: the Action object has no `errors` in Auth0). */
export const BUILD_ERROR_ID = 'build_failed';

// ---- Token Exchange Profiles ----

export const PROFILE_TYPE = 'custom_authentication';
export const PROFILE_NAME_LENGTH = { min: 3, max: 50 } as const;
export const SUBJECT_TOKEN_TYPE_LENGTH = { min: 8, max: 100 } as const;
/** The schema's maxLength for `action_id` (a UUID). */
export const PROFILE_ACTION_ID_MAX = 36;
export const MAX_PROFILES = 100;

// ---- Clients and connections ----

/**
 * The values `token_exchange.allow_any_profile_of_type` may hold (Management API reference,
 * ClientTokenExchangeTypeEnum: On-Behalf-Of is GA, custom_authentication is Early Access).
 */
export const CLIENT_PROFILE_TYPES = ['custom_authentication', 'on_behalf_of_token_exchange'] as const;
export const CONNECTION_CLIENTS_PATCH_MAX = 50;
/** ConnectionName: starts and ends with a letter or digit, letters, digits and single `-` between; ≤ 128. */
export const CONNECTION_NAME_PATTERN = /^[a-zA-Z0-9](?:-[a-zA-Z0-9]|[a-zA-Z0-9])*$/;
export const CONNECTION_NAME_MAX = 128;
/** CHOICE: the emulator models database connections only; other strategies are refused (400). */
export const CONNECTION_STRATEGIES = ['auth0'] as const;
export const IDENTIFIER_ATTRIBUTES = ['email', 'phone_number', 'username'] as const;
/** SignupStatusEnum of the Management API. */
export const SIGNUP_STATUSES = ['required', 'optional', 'inactive'] as const;
/** "Adding Username for Database Connections" § Username length: default 1–15, configurable up to 128. */
export const USERNAME_DEFAULT_LENGTH = { min: 1, max: 15 } as const;
export const USERNAME_LENGTH_LIMIT = { min: 1, max: 128 } as const;
/** Same page § Allowed characters: letters (no accents), digits and @ ^ $ . ! ` - # + ' ~ _. */
export const USERNAME_CHARACTERS = /^[A-Za-z0-9@^$.!`\-#+'~_]+$/;

// ---- Pagination ----

export const PAGE = { perPageDefault: 50, perPageMax: 100, takeDefault: 50, takeMax: 100 } as const;

// ---- Attack protection ----

export const THROTTLING_STAGES = ['pre-login', 'pre-user-registration', 'pre-custom-token-exchange'] as const;
export const THROTTLING_SHIELDS = ['block', 'admin_notification'] as const;
/** CHOICE: Auth0 documents no range; both are positive integers (rate in milliseconds). */
export const THROTTLING_LIMITS = { maxAttempts: { min: 1, max: 2_147_483_647 }, rate: { min: 1, max: 2_147_483_647 } } as const;

// ---- Answers ----

const answer = (status: number, message: string, errorCode?: string): ErrorAnswer =>
  errorCode === undefined ? { status, message } : { status, message, errorCode };

export const MISSING_AUTHENTICATION = answer(401, 'Missing authentication');
export const INVALID_TOKEN = answer(401, 'Invalid token');
export const EXPIRED_TOKEN = answer(401, 'Expired token received for JSON Web Token validation');
export const insufficientScope = (scope: string): ErrorAnswer =>
  answer(403, `Insufficient scope, expected any of: ${scope}`, 'insufficient_scope');

/** Auth0 (hapi) answers an unknown path — and a known path with another method — with a plain 404. */
export const NO_ROUTE = answer(404, 'Not Found');

export const NO_CLIENT = answer(404, 'The client does not exist', 'inexistent_client');
export const NO_RESOURCE_SERVER = answer(404, 'The resource server does not exist', 'inexistent_resource_server');
/**
 * "Migrate to Management API Connection Options Scopes": a PATCH of a connection whose body holds
 * `options` fails without update:connections_options. Status 403 "Forbidden" and the message's start
 * are quoted in Auth0's community notice "End-of-life Rollout for Allow Connections Management without
 * Options Scopes"; CHOICE: the message's end and the errorCode (cut off there).
 */
export const CONNECTION_OPTIONS_UPDATE_SCOPE = answer(403,
  'Updating the "options" property requires the "update:connections_options" scope', 'insufficient_scope');
/** The scopes that show and change a connection's `options` (same page). */
export const CONNECTION_OPTIONS_SCOPES = { read: 'read:connections_options', update: 'update:connections_options' } as const;
export const NO_CONNECTION = answer(404, 'The connection does not exist', 'inexistent_connection');
/** CHOICE: the text and errorCode of a duplicate connection name are not documented; 409 as for other duplicates. */
export const DUPLICATE_CONNECTION = answer(409, 'A connection with the same name already exists', 'connection_conflict');
export const NO_USER = answer(404, 'The user does not exist.', 'inexistent_user');
/** `POST /api/v2/users` with an email (or username, user_id) already used in the connection: Auth0's answer. */
export const USER_EXISTS = answer(409, 'The user already exists.', 'auth0_idp_error');
/** CHOICE: `POST /api/v2/users` naming a connection the tenant does not have (400; text ours). */
export const USER_CONNECTION_MISSING = answer(400, 'The connection does not exist.', 'inexistent_connection');
/** CHOICE: text and missing errorCode for Actions and profiles are not known. */
export const NO_ACTION = answer(404, 'The action does not exist.');
export const NO_PROFILE = answer(404, 'The token exchange profile does not exist.');

/** Auth0's text, seen in the Deploy CLI and Terraform issues; status 400, no errorCode known. */
export const DEPLOY_NOT_BUILT = answer(400, "A draft must be in the 'built' state before it can be deployed.");
/** CHOICE: 409, like the other duplicates. */
export const DUPLICATE_ACTION_NAME = answer(409, 'An action with this name already exists.');
/** CHOICE: Auth0 refuses deleting an Action a profile uses; the status and text are ours. */
export const ACTION_IN_USE = answer(409, 'The action is used by a token exchange profile; delete the profile first.');
/** "An action must be unbound from all triggers before it can be deleted" (or `?force=true`); status and text are ours (CHOICE). */
export const ACTION_BOUND = answer(409, 'The action is bound to a trigger; unbind it first or delete with force=true.');
/** CHOICE: a trigger id the emulator does not know, in a bindings path. */
export const NO_TRIGGER = answer(404, 'The trigger does not exist.');
/** CHOICE: Custom Token Exchange Actions are bound by profiles, not through the bindings API. */
export const ENTITY_BOUND_TRIGGER = answer(400, 'Bindings of this trigger are managed by Auth0 (binding_policy entity-bound); use a token exchange profile.', 'invalid_body');
/** CHOICE: 400 for a binding whose Action is missing, of another trigger, not deployed, or bound twice. */
export const bindingRefused = (detail: string): ErrorAnswer => answer(400, detail, 'invalid_body');

export const DUPLICATE_RESOURCE_SERVER = answer(409, 'A resource server with the same identifier already exists');
/** Documented 409 on create; the text names the subject_token_type. */
export const duplicateSubjectTokenType = (value: string): ErrorAnswer =>
  answer(409, `A token exchange profile with subject_token_type "${value}" already exists.`);
/** On PATCH the same conflict is documented as a 400 (Update an existing token exchange profile § Responses). */
export const duplicateSubjectTokenTypeOnUpdate = (value: string): ErrorAnswer =>
  answer(400, `A token exchange profile with subject_token_type "${value}" already exists.`, 'invalid_body');
/** CHOICE: 400 for a profile whose Action is missing, of another trigger, or not deployed. */
export const profileActionRefused = (detail: string): ErrorAnswer => answer(400, detail, 'invalid_body');
/** 403 when the tenant already has MAX_PROFILES profiles (documented "entity limit" answer; the text is ours). */
export const TOO_MANY_PROFILES = answer(403, `The tenant already has the maximum of ${MAX_PROFILES} token exchange profiles.`);
/** CHOICE: 400 when token_exchange is set on a third-party or non-OIDC-conformant client. */
export const CLIENT_NOT_ELIGIBLE = answer(
  400,
  'Custom Token Exchange requires a first-party (is_first_party: true), OIDC-conformant (oidc_conformant: true) client.',
  'invalid_body',
);

// ---- Users the Action creates (answers on /oauth/token, not the Management API) ----

/**
 * CHOICE: the exchange's answer when the connection refuses the user an Action's
 * setUserByConnection would create or update (a required attribute missing, a username Auth0 would
 * refuse, an email or username already taken, a phone number the connection does not take). Auth0
 * documents the rules, not the answer; like the emulator's other refusals of the user an Action set
 * (behaviour.ts), it is 403 `access_denied`, the description naming the rule.
 */
export const CONNECTION_REFUSED_USER: ErrorChoice = {
  status: 403,
  error: 'access_denied',
  description: 'The connection refused the user set by the Action: ',
};
/**
 * CHOICE: `disable_signup` ("prevents new user registration through this connection") does NOT
 * block Custom Token Exchange's create_if_not_exists; Auth0 does not say whether it does.
 */
export const DISABLE_SIGNUP_BLOCKS_EXCHANGE_CREATION = false;

// ---- RBAC (roles and permissions) ----

/** CHOICE: Auth0 documents no maxima for a role's name and description. */
export const ROLE_NAME_MAX = 255;
export const ROLE_DESCRIPTION_MAX = 255;
/** CHOICE: Auth0 documents only the minimum (1) of a permissions array. */
export const ROLE_PERMISSIONS_MAX = 1000;
export const NO_ROLE = answer(404, 'The role does not exist.', 'inexistent_role');
/** CHOICE: 409 like the other duplicates; text ours. */
export const DUPLICATE_ROLE = answer(409, 'A role with the same name already exists.', 'role_conflict');
/** CHOICE: a permission the API does not define; 400, text ours. */
export const noPermission = (name: string, api: string): ErrorAnswer =>
  answer(400, `Permission ${name} is not defined by the resource server ${api}.`, 'invalid_body');
// ---- Application credentials and client grants (issue 12 §4) ----

/** ClientCredentialAlgorithmEnum / PublicKeyCredentialAlgorithmEnum: "Supported algorithms: RS256,RS384,PS256"; default RS256. */
export const CREDENTIAL_ALGS = ['RS256', 'RS384', 'PS256'] as const;
/** CHOICE: only `public_key` credentials are modelled (`x509_cert`, `cert_subject_dn` are mTLS/JAR). */
export const CREDENTIAL_TYPES = ['public_key'] as const;
/** "Credential Settings": at most 2 credentials per application. */
export const MAX_CREDENTIALS = 2;
export const NO_CREDENTIAL = answer(404, 'The credential does not exist', 'inexistent_credential');
/** CHOICE: the text of the third credential's refusal. */
export const TOO_MANY_CREDENTIALS = answer(400, `An application can have at most ${MAX_CREDENTIALS} credentials`, 'too_many_credentials');
/** CHOICE: texts of a PEM that is no RSA public key. */
export const BAD_CREDENTIAL_PEM = answer(400, 'The pem is not a valid RSA public key (SPKI or PKCS#1) or X.509 certificate', 'invalid_body');
/** "client_authentication_methods and token_endpoint_auth_method properties are mutually exclusive". */
export const AUTH_METHODS_EXCLUSIVE = answer(400, 'client_authentication_methods and token_endpoint_auth_method are mutually exclusive', 'invalid_body');
/** "only specify the credential IDs that were generated when creating the credentials on the client". */
export const FOREIGN_CREDENTIAL = answer(400, 'client_authentication_methods.private_key_jwt.credentials must name credentials of this client', 'invalid_body');
/** "To configure client_authentication_methods, the update:client_credentials scope is required." */
export const CREDENTIALS_UPDATE_SCOPE = 'update:client_credentials';
export const NO_CLIENT_GRANT = answer(404, 'The client grant does not exist', 'inexistent_client_grant');
/** CHOICE: texts of a duplicate grant and of a grant for an unknown API. */
export const DUPLICATE_CLIENT_GRANT = answer(409, 'A client grant for this client and audience already exists', 'conflict');
export const CLIENT_GRANT_NO_API = answer(404, 'No resource server found for the audience', 'inexistent_resource_server');
