import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Store } from '../../src/store/store.js';
import { DEFAULT_RETENTION, pruneOnce } from '../../src/store/retention.js';
import { UsageRepository } from '../../src/store/usage.js';
import { tempDir } from '../support/env.js';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import { type TestRegion, startRegion } from '../support/region.js';
import { type UsageItem, awayFromMinuteEnd, portalCredential, token, totals } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, withinMs: number): Promise<T> {
  const end = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('usage on the embedded store', () => {
  const opened: TestRegion[] = [];
  after(async () => {
    for (const t of opened) await t.close().catch(() => undefined);
  });

  it('is written by the timer every CCAUTH_USAGE_FLUSH_MS', async () => {
    const t = await startRegion({ CCAUTH_USAGE_FLUSH_MS: '100' });
    opened.push(t);
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const cred = await portalCredential(admin, 'timer', ['users:read']);
    for (let i = 0; i < 4; i++) assert.equal((await token(t.baseUrl, cred.clientId, cred.clientSecret, 'users:read')).status, 200);
    const read = async () => totals((await admin.get(`/admin/api/credentials/${cred.id}/usage`)).body.items as unknown as UsageItem[]).tokensIssued;
    assert.equal(await eventually(read, (n) => n === 4, 3000), 4);
  });

  it('loses nothing when the region closes gracefully, and the next process reads it', async () => {
    const dir = tempDir();
    try {
      const first = await startRegion({ CCAUTH_DATA_DIR: dir.path, CCAUTH_USAGE_FLUSH_MS: '600000' });
      const tenant = await portalTenant(first.region);
      const admin = await PortalClient.signIn(first.baseUrl, tenant.admin.email, PASSWORD);
      const cred = await portalCredential(admin, 'graceful', ['users:read']);
      for (let i = 0; i < 3; i++) assert.equal((await token(first.baseUrl, cred.clientId, cred.clientSecret, 'users:read')).status, 200);
      assert.equal((await token(first.baseUrl, cred.clientId, 'wrong', 'users:read')).status, 401);
      // Counted in memory only: no store write per request.
      assert.deepEqual(await new UsageRepository(first.region.store.db).sums({ clientId: cred.clientId }, 0, Date.now() + HOUR), []);
      await first.region.close();

      const second = await startRegion({ CCAUTH_DATA_DIR: dir.path, CCAUTH_USAGE_FLUSH_MS: '600000' });
      opened.push(second);
      const again = await PortalClient.signIn(second.baseUrl, tenant.admin.email, PASSWORD);
      const res = await again.get(`/admin/api/credentials/${cred.id}/usage?bucket=day`);
      assert.equal(res.status, 200, res.text);
      const sum = totals(res.body.items as unknown as UsageItem[]);
      assert.equal(sum.tokensIssued, 3);
      assert.equal(sum.authFailures, 1);
    } finally {
      dir.remove();
    }
  });

  it('stores at most 10 failures per credential and minute one by one; the rest are one counted event', async () => {
    const t = await startRegion({ CCAUTH_USAGE_FLUSH_MS: '600000' });
    opened.push(t);
    const tenant = await portalTenant(t.region);
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const cred = await portalCredential(admin, 'guessed', ['users:read']);
    await awayFromMinuteEnd(20);
    for (let i = 0; i < 15; i++) assert.equal((await token(t.baseUrl, cred.clientId, `wrong-${i}`, 'users:read')).status, 401);
    await t.region.usage.flush();
    const res = await admin.get(`/admin/api/events?credential=${cred.id}&type=client_auth.failed`);
    const items = res.body.items as { reason: string; ip?: string; count?: number }[];
    const single = items.filter((e) => e.count === undefined);
    const counted = items.filter((e) => e.count !== undefined);
    assert.equal(single.length, 10);
    for (const e of single) assert.deepEqual([e.reason, e.ip], ['wrong_secret', '127.0.0.1']);
    assert.deepEqual(
      counted.map((e) => [e.reason, e.count, e.ip]),
      [['wrong_secret', 5, undefined]],
    );
    const usage = await admin.get(`/admin/api/credentials/${cred.id}/usage`);
    assert.equal(totals(usage.body.items as unknown as UsageItem[]).authFailures, 15, 'the counters count every one');
  });

  it('prunes counters and events older than 90 days with the retention pruner', async () => {
    const dir = tempDir();
    const store = await Store.open({ dataDir: dir.path });
    try {
      const repo = new UsageRepository(store.db);
      const now = Date.now();
      const thisHour = now - (now % HOUR);
      const old = thisHour - 91 * DAY;
      const kept = thisHour - 89 * DAY;
      const counter = (hour: number) => ({ accountId: 'acc', clientId: 'cli', hour, metric: 'tokens', n: 2 });
      const event = (at: number) => ({ key: null, type: 'token.revoked' as const, at, accountId: 'acc', clientId: 'cli', credentialId: null, ownerUserId: null, reason: null, ip: null, count: null });
      await repo.write({ counters: [counter(old), counter(old + HOUR), counter(kept), counter(thisHour)], events: [event(old), event(kept)] });
      const result = await pruneOnce(store, { ...DEFAULT_RETENTION, sessionIdleMs: 60_000 });
      assert.equal(result.deleted.usageCounters, 2);
      assert.equal(result.deleted.usageEvents, 1);
      const left = await repo.sums({ accountId: 'acc' }, 0, now + HOUR);
      assert.deepEqual(
        left.map((r) => r.hour).sort(),
        [kept, thisHour].sort(),
      );
      assert.equal((await repo.events({ accountId: 'acc', limit: 10 })).length, 1);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
