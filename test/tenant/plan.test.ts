/** The plan's rules, on snapshots built by hand (no HTTP), and the Action's secrets marker. */
import { describe, expect, it } from 'vitest';
import {
  actionSecrets, deployedAllowedKeys, deployedIdentity, desiredAction, markerAllowedKeys, markerDigest, markerIdentity, parseAllowedKeys,
  parseIdentity, secretsDigest, stripMarker, withMarker, type ActionSource, type IdentityPolicy,
} from '../../src/tenant/action-bundle.js';
import { DEFAULT_POLL } from '../../src/tenant/action-deploy.js';
import { applyPlan } from '../../src/tenant/apply.js';
import type { ManagementClient } from '../../src/tenant/management-client.js';
import { applicationChanges, LOOPBACK_CALLBACKS, planSetup, planView, scopesNeeded, type Plan, type SetupInputs } from '../../src/tenant/plan.js';
import type { OmniAuthError } from '../../src/util/errors.js';
import { ManagementApiError } from '../../src/tenant/management-errors.js';
import type { ActionRecord, ConnectionRecord } from '../../src/tenant/records.js';
import { DEFAULT_CONNECTION } from '../../src/cli/admin-options.js';
import { MACHINES_CONNECTION, MACHINES_OPTIONS, connectionOptionChanges, usernameIsIdentifier } from '../../src/tenant/connection.js';
import { loginCommand } from '../../src/tenant/setup.js';
import type { TenantSnapshot } from '../../src/tenant/snapshot.js';

const SOURCE = "'use strict';\nexports.onExecuteCustomTokenExchange = async () => {};\n";
const ACTION: ActionSource = { code: SOURCE, dependencies: [{ name: 'jose', version: '6.2.18' }] };
const DESIRED = desiredAction(ACTION, 'https://t.example.com/', 'Username-Password-Authentication', []);
const INPUTS: SetupInputs = {
  domain: 'https://t.example.com', issuer: 'https://t.example.com/', audience: 'https://api.example.com', clientId: 'cli',
  appName: 'omni-auth', connection: 'Username-Password-Authentication', subjectTokenType: 'urn:omnispindle:local-auth',
  profileName: 'omnispindle-local-auth', actionName: 'omni-auth-custom-token-exchange', action: ACTION,
};
const K1 = 'A'.repeat(43);
const K2 = 'b'.repeat(43);
/** The Action as setup deploys it with this allow-list. */
const withKeys = (keys: string[]) => desiredAction(ACTION, INPUTS.issuer, INPUTS.connection, keys);

const liveAction = (overrides: Partial<ActionRecord> = {}): ActionRecord => ({
  id: 'act1', name: INPUTS.actionName, code: DESIRED.code, runtime: 'node22', dependencies: DESIRED.dependencies,
  secrets: [{ name: 'CONNECTION' }, { name: 'ISSUER' }, { name: 'IDENTITY' }], status: 'built', all_changes_deployed: true,
  deployed_version: { id: 'v1', number: 1, deployed: true }, ...overrides,
});

/** A tenant setup has already provisioned. */
const done = (overrides: Partial<TenantSnapshot> = {}): TenantSnapshot => ({
  api: { id: 'rs1', identifier: INPUTS.audience, skip_consent_for_verifiable_first_party_clients: true, allow_offline_access: true },
  client: {
    client_id: 'cli', name: 'omni-auth', app_type: 'native', is_first_party: true, oidc_conformant: true, token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'], callbacks: ['http://127.0.0.1:8765/callback', 'http://localhost:8765/callback'],
    token_exchange: { allow_any_profile_of_type: ['custom_authentication'] },
  },
  clientFoundBy: 'id',
  action: liveAction(),
  profiles: [{ id: 'tep_1', name: INPUTS.profileName, subject_token_type: INPUTS.subjectTokenType, action_id: 'act1', type: 'custom_authentication' }],
  connection: { id: 'con_1', name: INPUTS.connection },
  connectionEnabled: true,
  ...overrides,
});

const changes = (snapshot: TenantSnapshot, inputs = INPUTS) =>
  Object.fromEntries(planSetup(snapshot, inputs).steps.map((s) => [s.resource, [s.change, ...s.fields]]));

