import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { demoWav } from '../../src/demo.js';
import { PAYMENT_SESSION_LIFETIME_MS } from '../../src/store/platform-payments.js';
import type { Store } from '../../src/store/store.js';
import { describeEachDialect, type StoreFixture } from '../support/dialects.js';

await describeEachDialect('platform repositories', (makeFixture, dialect) => {
  let fixture: StoreFixture;
  let store: Store;
  let accountA: string;
  let accountB: string;
  let agent: string;
  let agent2: string;
  before(async () => {
    fixture = makeFixture();
    store = await fixture.open();
    accountA = (await store.accounts.create({ name: 'A' })).id;
    accountB = (await store.accounts.create({ name: 'B' })).id;
    agent = (await store.users.create({ accountId: accountA, email: `ann-${dialect}@example.test`, name: 'Ann', license: 'agent' })).id;
    agent2 = (await store.users.create({ accountId: accountA, email: `bob-${dialect}@example.test`, name: 'Bob', license: 'agent' })).id;
  });
  after(async () => {
    await store.close();
    await fixture.cleanup();
  });

  it('migration 0004 is applied once', async () => {
    assert.deepEqual(await store.migrate(), []);
  });

  it('creates interactions, reads them only within their account, and completes them once', async () => {
    const created = await store.interactions.create({ accountId: accountA, channel: 'voice', direction: 'inbound', agentId: agent, skill: 'Sales', customer: '+44 7700 9001**' });
    assert.equal(created.state, 'active');
    assert.equal(created.endedAt, null);
    assert.deepEqual(await store.interactions.get(accountA, created.id), created);
    assert.equal(await store.interactions.get(accountB, created.id), undefined);
    assert.deepEqual(await store.interactions.updateActive(accountB, created.id, { notes: 'x' }), { outcome: 'not_found' });

    const updated = await store.interactions.updateActive(accountA, created.id, { notes: 'hello', skill: null, agentId: agent2 });
    assert.equal(updated.outcome, 'updated');
    assert.ok(updated.outcome === 'updated' && updated.interaction.notes === 'hello' && updated.interaction.skill === null && updated.interaction.agentId === agent2);

    // Two completions at once: exactly one wins.
    const results = await Promise.all([store.interactions.updateActive(accountA, created.id, { complete: true }), store.interactions.updateActive(accountA, created.id, { complete: true, notes: 'late' })]);
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['not_active', 'updated']);
    const done = await store.interactions.get(accountA, created.id);
    assert.equal(done?.state, 'completed');
    assert.equal(typeof done?.handlingSeconds, 'number');
    assert.ok(done?.endedAt);
    assert.equal((await store.interactions.updateActive(accountA, created.id, { notes: 'again' })).outcome, 'not_active');

    const past = await store.interactions.create({ accountId: accountA, channel: 'chat', direction: 'outbound', startedAt: 1_000_000, endedAt: 1_090_400 });
    assert.equal(past.state, 'completed');
    assert.equal(past.handlingSeconds, 90);
    assert.equal(past.startedAt, new Date(1_000_000).toISOString());
  });

  it('stores content bytes exactly, lists without them, reads byte ranges and deletes for good', async () => {
    const i = await store.interactions.create({ accountId: accountA, channel: 'voice', direction: 'inbound', startedAt: 5_000_000, endedAt: 5_060_000 });
    const allBytes = Buffer.from(Array.from({ length: 256 * 4 }, (_, n) => n % 256));
    const wav = demoWav(0.25);
    const rec = await store.interactionContent.add({ accountId: accountA, interactionId: i.id, kind: 'recording', contentType: 'audio/wav', data: wav, createdAt: 5_070_000 });
    const raw = await store.interactionContent.add({ accountId: accountA, interactionId: i.id, kind: 'recording', contentType: 'audio/mpeg', data: allBytes, createdAt: 5_080_000 });
    assert.equal(rec.size, wav.length);
    assert.match(rec.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual((await store.interactionContent.list(accountA, i.id)).map((c) => [c.id, c.size, c.contentType]), [
      [rec.id, wav.length, 'audio/wav'],
      [raw.id, allBytes.length, 'audio/mpeg'],
    ]);
    assert.deepEqual(await store.interactionContent.list(accountB, i.id), []);
    assert.deepEqual(await store.interactionContent.get(accountA, i.id, rec.id), rec);
    assert.equal(await store.interactionContent.get(accountB, i.id, rec.id), undefined);

    assert.ok((await store.interactionContent.read(accountA, raw.id))?.equals(allBytes), 'every byte value round-trips');
    assert.ok((await store.interactionContent.read(accountA, raw.id, { start: 250, end: 261 }))?.equals(allBytes.subarray(250, 262)));
    assert.ok((await store.interactionContent.read(accountA, raw.id, { start: 0, end: 0 }))?.equals(allBytes.subarray(0, 1)));
    assert.ok((await store.interactionContent.read(accountA, raw.id, { start: 1020, end: 1023 }))?.equals(allBytes.subarray(1020)));
    assert.equal(await store.interactionContent.read(accountB, raw.id), undefined);

    assert.equal(await store.interactionContent.delete(accountB, i.id, raw.id), false);
    assert.equal(await store.interactionContent.delete(accountA, i.id, raw.id), true);
    assert.equal(await store.interactionContent.delete(accountA, i.id, raw.id), false);
    assert.equal(await store.interactionContent.read(accountA, raw.id), undefined);
    assert.deepEqual((await store.interactionContent.list(accountA, i.id)).map((c) => c.id), [rec.id]);
  });

  it('lists interactions with transcripts in a window, paged, with the newest transcript of each', async () => {
    const t0 = 10_000_000_000;
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      const i = await store.interactions.create({ accountId: accountA, channel: 'chat', direction: 'inbound', startedAt: t0 + n * 1000, endedAt: t0 + n * 1000 + 500 });
      ids.push(i.id);
      if (n !== 1) await store.interactionContent.add({ accountId: accountA, interactionId: i.id, kind: 'transcript', contentType: 'text/plain', data: Buffer.from(`v1 ${n}`), createdAt: t0 + 1 });
    }
    await store.interactionContent.add({ accountId: accountA, interactionId: ids[0] as string, kind: 'transcript', contentType: 'text/plain', data: Buffer.from('v2 0'), createdAt: t0 + 2 });
    const other = await store.interactions.create({ accountId: accountB, channel: 'chat', direction: 'inbound', startedAt: t0, endedAt: t0 + 1 });
    await store.interactionContent.add({ accountId: accountB, interactionId: other.id, kind: 'transcript', contentType: 'text/plain', data: Buffer.from('b') });

    const window = { from: t0, to: t0 + 3000 };
    const first = await store.interactions.listWithTranscripts(accountA, window, { offset: 0, limit: 1 });
    assert.equal(first.total, 2, 'ids[1] has no transcript, ids[3] starts at the end of the window');
    assert.deepEqual(first.items.map((i) => i.id), [ids[0]]);
    const second = await store.interactions.listWithTranscripts(accountA, window, { offset: 1, limit: 5 });
    assert.deepEqual(second.items.map((i) => i.id), [ids[2]]);
    const transcripts = await store.interactionContent.transcriptsOf(accountA, [ids[0] as string, ids[2] as string, other.id]);
    assert.deepEqual(new Map([...transcripts.entries()].map(([k, v]) => [k, v.data.toString()])), new Map([
      [ids[0], 'v2 0'],
      [ids[2], 'v1 2'],
    ]));
    assert.equal((await store.interactionContent.transcriptsOf(accountA, [])).size, 0);
  });

  it('aggregates interaction stats and agent activities per account and window', async () => {
    const t0 = 20_000_000_000;
    const mk = (o: { channel: 'voice' | 'chat' | 'email'; skill: string | null; agentId: string | null; at: number; handling: number | null; account?: string }) =>
      store.interactions.create({ accountId: o.account ?? accountA, channel: o.channel, direction: 'inbound', skill: o.skill, agentId: o.agentId, startedAt: t0 + o.at, endedAt: o.handling === null ? null : t0 + o.at + o.handling * 1000 });
    await mk({ channel: 'voice', skill: 'Sales', agentId: agent, at: 0, handling: 100 });
    await mk({ channel: 'voice', skill: 'Sales', agentId: agent, at: 1, handling: 50 });
    await mk({ channel: 'voice', skill: 'Sales', agentId: agent2, at: 2, handling: null });
    await mk({ channel: 'email', skill: null, agentId: agent2, at: 3, handling: 400 });
    await mk({ channel: 'chat', skill: 'Sales', agentId: null, at: 4, handling: 10 });
    await mk({ channel: 'voice', skill: 'Sales', agentId: agent, at: 99_000, handling: 1 });
    await mk({ channel: 'voice', skill: 'Sales', agentId: null, at: 0, handling: 7, account: accountB });
    const window = { from: t0, to: t0 + 60_000 };

    assert.deepEqual(await store.interactions.statsByChannel(accountA, window), [
      { channel: 'chat', direction: 'inbound', skill: 'Sales', interactions: 1, active: 0, completed: 1, totalHandlingSeconds: 10, maxHandlingSeconds: 10 },
      { channel: 'email', direction: 'inbound', skill: null, interactions: 1, active: 0, completed: 1, totalHandlingSeconds: 400, maxHandlingSeconds: 400 },
      { channel: 'voice', direction: 'inbound', skill: 'Sales', interactions: 3, active: 1, completed: 2, totalHandlingSeconds: 150, maxHandlingSeconds: 100 },
    ]);
    assert.deepEqual(await store.interactions.agentActivities(accountA, window), [
      { agentId: agent, name: 'Ann', email: `ann-${dialect}@example.test`, interactions: 2, completed: 2, byChannel: { voice: 2, chat: 0, email: 0 }, totalHandlingSeconds: 150, firstStartedAt: new Date(t0).toISOString(), lastStartedAt: new Date(t0 + 1).toISOString() },
      { agentId: agent2, name: 'Bob', email: `bob-${dialect}@example.test`, interactions: 2, completed: 1, byChannel: { voice: 1, chat: 0, email: 1 }, totalHandlingSeconds: 400, firstStartedAt: new Date(t0 + 2).toISOString(), lastStartedAt: new Date(t0 + 3).toISOString() },
    ]);
    assert.deepEqual((await store.interactions.statsByChannel(accountB, window)).map((r) => r.interactions), [1]);
    assert.deepEqual(await store.interactions.agentActivities(accountB, window), []);
  });

  it('creates payment sessions that read back only in their account and expire after 15 minutes', async () => {
    const before = await store.paymentSessions.countByAccount(accountA);
    const s = await store.paymentSessions.create({ accountId: accountA, agentId: agent, interactionId: null, amountMinor: 1250, currency: 'GBP', reference: 'INV-1' });
    assert.equal(s.status, 'pending');
    assert.equal(Date.parse(s.expiresAt) - Date.parse(s.createdAt), PAYMENT_SESSION_LIFETIME_MS);
    assert.deepEqual(await store.paymentSessions.get(accountA, s.id), s);
    assert.equal(await store.paymentSessions.get(accountB, s.id), undefined);
    assert.equal(await store.paymentSessions.countByAccount(accountA), before + 1);
    await store.db.updateTable('payment_sessions').set({ expires_at: Date.now() - 1 }).where('id', '=', s.id).execute();
    assert.equal((await store.paymentSessions.get(accountA, s.id))?.status, 'expired');
  });
});
