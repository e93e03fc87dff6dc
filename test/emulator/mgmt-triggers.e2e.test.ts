/**
 * Post-login Actions and trigger bindings through the official Auth0 Management SDK (CONTRACTS.md §5):
 * post-login v3 Actions are created, built and deployed like any other; PATCH bindings replaces the
 * trigger's list (refs by action_id, action_name, binding_id); only deployed Actions of that trigger
 * can be bound; an Action cannot be deleted while bound unless forced.
 */
import type { ManagementClient } from 'auth0';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { api, managementSdk, managementToken, pollUntil } from './helpers.js';

let emu: Emulator;
let sdk: ManagementClient;
let token: string;

const POST_LOGIN = [{ id: 'post-login' as const, version: 'v3' }];
const CODE = 'exports.onExecutePostLogin = async (event, api) => {};';

async function postLoginAction(name: string, deploy = true): Promise<string> {
  const created = await sdk.actions.create({ name, supported_triggers: POST_LOGIN, code: CODE, runtime: 'node22' });
  await pollUntil('the build', async () => ((await sdk.actions.get(created.id!)).status === 'built' ? true : undefined));
  if (deploy) {
    await sdk.actions.deploy(created.id!);
    await pollUntil('the deployment', async () => ((await sdk.actions.get(created.id!)).deployed_version?.deployed ? true : undefined));
  }
  return created.id!;
}

beforeAll(async () => {
  emu = await startEmulator({ settings: { buildMs: 0, deployMs: 0 } });
  token = await managementToken(emu);
  sdk = managementSdk(emu, token);
});
afterAll(async () => {
  await emu?.close();
});

describe('post-login Actions and their bindings', () => {
  it('creates post-login v3 Actions and lists the triggers', async () => {
    const id = await postLoginAction('first');
    expect((await sdk.actions.get(id)).supported_triggers).toEqual([expect.objectContaining({ id: 'post-login', version: 'v3' })]);
    const { triggers } = await sdk.actions.triggers.list();
    expect(triggers?.map((t) => [t.id, t.binding_policy])).toEqual([['custom-token-exchange', 'entity-bound'], ['post-login', 'trigger-bound']]);
    const v2 = await api(emu, token, 'POST', '/actions/actions', { name: 'old', supported_triggers: [{ id: 'post-login', version: 'v2' }], code: CODE });
    expect(v2.status).toBe(400);
  });

  it('binds by action_id and action_name in order, replaces the whole list, keeps a binding by binding_id', async () => {
    const a = await postLoginAction('bind-a');
    const b = await postLoginAction('bind-b');
    const set = await sdk.actions.triggers.bindings.updateMany('post-login', {
      bindings: [{ ref: { type: 'action_id', value: a }, display_name: 'A first' }, { ref: { type: 'action_name', value: 'bind-b' } }],
    });
    expect(set.bindings?.map((x) => [x.display_name, x.action?.id, x.trigger_id])).toEqual([['A first', a, 'post-login'], ['bind-b', b, 'post-login']]);
    const aBinding = set.bindings![0]!;
    expect(aBinding).toMatchObject({ id: expect.any(String), created_at: expect.any(String), updated_at: expect.any(String), action: { name: 'bind-a' } });

    const listed = await api(emu, token, 'GET', '/actions/triggers/post-login/bindings');
    expect(listed.body).toMatchObject({ total: 2, page: 0, per_page: 50 });
    expect(listed.body.bindings.map((x: { id: string }) => x.id)).toEqual(set.bindings!.map((x) => x.id));
    const page = await sdk.actions.triggers.bindings.list('post-login');
    expect(page.data.map((x) => x.display_name)).toEqual(['A first', 'bind-b']);

    // Replaces all: only A is kept (by its binding id), now second after a new one for B.
    const replaced = await sdk.actions.triggers.bindings.updateMany('post-login', {
      bindings: [{ ref: { type: 'action_name', value: 'bind-b' }, display_name: 'B now' }, { ref: { type: 'binding_id', value: aBinding.id! } }],
    });
    expect(replaced.bindings?.map((x) => [x.display_name, x.action?.id])).toEqual([['B now', b], ['A first', a]]);
    expect(replaced.bindings![1]).toMatchObject({ id: aBinding.id, created_at: aBinding.created_at });
    expect(emu.tenant.triggerBindings.get('post-login')!.map((x) => x.action_id)).toEqual([b, a]);

    const cleared = await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', { bindings: [] });
    expect([cleared.status, cleared.body]).toEqual([200, { bindings: [] }]);
  });

  it('binds only deployed Actions that support the trigger, each once, and changes nothing when one is refused', async () => {
    const deployed = await postLoginAction('ok-one');
    const undeployed = await postLoginAction('not-deployed', false);
    const cte = await sdk.actions.create({
      name: 'cte', supported_triggers: [{ id: 'custom-token-exchange', version: 'v1' }], code: 'exports.onExecuteCustomTokenExchange = async () => {};', runtime: 'node22',
    });
    await pollUntil('the build', async () => ((await sdk.actions.get(cte.id!)).status === 'built' ? true : undefined));
    await sdk.actions.deploy(cte.id!);
    await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_id', value: deployed } }] });
    const before = emu.tenant.triggerBindings.get('post-login');

    const cases: [unknown, RegExp][] = [
      [{ type: 'action_id', value: undeployed }, /must be deployed/],
      [{ type: 'action_id', value: cte.id }, /does not support the post-login trigger/],
      [{ type: 'action_name', value: 'nobody' }, /does not exist/],
      [{ type: 'binding_id', value: 'nope' }, /binding nope does not exist/],
      [{ type: 'action_uuid', value: deployed }, /No enum match/],
    ];
    for (const [ref, message] of cases) {
      const res = await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', { bindings: [{ ref: { type: 'action_id', value: deployed } }, { ref }] });
      expect(res.status, JSON.stringify(ref)).toBe(400);
      expect(res.body.message, JSON.stringify(ref)).toMatch(message);
    }
    const twice = await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', {
      bindings: [{ ref: { type: 'action_id', value: deployed } }, { ref: { type: 'action_name', value: 'ok-one' } }],
    });
    expect([twice.status, twice.body.message]).toEqual([400, expect.stringMatching(/bound twice/)]);
    expect((await api(emu, token, 'PATCH', '/actions/triggers/post-login/bindings', {})).status).toBe(400);
    expect(emu.tenant.triggerBindings.get('post-login')).toBe(before);

    const entity = await api(emu, token, 'PATCH', '/actions/triggers/custom-token-exchange/bindings', { bindings: [{ ref: { type: 'action_id', value: cte.id } }] });
    expect([entity.status, entity.body.message]).toEqual([400, expect.stringMatching(/entity-bound/)]);
    expect((await api(emu, token, 'GET', '/actions/triggers/no-such-trigger/bindings')).status).toBe(404);
  });

  it('refuses deleting a bound Action unless forced, which also unbinds it', async () => {
    const id = await postLoginAction('bound-delete');
    await sdk.actions.triggers.bindings.updateMany('post-login', { bindings: [{ ref: { type: 'action_id', value: id } }] });
    const refused = await api(emu, token, 'DELETE', `/actions/actions/${id}`);
    expect(refused.status).toBe(409);
    expect((await api(emu, token, 'DELETE', `/actions/actions/${id}?force=true`)).status).toBe(204);
    expect(emu.tenant.triggerBindings.get('post-login')).toEqual([]);
  });
});