describe('planSetup', () => {
  it('a provisioned tenant: every step unchanged, nothing needs a scope', () => {
    const plan = planSetup(done(), INPUTS);
    expect(plan.steps.map((s) => s.change)).toEqual(Array(6).fill('unchanged'));
    expect(plan.blockers).toEqual([]);
    expect(scopesNeeded(plan)).toEqual([]);
  });

  it('an empty tenant: everything is created or updated, in the order of the issue', () => {
    const plan = planSetup({ profiles: [], clientFoundBy: 'none', connection: { id: 'con_1', name: INPUTS.connection }, connectionEnabled: false }, { ...INPUTS, clientId: undefined } as SetupInputs);
    expect(plan.steps.map((s) => [s.resource, s.change])).toEqual([
      ['api', 'create'], ['application', 'create'], ['action', 'create'], ['profile', 'create'], ['token_exchange', 'update'], ['connection', 'update'],
    ]);
    expect(scopesNeeded(plan).sort()).toEqual([
      'create:actions', 'create:clients', 'create:resource_servers', 'create:token_exchange_profiles', 'update:clients', 'update:connections',
    ]);
  });

  it('names the fields that differ', () => {
    const c = changes(done({
      api: { id: 'rs1', identifier: INPUTS.audience, skip_consent_for_verifiable_first_party_clients: false, allow_offline_access: true },
      client: { client_id: 'cli', name: 'x', app_type: 'regular_web', is_first_party: true, oidc_conformant: false, token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'] },
      connectionEnabled: false,
    }));
    expect(c.api).toEqual(['update', 'skip_consent_for_verifiable_first_party_clients']);
    expect(c.application).toEqual(['update', 'app_type', 'oidc_conformant', 'token_endpoint_auth_method', 'grant_types', 'callbacks']);
    expect(c.token_exchange).toEqual(['update', 'allow_any_profile_of_type']);
    expect(c.connection).toEqual(['update', 'enabled_clients']);
  });

  it('Action: code, dependencies, runtime and secrets are each detected', () => {
    expect(changes(done({ action: liveAction({ code: withMarker(`${SOURCE}// v2\n`, DESIRED.secretsDigest, [], 'person') }) })).action).toEqual(['update', 'code']);
    expect(changes(done({ action: liveAction({ dependencies: [{ name: 'jose', version: '6.0.0' }] }) })).action).toEqual(['update', 'dependencies']);
    expect(changes(done({ action: liveAction({ runtime: 'node18' }) })).action).toEqual(['update', 'runtime']);
    // Same names, other values: only the marker tells.
    const other = secretsDigest(actionSecrets('https://t.example.com/', 'other-db', [], 'person'));
    expect(changes(done({ action: liveAction({ code: withMarker(SOURCE, other, [], 'person') }) })).action).toEqual(['update', 'secrets']);
    // An Action deployed without a marker (by hand, or by an older omni-auth) and without IDENTITY.
    expect(changes(done({ action: liveAction({ code: SOURCE, secrets: [{ name: 'CONNECTION' }, { name: 'ISSUER' }] }) })).action).toEqual(['update', 'secrets']);
    expect(changes(done({ action: liveAction({ secrets: [{ name: 'ISSUER' }] }) })).action).toEqual(['update', 'secrets']);
    expect(changes(done({ action: liveAction({ status: 'failed' }) })).action).toEqual(['update', 'build failed']);
  });

  it('Action: right but not live → deploy', () => {
    expect(changes(done({ action: liveAction({ all_changes_deployed: false }) })).action).toEqual(['deploy', 'undeployed changes']);
    expect(changes(done({ action: liveAction({ deployed_version: undefined, all_changes_deployed: false }) })).action).toEqual(['deploy', 'never deployed']);
  });

  it('profile: renamed, re-pointed to a new subject token type, or blocked by another Action\'s profile', () => {
    const ours = done().profiles[0]!;
    expect(changes(done({ profiles: [{ ...ours, name: 'old-name' }] })).profile).toEqual(['update', 'name']);
    expect(changes(done(), { ...INPUTS, subjectTokenType: 'urn:example:new' }).profile).toEqual(['update', 'subject_token_type']);

    const taken = done({
      profiles: [{ ...ours, id: 'tep_9', name: 'someone-elses', action_id: 'act9' }],
      profileHolderAction: { id: 'act9', name: 'their-action' },
    });
    const plan = planSetup(taken, INPUTS);
    expect(plan.steps[3]).toMatchObject({ resource: 'profile', change: 'blocked' });
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]!.code).toBe('profile_conflict');
    expect(plan.blockers[0]!.message).toContain('"someone-elses" (tep_9)');
    expect(plan.blockers[0]!.message).toContain('"their-action"');
    expect(plan.blockers[0]!.exitCode).toBe(3);
  });

  it('a missing connection is created (the machines\' connection), no longer a blocker', () => {
    const plan = planSetup(done({ connection: undefined, connectionEnabled: false }), INPUTS);
    expect(plan.steps[5]).toMatchObject({ resource: 'connection', change: 'create', fields: ['strategy', 'options.attributes', 'options.disable_signup', 'enabled_clients'] });
    expect(plan.blockers).toEqual([]);
    expect(scopesNeeded(plan)).toEqual(['create:connections', 'update:connections']);
  });
});

