import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegion, type TestRegion } from '../support/region.js';
import { type ApiTenant, VERSIONED_JSON, apiTenant, assertBadRequest, assertInsufficientScope, assertNotFound } from './helpers.js';
import { seedInteraction } from './fixtures.js';

describe('Interactions API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
  });
  after(async () => {
    await t.close();
  });

  const post = (body: unknown) => a.call('POST', '/interactions', 'interactions:write', { body });
  const patch = (id: string, body: unknown, tenant = a) => tenant.call('PATCH', `/interactions/${id}`, 'interactions:write', { body });

  describe('POST /interactions', () => {
    it('creates an active interaction: 201 with Location and the interaction', async () => {
      const before = Date.now();
      const res = await post({ channel: 'voice', direction: 'inbound', agentId: a.agent.id, skill: ' Sales ', customer: '+44 7700 9001**', notes: 'VIP' });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('content-type'), VERSIONED_JSON);
      const id = res.json.id as string;
      assert.equal(res.headers.get('location'), `/interactions/${id}`);
      assert.deepEqual({ ...res.json, id: 'x', startedAt: 'x', createdAt: 'x', updatedAt: 'x' }, {
        id: 'x',
        channel: 'voice',
        direction: 'inbound',
        state: 'active',
        agentId: a.agent.id,
        skill: 'Sales',
        customer: '+44 7700 9001**',
        notes: 'VIP',
        startedAt: 'x',
        endedAt: null,
        handlingSeconds: null,
        createdAt: 'x',
        updatedAt: 'x',
      });
      assert.ok(Date.parse(String(res.json.startedAt)) >= before - 1000);
      const stored = await t.region.store.interactions.get(a.account.id, id);
      assert.equal(stored?.state, 'active');
      assert.equal(await t.region.store.interactions.get(b.account.id, id), undefined);
      const minimal = await post({ channel: 'email', direction: 'outbound' });
      assert.equal(minimal.status, 201);
      assert.equal(minimal.json.agentId, null);
      assert.equal(minimal.json.skill, null);
    });

    it('refuses every invalid body with 400 naming the problem, and creates nothing', async () => {
      const countBefore = (await t.region.store.interactions.statsByChannel(a.account.id, { from: 0, to: Date.now() + 60_000 })).reduce((n, r) => n + r.interactions, 0);
      const disabled = await t.region.store.users.create({ accountId: a.account.id, email: `off.${a.account.id}@example.test`, license: 'agent' });
      await t.region.store.users.update(disabled.id, { status: 'disabled' });
      const ok = { channel: 'voice', direction: 'inbound' };
      const cases: [unknown, RegExp, string?][] = [
        [{ direction: 'inbound' }, /^Field channel is required$/],
        [{ channel: 'voice' }, /^Field direction is required$/],
        [{ ...ok, channel: 'fax' }, /^Field channel must be one of: voice, chat, email$/],
        [{ ...ok, direction: 'sideways' }, /^Field direction must be one of: inbound, outbound$/],
        [{ ...ok, channel: 1 }, /^Field channel must be a string$/],
        [{ ...ok, state: 'completed' }, /^Unknown field state: this request accepts channel, direction, agentId, skill, customer, notes$/],
        [{ ...ok, skill: 'x'.repeat(51) }, /^Field skill must be at most 50 characters long$/],
        [{ ...ok, skill: '   ' }, /^Field skill must be 1\.\.50 characters after trimming$/],
        [{ ...ok, customer: 'x'.repeat(201) }, /^Field customer must be at most 200 characters long$/],
        [{ ...ok, notes: 'x'.repeat(2001) }, /^Field notes must be at most 2000 characters long$/],
        [{ ...ok, agentId: b.agent.id }, /^Field agentId: no user with id .* in this account$/],
        [{ ...ok, agentId: '00000000-0000-4000-8000-000000000000' }, /^Field agentId: no user with id .* in this account$/],
        [{ ...ok, agentId: disabled.id }, /^Field agentId: the user .* is disabled$/],
        [{ ...ok, agentId: null }, /^Field agentId must be a string$/],
        [{ ...ok, notes: 'customer read out 4111 1111 1111 1111' }, /^Field notes looks like it holds a card number/, 'card_data_not_allowed'],
        [{ ...ok, cardNumber: '4111111111111111' }, /^Card data is captured by the secure payment page, never sent through the API/, 'card_data_not_allowed'],
        [[ok], /^The request body must be a JSON object$/],
      ];
      for (const [body, message, error] of cases) assertBadRequest(await post(body), message, error);
      assertBadRequest(await a.call('POST', '/interactions', 'interactions:write', { rawBody: '{"channel":"voice",' }), /JSON/i);
      const countAfter = (await t.region.store.interactions.statsByChannel(a.account.id, { from: 0, to: Date.now() + 60_000 })).reduce((n, r) => n + r.interactions, 0);
      assert.equal(countAfter, countBefore);
    });
  });

  describe('PATCH /interactions/{id}', () => {
    it('assigns an agent, sets and clears fields, then completes it with endedAt and handlingSeconds', async () => {
      const created = await post({ channel: 'chat', direction: 'inbound', skill: 'Service', notes: 'first' });
      const id = created.json.id as string;
      const assigned = await patch(id, { agentId: a.supervisor.id, notes: 'second', skill: null });
      assert.equal(assigned.status, 200);
      assert.equal(assigned.json.agentId, a.supervisor.id);
      assert.equal(assigned.json.notes, 'second');
      assert.equal(assigned.json.skill, null);
      assert.equal(assigned.json.state, 'active');
      const unassigned = await patch(id, { agentId: null });
      assert.equal(unassigned.json.agentId, null);
      await new Promise((r) => setTimeout(r, 1100));
      const done = await patch(id, { state: 'completed', agentId: a.agent.id });
      assert.equal(done.status, 200);
      assert.equal(done.json.state, 'completed');
      assert.equal(done.json.agentId, a.agent.id);
      assert.ok(typeof done.json.endedAt === 'string' && Date.parse(done.json.endedAt) >= Date.parse(String(done.json.startedAt)) + 1000);
      assert.ok(typeof done.json.handlingSeconds === 'number' && done.json.handlingSeconds >= 1);
      const stored = await t.region.store.interactions.get(a.account.id, id);
      assert.equal(stored?.state, 'completed');
    });

    it('answers 409 for a completed interaction and changes nothing', async () => {
      const seeded = await seedInteraction(t.region.store, a.account.id, { startedAt: Date.now() - 60_000, handling: 30 });
      const res = await patch(seeded.interaction.id, { notes: 'late' });
      assert.equal(res.status, 409);
      assert.equal(res.json.error, 'conflict');
      assert.match(String(res.json.message), /is completed: only active interactions can be updated/);
      assert.equal((await patch(seeded.interaction.id, { state: 'completed' })).status, 409);
      assert.deepEqual(await t.region.store.interactions.get(a.account.id, seeded.interaction.id), seeded.interaction);
    });

    it('refuses invalid bodies with 400 and changes nothing', async () => {
      const created = await post({ channel: 'voice', direction: 'outbound' });
      const id = created.json.id as string;
      const before = await t.region.store.interactions.get(a.account.id, id);
      const cases: [unknown, RegExp, string?][] = [
        [{}, /^The request body must set at least one of: state, agentId, skill, customer, notes$/],
        [{ state: 'active' }, /^Field state must be one of: completed$/],
        [{ state: 'done' }, /^Field state must be one of: completed$/],
        [{ channel: 'chat' }, /^Unknown field channel/],
        [{ agentId: b.admin.id }, /^Field agentId: no user with id .* in this account$/],
        [{ agentId: 5 }, /^Field agentId must be a string or null$/],
        [{ notes: '' }, /^Field notes must be at least 1 character long$/],
        [{ notes: 'pan 5555555555554444' }, /card number/, 'card_data_not_allowed'],
        [{ payment: { cvv: '123' } }, /field payment\.cvv/, 'card_data_not_allowed'],
      ];
      for (const [body, message, error] of cases) assertBadRequest(await patch(id, body), message, error);
      assert.deepEqual(await t.region.store.interactions.get(a.account.id, id), before);
    });

    it("is 404 for another account's interaction (unchanged) and for unknown ids", async () => {
      const theirs = await seedInteraction(t.region.store, b.account.id, { startedAt: Date.now(), handling: null });
      assertNotFound(await patch(theirs.interaction.id, { state: 'completed' }));
      assertNotFound(await patch(theirs.interaction.id, { notes: 'x' }));
      assert.deepEqual(await t.region.store.interactions.get(b.account.id, theirs.interaction.id), theirs.interaction);
      assertNotFound(await patch('00000000-0000-4000-8000-000000000000', { notes: 'x' }));
      assert.equal((await patch(theirs.interaction.id, { notes: 'mine' }, b)).status, 200);
    });
  });

  it('needs interactions:write', async () => {
    const created = await post({ channel: 'voice', direction: 'inbound' });
    assertInsufficientScope(await a.call('POST', '/interactions', 'stats', { body: { channel: 'voice', direction: 'inbound' } }), 'interactions:write');
    assertInsufficientScope(await a.call('PATCH', `/interactions/${created.json.id}`, 'users:write', { body: { state: 'completed' } }), 'interactions:write');
    assert.equal((await t.region.store.interactions.get(a.account.id, created.json.id as string))?.state, 'active');
  });
});
