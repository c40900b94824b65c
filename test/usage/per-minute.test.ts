import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Store } from '../../src/store/store.js';
import { DEFAULT_RETENTION, pruneOnce } from '../../src/store/retention.js';
import { UsageRepository } from '../../src/store/usage.js';
import { dropSchema, postgresAvailable, postgresUrl, tempDir, uniqueSchema, periodStart } from '../support/env.js';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import { type TestRegion, createCredential, startRegion } from '../support/region.js';
import { apiCall, awayFromMinuteEnd, token } from './helpers.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

interface PerMinute {
  limit: number;
  peak: { at: string; apiCalls: number } | null;
  items: { at: string; apiCalls: number }[];
}

async function perMinute(admin: PortalClient): Promise<PerMinute> {
  const res = await admin.get('/admin/api/usage');
  assert.equal(res.status, 200, res.text);
  return res.body.perMinute as unknown as PerMinute;
}

/** 60 whole UTC minutes, ascending, one minute apart, the last the current one. */
function assertWindow(p: PerMinute, now: number): void {
  assert.equal(p.items.length, 60);
  const starts = p.items.map((i) => Date.parse(i.at));
  for (const s of starts) assert.equal(s % MINUTE, 0);
  for (let i = 1; i < starts.length; i++) assert.equal(starts[i]! - starts[i - 1]!, MINUTE);
  const last = starts[59]!;
  assert.ok(last === now - (now % MINUTE) || last === now - (now % MINUTE) + MINUTE, 'the last item is the current minute');
}

const callsAt = (p: PerMinute, minute: number) => p.items.find((i) => Date.parse(i.at) === minute)?.apiCalls;

describe("the account's API calls per minute against its limit", () => {
  let t: TestRegion;
  let admin: PortalClient;
  let cred: { clientId: string; clientSecret: string };

  before(async () => {
    // Flushed by the recorder's own timer, soon.
    t = await startRegion({ CCAUTH_USAGE_FLUSH_MS: '100' });
    const tenant = await portalTenant(t.region);
    await t.region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 4 });
    const created = await createCredential(t.region, tenant.admin, ['users:read'], 'per minute');
    cred = { clientId: created.credential.clientId, clientSecret: created.clientSecret };
    admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
  });
  after(async () => {
    await t?.close();
  });

  it('answers 60 zero-filled minutes with the limit and no peak before any call', async () => {
    const p = await perMinute(admin);
    assertWindow(p, Date.now());
    assert.equal(p.limit, 4);
    assert.equal(p.peak, null);
    assert.ok(p.items.every((i) => i.apiCalls === 0));
  });

  it("counts the gateway calls (429s included) in the current minute's bucket after the flush", async () => {
    await awayFromMinuteEnd(20);
    const minute = periodStart(MINUTE);
    const r = await token(t.baseUrl, cred.clientId, cred.clientSecret, 'users:read');
    assert.equal(r.status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await apiCall(t.baseUrl, '/useradmin/users', r.accessToken));
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    // The recorder's timer (100 ms) writes them: no flush by the test.
    const deadline = Date.now() + 10_000;
    let p = await perMinute(admin);
    while (callsAt(p, minute) !== 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      p = await perMinute(admin);
    }
    assert.equal(callsAt(p, minute), 6);
    assertWindow(p, Date.now());
    assert.equal(p.items.reduce((n, i) => n + i.apiCalls, 0), 6, 'the other minutes stay zero');
    assert.deepEqual(p.peak, { at: new Date(minute).toISOString(), apiCalls: 6 });
    assert.equal(p.limit, 4);
    // The hourly view is unchanged beside it.
    const res = await admin.get('/admin/api/usage');
    assert.equal(res.body.apiRateLimitPerMinute, 4);
    assert.equal((res.body.items as unknown[]).length, 24);
  });

  it('is for admins only, like the rest of the account usage', async () => {
    const tenant = await portalTenant(t.region);
    const supervisor = await PortalClient.signIn(t.baseUrl, tenant.supervisor.email, PASSWORD);
    const res = await supervisor.get('/admin/api/usage');
    assert.equal(res.status, 403);
    assert.equal(res.body.perMinute, undefined);
  });
});

describe('per-minute API calls kept 48 hours', () => {
  it('prunes minutes older than 48 hours with the retention pruner and keeps the rest', async () => {
    const dir = tempDir();
    const store = await Store.open({ dataDir: dir.path });
    try {
      const repo = new UsageRepository(store.db);
      const now = Date.now();
      const thisMinute = now - (now % MINUTE);
      const old = thisMinute - 49 * HOUR;
      const kept = thisMinute - 47 * HOUR;
      const rows = [old, old + MINUTE, kept, thisMinute].flatMap((minute) => [
        { accountId: 'acc', minute, n: 3 },
        { accountId: 'other', minute, n: 1 },
      ]);
      await repo.write({ counters: [], events: [], minutes: rows });
      const result = await pruneOnce(store, { ...DEFAULT_RETENTION, sessionIdleMs: 60_000, batchSize: 3 });
      assert.equal(result.deleted.usageMinutes, 4);
      assert.deepEqual(
        (await repo.minutes('acc', 0, now + HOUR)).map((r) => r.minute),
        [kept, thisMinute],
      );
      assert.equal((await repo.minutes('other', 0, now + HOUR)).length, 2);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});

const pg = await postgresAvailable();
const skip = pg ? false : 'PostgreSQL is not reachable (required in CI)';

describe('per-minute API calls of several instances on one PostgreSQL schema', { skip }, () => {
  const schema = uniqueSchema('ccauth_perminute');
  // Flushed by the test, never by the timer in between.
  const env = { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_USAGE_FLUSH_MS: '600000' };
  let a: TestRegion;
  let b: TestRegion;
  let admin: PortalClient;
  let cred: { clientId: string; clientSecret: string };

  before(async () => {
    a = await startRegion(env);
    b = await startRegion(env);
    const tenant = await portalTenant(a.region);
    const created = await createCredential(a.region, tenant.admin, ['users:read'], 'shared');
    cred = { clientId: created.credential.clientId, clientSecret: created.clientSecret };
    admin = await PortalClient.signIn(a.baseUrl, tenant.admin.email, PASSWORD);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  const use = async (at: TestRegion, calls: number) => {
    const r = await token(at.baseUrl, cred.clientId, cred.clientSecret, 'users:read');
    assert.equal(r.status, 200);
    for (let k = 0; k < calls; k++) assert.equal(await apiCall(at.baseUrl, '/useradmin/users', r.accessToken), 200);
  };

  it("adds up both instances' calls in one minute, flushed at the same moment, twice over the same row", async () => {
    await awayFromMinuteEnd(25);
    const minute = periodStart(MINUTE);
    await Promise.all([use(a, 3), use(b, 4)]);
    await Promise.all([a.region.usage.flush(), b.region.usage.flush()]);
    let p = await perMinute(admin);
    assertWindow(p, Date.now());
    assert.equal(callsAt(p, minute), 7);
    await Promise.all([use(a, 2), use(b, 1)]);
    await Promise.all([a.region.usage.flush(), b.region.usage.flush()]);
    p = await perMinute(admin);
    assert.equal(callsAt(p, minute), 10, 'atomic increments, not last-writer-wins');
    assert.deepEqual(p.peak, { at: new Date(minute).toISOString(), apiCalls: 10 });
    assert.equal(p.items.filter((i) => i.apiCalls === 0).length, 59);
  });
});