describe('the machines\' connection (CONTRACTS §1)', () => {
  const MINPUTS: SetupInputs = { ...INPUTS, connection: MACHINES_CONNECTION };
  /** The tenant provisioned for the machines' connection: the Action's CONNECTION secret names it. */
  const doneM = (overrides: Partial<TenantSnapshot> = {}): TenantSnapshot =>
    done({ action: liveAction({ code: desiredAction(ACTION, INPUTS.issuer, MACHINES_CONNECTION, []).code }), ...overrides });
  const right = (overrides: Partial<ConnectionRecord> = {}): ConnectionRecord =>
    ({ id: 'con_m', name: MACHINES_CONNECTION, strategy: 'auth0', options: structuredClone(MACHINES_OPTIONS) as ConnectionRecord['options'], ...overrides });

  /** A ManagementClient that records writes and answers a POST /connections with an id. */
  function recorder() {
    const calls: Array<[string, string, unknown]> = [];
    const mc = {
      writes: 0,
      post: async (path: string, body: unknown) => { calls.push(['POST', path, body]); return { id: 'con_new', name: MACHINES_CONNECTION }; },
      patch: async (path: string, body: unknown) => { calls.push(['PATCH', path, body]); return {}; },
      get: async () => { throw new Error('no reads expected'); },
    } as unknown as ManagementClient;
    return { mc, calls };
  }

  it('the CLI\'s default connection is the machines\' connection, and the Action\'s CONNECTION secret names it', () => {
    expect(DEFAULT_CONNECTION).toBe(MACHINES_CONNECTION);
    expect(MACHINES_CONNECTION).toBe('omni-auth-machines');
    const plan = planSetup(doneM({ connection: right() }), MINPUTS);
    expect(plan.action.secrets).toContainEqual({ name: 'CONNECTION', value: 'omni-auth-machines' });
  });

  it('missing: POST /connections with the Flexible Identifiers options (username only, sign-ups off), then enabled for the CLI only', async () => {
    const plan = planSetup(doneM({ connection: undefined, connectionEnabled: false }), MINPUTS);
    const { mc, calls } = recorder();
    await applyPlan(plan, mc, () => {}, DEFAULT_POLL);
    expect(calls).toEqual([
      ['POST', '/connections', {
        name: 'omni-auth-machines', strategy: 'auth0',
        options: {
          attributes: { username: {
            identifier: { active: true }, profile_required: true, signup: { status: 'required' },
            validation: { min_length: 1, max_length: 64, allowed_types: { email: false, phone_number: false } },
          } },
          disable_signup: true,
        },
      }],
      ['PATCH', '/connections/con_new/clients', [{ client_id: 'cli', status: true }]],
    ]);
  });

  it('right and enabled: unchanged, no request (a second setup run writes nothing)', async () => {
    const plan = planSetup(doneM({ connection: right() }), MINPUTS);
    expect(plan.steps[5]).toMatchObject({ change: 'unchanged', fields: [] });
    const { mc, calls } = recorder();
    await applyPlan(plan, mc, () => {}, DEFAULT_POLL);
    expect(calls).toEqual([]);
  });

  it('other options: an update that PATCHes the FULL options (PATCH replaces them), keeping the tenant\'s own and dropping what Auth0 refuses next to attributes', async () => {
    const existing = right({
      options: { requires_username: true, validation: { username: { min: 1, max: 15 } }, passwordPolicy: 'good', brute_force_protection: true },
    });
    const plan = planSetup(doneM({ connection: existing, connectionEnabled: false }), MINPUTS);
    expect(plan.steps[5]).toMatchObject({
      change: 'update', fields: ['options.attributes', 'options.disable_signup', 'options.requires_username', 'options.validation', 'enabled_clients'],
    });
    expect(scopesNeeded(plan)).toEqual(['update:connections', 'update:connections_options']);
    const { mc, calls } = recorder();
    await applyPlan(plan, mc, () => {}, DEFAULT_POLL);
    expect(calls).toEqual([
      ['PATCH', '/connections/con_m', { options: { passwordPolicy: 'good', brute_force_protection: true, ...MACHINES_OPTIONS } }],
      ['PATCH', '/connections/con_m/clients', [{ client_id: 'cli', status: true }]],
    ]);
  });

  it('options not shown (no read:connections_options): a blocker naming the scope, never a PATCH that would wipe them', () => {
    const plan = planSetup(doneM({ connection: { id: 'con_m', name: MACHINES_CONNECTION, strategy: 'auth0' } }), MINPUTS);
    expect(plan.steps[5]).toMatchObject({ change: 'blocked', fields: ['options unreadable'] });
    expect(plan.blockers.map((b) => [b.code, b.exitCode])).toEqual([['connection_options_unreadable', 3]]);
    expect(plan.blockers[0]!.hint).toContain('read:connections_options');
    // Another connection's options are not setup's business: no blocker for it.
    expect(planSetup(done({ connection: { id: 'con_1', name: INPUTS.connection } }), INPUTS).blockers).toEqual([]);
  });

  it('only max_length differs: one options update', () => {
    const attrs = structuredClone(MACHINES_OPTIONS.attributes) as { username: { validation: { max_length: number } } };
    attrs.username.validation.max_length = 15;
    const plan = planSetup(doneM({ connection: right({ options: { attributes: attrs, disable_signup: true } }) }), MINPUTS);
    expect(plan.steps[5]).toMatchObject({ change: 'update', fields: ['options.attributes'] });
  });

  it('a connection named by --connection that is not the dedicated one: only enabled, its options never rewritten', async () => {
    const plan = planSetup(done({ connection: { id: 'con_1', name: INPUTS.connection, options: { requires_username: false } }, connectionEnabled: false }), INPUTS);
    expect(plan.steps[5]).toMatchObject({ change: 'update', fields: ['enabled_clients'] });
    const { mc, calls } = recorder();
    await applyPlan(plan, mc, () => {}, DEFAULT_POLL);
    expect(calls).toEqual([['PATCH', '/connections/con_1/clients', [{ client_id: 'cli', status: true }]]]);
  });

  it('usernameIsIdentifier and connectionOptionChanges read the options as the API returns them', () => {
    expect(usernameIsIdentifier(right())).toBe(true);
    expect(usernameIsIdentifier({ id: 'c', name: 'x' })).toBe(false);
    expect(usernameIsIdentifier({ id: 'c', name: 'x', options: { requires_username: true } })).toBe(false);
    expect(connectionOptionChanges(right())).toEqual([]);
    // key order does not matter
    const reordered = { disable_signup: true, attributes: { username: { validation: { allowed_types: { phone_number: false, email: false }, max_length: 64, min_length: 1 }, signup: { status: 'required' }, profile_required: true, identifier: { active: true } } } };
    expect(connectionOptionChanges(right({ options: reordered }))).toEqual([]);
  });
});

