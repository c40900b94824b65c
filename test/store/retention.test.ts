// The retention pruner on both dialects: what is expired or past its retention goes, in batches,
// by one instance at a time; nothing still useful is touched.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { DEFAULT_RETENTION, RETENTION_LOCK, type RetentionPolicy, RetentionPruner, pruneOnce } from '../../src/store/retention.js';
import type { Store } from '../../src/store/store.js';
import { describeEachDialect, type StoreFixture } from '../support/dialects.js';
import { postgresUrl } from '../support/env.js';

const DAY = 86_400_000;
const IDLE = 30 * 60_000;
const policy: RetentionPolicy = { ...DEFAULT_RETENTION, sessionIdleMs: IDLE, auditRetentionDays: 400, batchSize: 7, maxBatchesPerRun: 1000 };

await describeEachDialect('retention pruning', (makeFixture, dialect) => {
  let fixture: StoreFixture;
  let store: Store;
  let userId: string;
  let accountId: string;
  before(async () => {
    fixture = makeFixture();
    store = await fixture.open();
    const account = await store.accounts.create({ name: 'Retained' });
    accountId = account.id;
    userId = (await store.users.create({ accountId, email: `ret-${dialect}@example.test`, license: 'admin' })).id;
  });
  after(async () => {
    await store.close();
    await fixture.cleanup();
  });

  /** Clears the four tables, then writes `old` rows that must go and `kept` rows that must stay, per table. */
  async function seed(now: number, old: number, kept: number): Promise<void> {
    const db = store.db;
    for (const t of ['admin_sessions', 'revoked_tokens', 'changes', 'audit_events'] as const) await db.deleteFrom(t).execute();
    const session = (id: string, lastSeen: number, expires: number) => ({ id_hash: id, user_id: userId, csrf_token: 'c', created_at: now - DAY, last_seen_at: lastSeen, expires_at: expires });
    const revoked = (jti: string, expires: number) => ({ jti, account_id: accountId, client_id: 'cid', revoked_at: now - DAY, expires_at: expires });
    const audit = (id: string, at: number) => ({ id, account_id: accountId, at, actor_user_id: null, actor_email: 'x@example.test', action: 'credential.created', target_type: 'credential', target_id: null, target_name: null, changes: '{}' });
    const rows = { sessions: [] as ReturnType<typeof session>[], revoked: [] as ReturnType<typeof revoked>[], changes: [] as { kind: string; ref: string; at: number }[], audit: [] as ReturnType<typeof audit>[] };
    for (let i = 0; i < old; i++) {
      // Half past their absolute end, half idle too long.
      rows.sessions.push(i % 2 ? session(`old-${i}`, now - 60_000, now - 1) : session(`old-${i}`, now - IDLE - 1, now + DAY));
      rows.revoked.push(revoked(`old-${i}`, now - policy.revokedTokenMarginMs - 1 - i));
      rows.changes.push({ kind: 'credential', ref: `old-${i}`, at: now - policy.changesRetentionMs - 1 - i });
      rows.audit.push(audit(`old-${i}`, now - 400 * DAY - 1 - i));
    }
    for (let i = 0; i < kept; i++) {
      rows.sessions.push(session(`kept-${i}`, now - IDLE + 60_000, now + 60_000));
      // Expired, but within the clock-skew margin; and live.
      rows.revoked.push(revoked(`kept-${i}`, i % 2 ? now - policy.revokedTokenMarginMs + 1000 : now + DAY));
      rows.changes.push({ kind: 'credential', ref: `kept-${i}`, at: now - policy.changesRetentionMs + 1000 });
      rows.audit.push(audit(`kept-${i}`, now - 399 * DAY));
    }
    if (rows.sessions.length) await db.insertInto('admin_sessions').values(rows.sessions).execute();
    if (rows.revoked.length) await db.insertInto('revoked_tokens').values(rows.revoked).execute();
    if (rows.changes.length) await db.insertInto('changes').values(rows.changes).execute();
    if (rows.audit.length) await db.insertInto('audit_events').values(rows.audit).execute();
  }

  async function remaining(): Promise<{ sessions: string[]; revoked: string[]; changes: string[]; audit: string[] }> {
    const db = store.db;
    const sorted = (xs: string[]) => xs.sort();
    return {
      sessions: sorted((await db.selectFrom('admin_sessions').select('id_hash').execute()).map((r) => r.id_hash)),
      revoked: sorted((await db.selectFrom('revoked_tokens').select('jti').execute()).map((r) => r.jti)),
      changes: sorted((await db.selectFrom('changes').select('ref').execute()).map((r) => r.ref)),
      audit: sorted((await db.selectFrom('audit_events').select('id').execute()).map((r) => r.id)),
    };
  }

  const keptIds = (n: number) => Array.from({ length: n }, (_, i) => `kept-${i}`).sort();

  it('deletes expired sessions, expired revocations, old changes and audit events past the retention; keeps the rest', async () => {
    const now = Date.now();
    await seed(now, 40, 6);
    const result = await pruneOnce(store, policy, { now });
    assert.equal(result.ran, true);
    assert.deepEqual(result.deleted, { sessions: 40, revokedTokens: 40, changes: 40, audit: 40, usageCounters: 0, usageEvents: 0, usageMinutes: 0 });
    const left = await remaining();
    for (const table of ['sessions', 'revoked', 'changes', 'audit'] as const) assert.deepEqual(left[table], keptIds(6), table);
    // Nothing left to do: a second pass deletes nothing.
    assert.deepEqual((await pruneOnce(store, policy, { now })).deleted, { sessions: 0, revokedTokens: 0, changes: 0, audit: 0, usageCounters: 0, usageEvents: 0, usageMinutes: 0 });
  });

  it('works off a backlog in bounded batches, over several runs', async () => {
    const now = Date.now();
    await seed(now, 50, 2);
    const bounded = { ...policy, batchSize: 10, maxBatchesPerRun: 2 };
    const first = await pruneOnce(store, bounded, { now });
    assert.deepEqual(first.deleted, { sessions: 20, revokedTokens: 20, changes: 20, audit: 20, usageCounters: 0, usageEvents: 0, usageMinutes: 0 }, 'at most 2 batches of 10 per table per run');
    await pruneOnce(store, bounded, { now });
    const third = await pruneOnce(store, bounded, { now });
    assert.deepEqual(third.deleted, { sessions: 10, revokedTokens: 10, changes: 10, audit: 10, usageCounters: 0, usageEvents: 0, usageMinutes: 0 });
    const left = await remaining();
    for (const table of ['sessions', 'revoked', 'changes', 'audit'] as const) assert.deepEqual(left[table], keptIds(2), table);
    // The audit retention is configurable: 1 day drops the 399-day-old events too.
    const oneDay = await pruneOnce(store, { ...policy, auditRetentionDays: 1 }, { now });
    assert.equal(oneDay.deleted.audit, 2);
  });

  it('stops between batches when asked (shutdown)', async () => {
    const now = Date.now();
    await seed(now, 30, 0);
    let statements = 0;
    const result = await pruneOnce(store, { ...policy, batchSize: 5 }, { now, shouldContinue: () => statements++ < 1 });
    assert.deepEqual(result.deleted, { sessions: 5, revokedTokens: 0, changes: 0, audit: 0, usageCounters: 0, usageEvents: 0, usageMinutes: 0 });
  });

  it('the region-side pruner runs on its own interval and stops cleanly', async () => {
    const now = Date.now();
    await seed(now, 12, 1);
    const pruner = new RetentionPruner(store, policy, pino({ level: 'silent' }), 40);
    pruner.start();
    try {
      const deadline = Date.now() + 5000;
      while ((await remaining()).audit.length > 1) {
        assert.ok(Date.now() < deadline, 'the pruner ran within 5 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await pruner.stop();
    }
    assert.deepEqual((await remaining()).changes, keptIds(1));
  });

  it('keeps the unused token_rate_limit_per_minute column (the previous release reads it) and indexes audit events by time', async () => {
    const probe =
      dialect === 'sqlite'
        ? (await store.db.introspection.getTables()).find((t) => t.name === 'accounts')
        : await (async () => {
            const current = (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]?.s;
            return (await store.db.introspection.getTables()).find((t) => t.name === 'accounts' && t.schema === current);
          })();
    assert.ok(probe, 'accounts table');
    const columns = probe.columns.map((c) => c.name);
    assert.ok(columns.includes('api_rate_limit_per_minute'));
    assert.ok(columns.includes('token_rate_limit_per_minute'), `rolling upgrade: the previous release still reads it (${columns.join(',')})`);
    const indexes =
      dialect === 'sqlite'
        ? (await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(store.db)).rows
        : (await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema()`.execute(store.db)).rows;
    const names = indexes.map((i) => i.name);
    assert.ok(names.includes('audit_events_at_idx') && names.includes('admin_sessions_expires_idx'), names.join(','));
  });

  if (dialect === 'postgres') {
    it('on PostgreSQL one instance prunes at a time: a pass skips while another holds the lock', async () => {
      const now = Date.now();
      await seed(now, 9, 1);
      const schema = (await store.db.selectNoFrom((eb) => eb.fn<string>('current_schema').as('s')).executeTakeFirstOrThrow()).s;
      const other = new pg.Client({ connectionString: postgresUrl, options: `-c search_path="${schema}"` });
      await other.connect();
      try {
        await other.query(`select pg_advisory_lock(hashtext($1 || current_schema()))`, [RETENTION_LOCK]);
        const skipped = await pruneOnce(store, policy, { now });
        assert.equal(skipped.ran, false);
        assert.equal((await remaining()).audit.length, 10, 'nothing deleted while another instance prunes');
        await other.query(`select pg_advisory_unlock(hashtext($1 || current_schema()))`, [RETENTION_LOCK]);
        const ran = await pruneOnce(store, policy, { now });
        assert.equal(ran.ran, true);
        assert.equal(ran.deleted.audit, 9);
      } finally {
        await other.end();
      }
    });

    it('on PostgreSQL, instances pruning together on one schema delete each row once and never fail', async () => {
      const now = Date.now();
      await seed(now, 60, 3);
      const stores = await Promise.all([1, 2, 3].map(() => fixtureStore()));
      try {
        const results = await Promise.all([store, ...stores].map((s) => pruneOnce(s, { ...policy, batchSize: 3 }, { now })));
        const audit = results.reduce((sum, r) => sum + r.deleted.audit, 0);
        const again = await pruneOnce(store, policy, { now });
        assert.equal(audit + again.deleted.audit, 60);
        assert.deepEqual((await remaining()).audit, keptIds(3));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  }

  /** Another instance on the same schema. */
  async function fixtureStore(): Promise<Store> {
    const { Store } = await import('../../src/store/store.js');
    const schema = (await store.db.selectNoFrom((eb) => eb.fn<string>('current_schema').as('s')).executeTakeFirstOrThrow()).s;
    return Store.open({ dataDir: '/nonexistent', databaseUrl: postgresUrl, databaseSchema: schema });
  }
});
