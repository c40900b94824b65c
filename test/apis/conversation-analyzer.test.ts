import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegion, type TestRegion } from '../support/region.js';
import { type ApiTenant, DAY, HOUR, apiTenant, assertBadRequest, assertInsufficientScope, isoAt } from './helpers.js';
import { type SeededInteraction, TRANSCRIPT, seedInteraction } from './fixtures.js';

describe('Conversation Analyzer API', () => {
  let t: TestRegion;
  let a: ApiTenant;
  let b: ApiTenant;
  const base = Date.UTC(2024, 4, 1); // 2024-05-01T00:00:00Z
  const seeded: SeededInteraction[] = [];
  before(async () => {
    t = await startRegion();
    a = await apiTenant(t.region, t.baseUrl);
    b = await apiTenant(t.region, t.baseUrl);
    const s = t.region.store;
    // In the window [base, base + 7 days): five with transcripts, one without.
    for (let i = 0; i < 5; i++) {
      seeded.push(await seedInteraction(s, a.account.id, { startedAt: base + i * DAY + HOUR, transcript: i === 2 ? 'text' : 'json', recording: i % 2 === 0, agentId: a.agent.id }));
    }
    await seedInteraction(s, a.account.id, { startedAt: base + 2 * HOUR, recording: true, transcript: false });
    // Outside the window, and another account's in it.
    await seedInteraction(s, a.account.id, { startedAt: base - 1, transcript: 'json' });
    await seedInteraction(s, a.account.id, { startedAt: base + 7 * DAY, transcript: 'json' });
    await seedInteraction(s, b.account.id, { startedAt: base + 3 * HOUR, transcript: 'json' });
  });
  after(async () => {
    await t.close();
  });

  const window = `start=${isoAt(base)}&end=${isoAt(base + 7 * DAY)}`;
  const get = (q: string) => a.call('GET', `/conversation-analyzer/interactions?${q}`, 'interaction-content:read');

  it('lists the interactions with transcripts that started in [start, end), oldest first, with their transcript', async () => {
    const res = await get(window);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.meta, { page: 1, count: 5, pageCount: 1, totalCount: 5 });
    const items = res.json.items ?? [];
    assert.deepEqual(items.map((i) => i.id), seeded.map((s) => s.interaction.id));
    const first = items[0] as Record<string, unknown>;
    assert.equal(first.channel, 'voice');
    assert.equal(first.state, 'completed');
    assert.equal(first.agentId, a.agent.id);
    assert.equal(first.handlingSeconds, 300);
    assert.equal(first.startedAt, isoAt(base + HOUR));
    assert.deepEqual(first.transcript, {
      contentId: seeded[0]?.transcript?.item.id,
      contentType: 'application/json',
      language: 'en-GB',
      segments: TRANSCRIPT.segments,
    });
    assert.deepEqual((items[2] as { transcript: unknown }).transcript, {
      contentId: seeded[2]?.transcript?.item.id,
      contentType: 'text/plain; charset=utf-8',
      language: null,
      segments: [
        { speaker: 'agent', offsetMs: null, text: 'Hello, how can I help?' },
        { speaker: 'customer', offsetMs: null, text: 'Where is my parcel?' },
      ],
    });
  });

  it('accepts dates, offsets and times without an offset (UTC)', async () => {
    assert.equal((await get('start=2024-05-01&end=2024-05-08')).json.meta?.totalCount, 5);
    assert.equal((await get('start=2024-05-01T02:00:00%2B01:00&end=2024-05-01T01:00:01')).json.meta?.totalCount, 1);
    assert.equal((await get('start=2024-05-01T01:00:00.001Z&end=2024-05-08T00:00:00Z')).json.meta?.totalCount, 4);
  });

  it('pages', async () => {
    const p2 = await get(`${window}&page=2&pageSize=2`);
    assert.deepEqual(p2.json.meta, { page: 2, count: 2, pageCount: 3, totalCount: 5 });
    assert.deepEqual(p2.json.items?.map((i) => i.id), seeded.slice(2, 4).map((s) => s.interaction.id));
    const p4 = await get(`${window}&page=4&pageSize=2`);
    assert.deepEqual(p4.json.meta, { page: 4, count: 0, pageCount: 3, totalCount: 5 });
  });

  it("sees only the token's account", async () => {
    const res = await b.call('GET', `/conversation-analyzer/interactions?${window}`, 'interaction-content:read');
    assert.equal(res.json.meta?.totalCount, 1);
  });

  it('answers 400 for a missing, malformed, reversed or too long window and a bad page size', async () => {
    assertBadRequest(await get(''), /^Query parameter start is required$/);
    assertBadRequest(await get('start=2024-05-01'), /^Query parameter end is required$/);
    assertBadRequest(await get('start=yesterday&end=2024-05-02'), /^start must be an ISO 8601 date-time/);
    assertBadRequest(await get('start=2024-05-01&end=2024-02-30'), /^end must be an ISO 8601 date-time/);
    assertBadRequest(await get('start=2024-05-02&end=2024-05-01'), /^end must be after start$/);
    assertBadRequest(await get('start=2024-05-01&end=2024-05-01'), /^end must be after start$/);
    assertBadRequest(await get('start=2024-05-01&end=2024-06-01T00:00:01Z'), /^Request window size limit exceeded: .* at most 31 days$/);
    assertBadRequest(await get('start=2024-01-01&end=2024-12-31'), /^Request window size limit exceeded/);
    assert.equal((await get('start=2024-05-01&end=2024-06-01')).status, 200, 'exactly 31 days is allowed');
    assertBadRequest(await get(`${window}&pageSize=51`), /^Request exceeded maximum number for interactions of 50 in one query\.$/);
    assertBadRequest(await get(`${window}&page=0`), /^Query parameter page must be >= 1$/);
  });

  it('no longer lists an interaction whose transcript was deleted', async () => {
    const target = seeded[4] as SeededInteraction;
    const del = await a.call('DELETE', `/interaction-content/interactions/${target.interaction.id}/content/${target.transcript?.item.id}`, 'interaction-content:delete');
    assert.equal(del.status, 204);
    const res = await get(window);
    assert.equal(res.json.meta?.totalCount, 4);
    assert.ok(!(res.json.items ?? []).some((i) => i.id === target.interaction.id));
  });

  it('needs interaction-content:read', async () => {
    assertInsufficientScope(await a.call('GET', `/conversation-analyzer/interactions?${window}`, 'stats'), 'interaction-content:read');
    assertInsufficientScope(await a.call('GET', `/conversation-analyzer/interactions?${window}`, 'interaction-content:delete'), 'interaction-content:read');
  });
});