describe('the secrets marker', () => {
  it('is appended once, replaced (not stacked) and read back', () => {
    const once = withMarker(SOURCE, 'a'.repeat(64));
    const twice = withMarker(once, 'b'.repeat(64));
    expect(markerDigest(once)).toBe('a'.repeat(64));
    expect(markerDigest(twice)).toBe('b'.repeat(64));
    expect(twice.match(/omni-auth:secrets-sha256/g)).toHaveLength(1);
    expect(stripMarker(twice)).toBe(SOURCE.trimEnd());
    expect(markerDigest(SOURCE)).toBeUndefined();
  });

  it('the digest is of the canonical secrets: order-independent, value-sensitive', () => {
    const a = secretsDigest([{ name: 'ISSUER', value: 'x' }, { name: 'CONNECTION', value: 'y' }]);
    expect(secretsDigest([{ name: 'CONNECTION', value: 'y' }, { name: 'ISSUER', value: 'x' }])).toBe(a);
    expect(secretsDigest([{ name: 'CONNECTION', value: 'z' }, { name: 'ISSUER', value: 'x' }])).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ALLOWED_KEYS only when given, sorted and de-duplicated; anything else than thumbprints is refused', () => {
    const k1 = 'A'.repeat(43);
    const k2 = 'b'.repeat(43);
    expect(parseAllowedKeys('')).toEqual([]);
    expect(parseAllowedKeys(' , ')).toEqual([]);
    expect(parseAllowedKeys(` ${k2}, ${k1},${k2} `)).toEqual([k1, k2]);
    expect(actionSecrets('i', 'c', [k1]).map((s) => s.name)).toEqual(['ISSUER', 'CONNECTION', 'ALLOWED_KEYS', 'IDENTITY']);
    expect(() => parseAllowedKeys('not-a-thumbprint')).toThrow(/not a key thumbprint/);
  });
});

