import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegion, type TestRegion } from '../support/region.js';
import { type ApiTenant, DAY, HOUR, apiTenant, assertBadRequest, assertInsufficientScope, isoAt } from './helpers.js';
import { seedInteraction } from './fixtures.js';

describe('Insights Stats API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  const base = Date.UTC(2024, 4, 1);
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
    const s = t.region.store;
    const at = (h: number) => base + h * HOUR;
    // Account A, in the window: voice inbound Sales x3 (60, 120 s, one active), voice inbound Service (300 s),
    // chat inbound Sales (600 s), email outbound without skill (900 s).
    await seedInteraction(s, a.account.id, { startedAt: at(1), skill: 'Sales', handling: 60, agentId: a.agent.id });
    await seedInteraction(s, a.account.id, { startedAt: at(2), skill: 'Sales', handling: 120, agentId: a.agent.id });
    await seedInteraction(s, a.account.id, { startedAt: at(3), skill: 'Sales', handling: null, agentId: a.supervisor.id });
    await seedInteraction(s, a.account.id, { startedAt: at(4), skill: 'Service', handling: 300, agentId: a.supervisor.id });
    await seedInteraction(s, a.account.id, { channel: 'chat', startedAt: at(5), skill: 'Sales', handling: 600, agentId: a.agent.id });
    await seedInteraction(s, a.account.id, { channel: 'email', direction: 'outbound', startedAt: at(6), skill: null, handling: 900 });
    // Outside the window, and account B inside it.
    await seedInteraction(s, a.account.id, { startedAt: base - HOUR, skill: 'Sales', handling: 50, agentId: a.agent.id });
    await seedInteraction(s, b.account.id, { startedAt: at(1), skill: 'Sales', handling: 70, agentId: b.agent.id });
  });
  after(async () => {
    await t.close();
  });

  const window = `start=${isoAt(base)}&end=${isoAt(base + 2 * DAY)}`;

  it('counts interactions and handling times by channel, direction and skill', async () => {
    const res = await a.call('GET', `/stats/interactions?${window}`, 'stats');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'max-age=5, must-revalidate, private');
    assert.deepEqual(res.json.meta, { page: 1, count: 4, pageCount: 1, totalCount: 4 });
    assert.equal(res.json.upTo, isoAt(base + 2 * DAY));
    assert.deepEqual(res.json.items, [
      { channel: 'chat', direction: 'inbound', skill: 'Sales', interactions: 1, active: 0, completed: 1, totalHandlingSeconds: 600, averageHandlingSeconds: 600, maxHandlingSeconds: 600 },
      { channel: 'email', direction: 'outbound', skill: null, interactions: 1, active: 0, completed: 1, totalHandlingSeconds: 900, averageHandlingSeconds: 900, maxHandlingSeconds: 900 },
      { channel: 'voice', direction: 'inbound', skill: 'Sales', interactions: 3, active: 1, completed: 2, totalHandlingSeconds: 180, averageHandlingSeconds: 90, maxHandlingSeconds: 120 },
      { channel: 'voice', direction: 'inbound', skill: 'Service', interactions: 1, active: 0, completed: 1, totalHandlingSeconds: 300, averageHandlingSeconds: 300, maxHandlingSeconds: 300 },
    ]);
  });

  it('reports what each agent handled', async () => {
    const res = await a.call('GET', `/stats/agent-activities?${window}`, 'stats');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'max-age=5, must-revalidate, private');
    const items = res.json.items ?? [];
    const byAgent = new Map(items.map((i) => [i.agentId, i]));
    assert.equal(items.length, 2);
    assert.deepEqual(byAgent.get(a.agent.id), {
      agentId: a.agent.id,
      name: a.agent.name,
      email: a.agent.email,
      interactions: 3,
      completed: 3,
      byChannel: { voice: 2, chat: 1, email: 0 },
      totalHandlingSeconds: 780,
      averageHandlingSeconds: 260,
      firstStartedAt: isoAt(base + HOUR),
      lastStartedAt: isoAt(base + 5 * HOUR),
    });
    const sup = byAgent.get(a.supervisor.id) as Record<string, unknown>;
    assert.equal(sup.interactions, 2);
    assert.equal(sup.completed, 1);
    assert.equal(sup.averageHandlingSeconds, 300);
    const paged = await a.call('GET', `/stats/agent-activities?${window}&pageSize=1&page=2`, 'stats');
    assert.deepEqual(paged.json.meta, { page: 2, count: 1, pageCount: 2, totalCount: 2 });
    assert.deepEqual(paged.json.items, [items[1]]);
  });

  it("sees only the token's account", async () => {
    const res = await b.call('GET', `/stats/interactions?${window}`, 'stats');
    assert.deepEqual(
      (res.json.items ?? []).map((i) => [i.channel, i.skill, i.interactions, i.totalHandlingSeconds]),
      [['voice', 'Sales', 1, 70]],
    );
    const activities = await b.call('GET', `/stats/agent-activities?${window}`, 'stats');
    assert.deepEqual((activities.json.items ?? []).map((i) => i.agentId), [b.agent.id]);
  });

  it('ends upTo at now for a window reaching into the future; an empty window has no items', async () => {
    const now = Date.now();
    const res = await a.call('GET', `/stats/interactions?start=${isoAt(now - DAY)}&end=${isoAt(now + DAY)}`, 'stats');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.items, []);
    assert.deepEqual(res.json.meta, { page: 1, count: 0, pageCount: 0, totalCount: 0 });
    const upTo = Date.parse(String(res.json.upTo));
    assert.ok(upTo >= now && upTo <= Date.now(), 'upTo is now');
  });

  it('answers 400 for a window over 31 days and every other invalid query', async () => {
    for (const path of ['/stats/interactions', '/stats/agent-activities']) {
      const get = (q: string) => a.call('GET', `${path}?${q}`, 'stats');
      assertBadRequest(await get('start=2024-05-01&end=2024-06-02'), /^Request window size limit exceeded: the window from start to end is 32 days; it may be at most 31 days$/);
      assert.equal((await get('start=2024-05-01&end=2024-06-01')).status, 200);
      assertBadRequest(await get('end=2024-05-02'), /^Query parameter start is required$/);
      assertBadRequest(await get('start=2024-05-01'), /^Query parameter end is required$/);
      assertBadRequest(await get('start=2024-13-01&end=2024-05-02'), /^start must be an ISO 8601 date-time/);
      assertBadRequest(await get('start=2024-05-03&end=2024-05-02'), /^end must be after start$/);
      assertBadRequest(await get(`${window}&pageSize=500`), /^Request exceeded maximum number for stats of 50 in one query\.$/);
    }
  });

  it('needs the stats scope', async () => {
    assertInsufficientScope(await a.call('GET', `/stats/interactions?${window}`, 'users:read'), 'stats');
    assertInsufficientScope(await a.call('GET', `/stats/agent-activities?${window}`, 'interaction-content:read'), 'stats');
  });
});