describe('the allow-list (ALLOWED_KEYS) is kept unless --allowed-keys is given', () => {
  const deployedWith = (keys: string[]) => {
    const d = withKeys(keys);
    return liveAction({ code: d.code, secrets: d.secrets.map((x) => ({ name: x.name })) });
  };

  it('the marker records it on a line of its own, read back; stripMarker removes both lines', () => {
    const d = withKeys([K2, K1, K2]);
    expect(d.allowedKeys).toEqual([K1, K2]);
    expect(d.code.endsWith(`\n\n// omni-auth:allowed-keys=${K1},${K2}\n// omni-auth:identity=person\n// omni-auth:secrets-sha256=${d.secretsDigest}\n`)).toBe(true);
    expect(markerAllowedKeys(d.code)).toEqual([K1, K2]);
    expect(markerDigest(d.code)).toBe(d.secretsDigest);
    expect(stripMarker(d.code)).toBe(SOURCE.trimEnd());
    expect(stripMarker(withMarker(d.code, d.secretsDigest))).toBe(SOURCE.trimEnd());
    // No allow-list: no line.
    expect(DESIRED.code).toBe(withMarker(SOURCE, DESIRED.secretsDigest, [], 'person'));
    expect(markerAllowedKeys(DESIRED.code)).toEqual([]);
    expect(markerAllowedKeys(SOURCE)).toBeUndefined();
    expect(markerAllowedKeys(d.code.replace(K1, 'not a thumbprint'))).toBeUndefined();
  });

  it('no flag: the deployed list is kept, nothing to change; a flag changes it; [] clears it', () => {
    const snap = done({ action: deployedWith([K1]) });
    const kept = planSetup(snap, INPUTS);
    expect(kept.allowedKeys).toEqual({ keys: [K1], from: 'tenant' });
    expect(kept.action.secrets).toContainEqual({ name: 'ALLOWED_KEYS', value: K1 });
    expect(kept.steps.map((s) => s.change)).toEqual(Array(6).fill('unchanged'));

    const cleared = planSetup(snap, { ...INPUTS, allowedKeys: [] });
    expect(cleared.allowedKeys).toEqual({ keys: [], from: 'flag' });
    expect(cleared.action.secrets.map((x) => x.name)).toEqual(['ISSUER', 'CONNECTION', 'IDENTITY']);
    expect(changes(snap, { ...INPUTS, allowedKeys: [] }).action).toEqual(['update', 'secrets']);
    expect(changes(snap, { ...INPUTS, allowedKeys: [K1, K2] }).action).toEqual(['update', 'secrets']);
    expect(changes(snap, { ...INPUTS, allowedKeys: [K1] }).action).toEqual(['unchanged']);
  });

  it('a new Action, or one without ALLOWED_KEYS, has no allow-list to keep', () => {
    expect(planSetup(done({ action: undefined }), INPUTS).allowedKeys).toEqual({ keys: [], from: 'tenant' });
    expect(planSetup(done(), INPUTS).allowedKeys).toEqual({ keys: [], from: 'tenant' });
    expect(deployedAllowedKeys(liveAction({ code: SOURCE }))).toEqual([]);
  });

  it('an ALLOWED_KEYS secret no marker records (an older deploy, or by hand) blocks a run without the flag', () => {
    const legacy = liveAction({ secrets: [{ name: 'ALLOWED_KEYS' }, { name: 'CONNECTION' }, { name: 'ISSUER' }] });
    expect(deployedAllowedKeys(legacy)).toBeUndefined();
    const plan = planSetup(done({ action: legacy }), INPUTS);
    expect(plan.steps[2]).toMatchObject({ resource: 'action', change: 'blocked', fields: ['ALLOWED_KEYS unknown'] });
    expect(plan.blockers.map((b) => [b.code, b.exitCode])).toEqual([['allowed_keys_unknown', 2]]);
    expect(plan.blockers[0]!.hint).toContain("--allowed-keys ''");
    expect(scopesNeeded(plan)).toEqual([]);
    // With the flag it proceeds, and the new marker records the list from then on.
    const given = planSetup(done({ action: legacy }), { ...INPUTS, allowedKeys: [K1] });
    expect(given.blockers).toEqual([]);
    expect(given.steps[2]).toMatchObject({ change: 'update', fields: ['secrets'] });
    expect(markerAllowedKeys(given.action.code)).toEqual([K1]);
  });
});

describe('the identity policy (IDENTITY) is kept unless --identity is given; a new Action is closed', () => {
  /** An Action as setup deployed it with this policy (the marker records it). */
  const deployedAs = (identity: IdentityPolicy) => {
    const d = desiredAction(ACTION, INPUTS.issuer, INPUTS.connection, [], identity);
    return liveAction({ code: d.code, secrets: d.secrets.map((x) => ({ name: x.name })) });
  };
  const identitySecret = (plan: ReturnType<typeof planSetup>) => plan.action.secrets.find((x) => x.name === 'IDENTITY')?.value;

  it('a new Action gets person, recorded in the marker; the plan view says so', () => {
    const plan = planSetup(done({ action: undefined, profiles: [] }), INPUTS);
    expect(plan.identity).toEqual({ policy: 'person', from: 'new' });
    expect(identitySecret(plan)).toBe('person');
    expect(markerIdentity(plan.action.code)).toBe('person');
    expect(plan.action.code).toMatch(/\n\/\/ omni-auth:identity=person\n\/\/ omni-auth:secrets-sha256=[0-9a-f]{64}\n$/);
    expect(planView(plan).identity).toEqual({ policy: 'person', from: 'new' });
    expect(plan.steps[2]).toMatchObject({ resource: 'action', change: 'create' });
  });

  it('an Action deployed before the policy (no IDENTITY secret) keeps today\'s behaviour: machine, now said explicitly', () => {
    const legacy = liveAction({ code: withMarker(SOURCE, secretsDigest(actionSecrets(INPUTS.issuer, INPUTS.connection, []).filter((x) => x.name !== 'IDENTITY'))), secrets: [{ name: 'CONNECTION' }, { name: 'ISSUER' }] });
    expect(deployedIdentity(legacy)).toBe('machine');
    const plan = planSetup(done({ action: legacy }), INPUTS);
    expect(plan.identity).toEqual({ policy: 'machine', from: 'legacy' });
    expect(identitySecret(plan)).toBe('machine');
    expect(plan.steps[2]).toMatchObject({ change: 'update', fields: ['secrets'] });
    expect(plan.blockers).toEqual([]);
    // Once deployed, the marker records it: the next run keeps machine and changes nothing.
    const after = planSetup(done({ action: deployedAs('machine') }), INPUTS);
    expect(after.identity).toEqual({ policy: 'machine', from: 'tenant' });
    expect(after.steps.map((x) => x.change)).toEqual(Array(6).fill('unchanged'));
  });

  it('an Action without IDENTITY that was never deployed (nothing ran it) is treated as new: person', () => {
    const draft = liveAction({ code: SOURCE, secrets: [{ name: 'CONNECTION' }, { name: 'ISSUER' }], deployed_version: undefined, all_changes_deployed: false });
    expect(deployedIdentity(draft)).toBeUndefined();
    const plan = planSetup(done({ action: draft }), INPUTS);
    expect(plan.identity).toEqual({ policy: 'person', from: 'new' });
    expect(plan.steps[2]).toMatchObject({ change: 'update', fields: ['secrets'] });
  });

  it.each(['person', 'machine', 'both'] as const)('a deployed %s is kept by a run without the flag (nothing to change)', (policy) => {
    const plan = planSetup(done({ action: deployedAs(policy) }), INPUTS);
    expect(plan.identity).toEqual({ policy, from: 'tenant' });
    expect(plan.steps.map((x) => x.change)).toEqual(Array(6).fill('unchanged'));
  });

  it('--identity changes it (an update of the secrets), and is the policy whatever the tenant had', () => {
    const snap = done({ action: deployedAs('both') });
    const plan = planSetup(snap, { ...INPUTS, identity: 'person' });
    expect(plan.identity).toEqual({ policy: 'person', from: 'flag' });
    expect(identitySecret(plan)).toBe('person');
    expect(plan.steps[2]).toMatchObject({ change: 'update', fields: ['secrets'] });
    expect(changes(snap, { ...INPUTS, identity: 'both' }).action).toEqual(['unchanged']);
    const fresh = planSetup(done({ action: undefined, profiles: [] }), { ...INPUTS, identity: 'machine' });
    expect(fresh.identity).toEqual({ policy: 'machine', from: 'flag' });
    expect(identitySecret(fresh)).toBe('machine');
  });

  it('an IDENTITY secret no marker records (set by hand) blocks a run without the flag; with it, setup proceeds', () => {
    const byHand = liveAction({ code: SOURCE, secrets: [{ name: 'CONNECTION' }, { name: 'ISSUER' }, { name: 'IDENTITY' }] });
    expect(deployedIdentity(byHand)).toBe('unknown');
    const plan = planSetup(done({ action: byHand }), INPUTS);
    expect(plan.steps[2]).toMatchObject({ resource: 'action', change: 'blocked', fields: ['IDENTITY unknown'] });
    expect(plan.blockers.map((b) => [b.code, b.exitCode])).toEqual([['identity_unknown', 2]]);
    expect(plan.blockers[0]!.hint).toContain('--identity person');
    expect(planView(plan).identity).toEqual({ policy: 'unknown', from: 'unknown' });
    expect(scopesNeeded(plan)).toEqual([]);
    const given = planSetup(done({ action: byHand }), { ...INPUTS, identity: 'both' });
    expect(given.blockers).toEqual([]);
    expect(given.steps[2]).toMatchObject({ change: 'update', fields: ['secrets'] });
    // Both unknown: both named, both blockers.
    const both = planSetup(done({ action: liveAction({ code: SOURCE, secrets: [{ name: 'ALLOWED_KEYS' }, { name: 'IDENTITY' }] }) }), INPUTS);
    expect(both.steps[2]!.fields).toEqual(['ALLOWED_KEYS unknown', 'IDENTITY unknown']);
    expect(both.blockers.map((b) => b.code)).toEqual(['allowed_keys_unknown', 'identity_unknown']);
  });

  it('markers written before the policy still read (digest, allow-list); a bad identity line is no policy', () => {
    const old = `${SOURCE.trimEnd()}\n\n// omni-auth:allowed-keys=${K1}\n// omni-auth:secrets-sha256=${'c'.repeat(64)}\n`;
    expect(markerDigest(old)).toBe('c'.repeat(64));
    expect(markerAllowedKeys(old)).toEqual([K1]);
    expect(markerIdentity(old)).toBeUndefined();
    expect(stripMarker(old)).toBe(SOURCE.trimEnd());
    const full = withMarker(SOURCE, 'd'.repeat(64), [K1], 'both');
    expect([markerDigest(full), markerAllowedKeys(full), markerIdentity(full)]).toEqual(['d'.repeat(64), [K1], 'both']);
    expect(stripMarker(withMarker(full, 'e'.repeat(64), [], 'machine'))).toBe(SOURCE.trimEnd());
    expect(markerIdentity(full.replace('identity=both', 'identity=anyone'))).toBeUndefined();
    // The digest covers the policy: the same secrets otherwise, another digest.
    expect(secretsDigest(actionSecrets('i', 'c', [], 'person'))).not.toBe(secretsDigest(actionSecrets('i', 'c', [], 'machine')));
  });

  it('--identity accepts the three policies (any case) and refuses anything else with a usage error', () => {
    expect(['person', 'Machine', ' both '].map(parseIdentity)).toEqual(['person', 'machine', 'both']);
    let e: OmniAuthError | undefined;
    try {
      parseIdentity('people');
    } catch (x) {
      e = x as OmniAuthError;
    }
    expect([e?.code, e?.exitCode]).toEqual(['invalid_identity', 2]);
    expect(e?.message).toContain('person, machine, both');
  });
});

describe('the browser sign-in on the application: loopback callbacks and grants, merged', () => {
  const client = (o: Record<string, unknown>) => ({ ...done().client!, ...o });

  it('adds what is missing after the tenant\'s own, never dropping or reordering them', () => {
    const mine = ['https://app.example.com/callback', 'http://127.0.0.1:8765/callback'];
    const c = applicationChanges(client({ callbacks: mine, grant_types: ['implicit', 'refresh_token'] }));
    expect(c.callbacks).toEqual([...mine, 'http://localhost:8765/callback']);
    expect(c.grant_types).toEqual(['implicit', 'refresh_token', 'authorization_code']);
    expect(changes(done({ client: client({ callbacks: mine, grant_types: ['implicit', 'refresh_token'] }) })).application).toEqual(['update', 'grant_types', 'callbacks']);
    // None at all (Auth0 leaves the field out).
    expect(applicationChanges(client({ callbacks: undefined, grant_types: undefined }))).toMatchObject({
      callbacks: [...LOOPBACK_CALLBACKS], grant_types: ['authorization_code', 'refresh_token'],
    });
  });

  it('everything present (in any order, among others): unchanged', () => {
    const all = client({ callbacks: ['http://localhost:8765/callback', 'https://x.example/cb', 'http://127.0.0.1:8765/callback'], grant_types: ['refresh_token', 'password', 'authorization_code'] });
    expect(applicationChanges(all)).toEqual({});
    expect(changes(done({ client: all })).application).toEqual(['unchanged']);
  });

  it('a new application is created with both', () => {
    const plan = planSetup(done({ client: undefined, clientFoundBy: 'none' }), { ...INPUTS, clientId: undefined } as SetupInputs);
    expect(plan.steps[1]).toMatchObject({ resource: 'application', change: 'create', fields: expect.arrayContaining(['grant_types', 'callbacks']) });
  });
});

describe('applyPlan', () => {
  it('an id it cannot account for → setup_internal (exit 1) with a hint, before any request', async () => {
    const plan = planSetup({ profiles: [], clientFoundBy: 'none', connection: { id: 'con_1', name: INPUTS.connection }, connectionEnabled: false }, INPUTS);
    const noRequests = {} as ManagementClient;
    const e = (await applyPlan({ ...plan, steps: [] }, noRequests, () => {}, DEFAULT_POLL).catch((x: unknown) => x)) as OmniAuthError;
    expect([e.code, e.exitCode]).toEqual(['setup_internal', 1]);
    expect(e.hint).toContain('run setup again');
  });
});

describe('loginCommand', () => {
  it('shows an https domain bare, adds a non-default subject token type, and quotes what a shell would split', () => {
    expect(loginCommand('https://t.eu.auth0.com', 'abc', 'https://api.example.com', 'urn:omnispindle:local-auth'))
      .toBe('npx omni-auth login --domain t.eu.auth0.com --client-id abc --audience https://api.example.com');
    expect(loginCommand('http://127.0.0.1:4000', 'abc', "my api's", 'urn:x:y'))
      .toBe(`npx omni-auth login --domain http://127.0.0.1:4000 --client-id abc --audience 'my api'\\''s' --subject-token-type urn:x:y`);
  });
});

describe('applyPlan: the profile API says no', () => {
  const ours = { id: 'tep_1', name: 'old-name', subject_token_type: INPUTS.subjectTokenType, action_id: 'act1', type: 'custom_authentication' };
  const theirs = { id: 'tep_9', name: 'someone-elses', subject_token_type: 'urn:example:new', action_id: 'act9', type: 'custom_authentication' };

  function failingPatch(status: number, profiles: unknown[]) {
    return {
      writes: 0,
      patch: async (path: string) => {
        throw new ManagementApiError('mgmt_refused', `t answered PATCH /api/v2${path} with HTTP ${status}`, status, 'invalid_body', { exitCode: 3 });
      },
      post: async () => ({}),
      get: async () => ({ token_exchange_profiles: profiles }),
      find: async () => ({ id: 'act9', name: 'their-action' }),
    } as unknown as ManagementClient;
  }

  it('a PATCH that answers 400 because another profile took the type since the plan → profile_conflict naming the holder', async () => {
    const inputs = { ...INPUTS, subjectTokenType: 'urn:example:new' };
    const snapshot = done({ profiles: [{ ...ours, name: INPUTS.profileName }], action: liveAction({ code: desiredAction(ACTION, INPUTS.issuer, INPUTS.connection, []).code }) });
    const plan = planSetup(snapshot, inputs);
    expect(plan.steps[3]).toMatchObject({ change: 'update', fields: ['subject_token_type'] });
    const e = (await applyPlan(plan, failingPatch(400, [ours, theirs]), () => {}, DEFAULT_POLL).catch((x: unknown) => x)) as OmniAuthError;
    expect([e.code, e.exitCode]).toEqual(['profile_conflict', 3]);
    expect(e.message).toContain('"someone-elses" (tep_9)');
  });

  it('a 400 with nobody else holding the type stays the API\'s own refusal', async () => {
    const plan = planSetup(done({ profiles: [ours] }), INPUTS);
    expect(plan.steps[3]).toMatchObject({ change: 'update', fields: ['name'] });
    const e = (await applyPlan(plan, failingPatch(400, [ours]), () => {}, DEFAULT_POLL).catch((x: unknown) => x)) as OmniAuthError;
    expect(e.code).toBe('mgmt_refused');
  });
});

describe('scopesNeeded for the CI steps (setup --ci-trust-file)', () => {
  const planOf = (steps: Plan['steps']): Plan => ({ steps } as unknown as Plan);

  it('a service user to create needs read:users (the lookup, GET /users) as well as create:users (POST /users)', () => {
    const scopes = scopesNeeded(planOf([{ resource: 'ci_user', target: 'ci-api', change: 'create', fields: ['connection', 'username'] }]));
    expect(scopes.sort()).toEqual(['create:users', 'read:users']);
  });

  it('a rule naming a user by id needs read:users even when nothing CI changes (the user is looked up before any write)', () => {
    const unchanged: Plan['steps'] = [{ resource: 'ci_action', target: 'a', change: 'unchanged', fields: [] }];
    const rule = { issuer: 'https://token.actions.githubusercontent.com', claims: { repository: 'acme/api' } };
    const withId = { steps: unchanged, ci: { from: 'flag', rules: [{ ...rule, user: 'auth0|abc' }] } } as unknown as Plan;
    expect(scopesNeeded(withId)).toEqual(['read:users']);
    const kept = { steps: unchanged, ci: { from: 'tenant', rules: [{ ...rule, user: 'auth0|abc' }] } } as unknown as Plan;
    expect(scopesNeeded(kept)).toEqual([]);
  });

  it('an unchanged CI Action and profile need no scope', () => {
    expect(scopesNeeded(planOf([
      { resource: 'ci_action', target: 'a', change: 'unchanged', fields: [] },
      { resource: 'ci_profile', target: 'p', change: 'unchanged', fields: [] },
    ]))).toEqual([]);
  });
});
