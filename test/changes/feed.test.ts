import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ChangeFeed } from '../../src/changes/feed.js';
import { type Change, recordChange } from '../../src/store/changes.js';
import { DEFAULT_RETENTION, pruneOnce } from '../../src/store/retention.js';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, tempDir, uniqueSchema } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest } from '../support/region.js';

/**
 * The change feed on PostgreSQL, where a change id is taken at INSERT and becomes visible at
 * COMMIT: out-of-order commits, a listener that fails once, and the start-up cursor.
 */

const pg = await postgresAvailable();
const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A transaction that has written a change row and waits, uncommitted, until released. */
function heldChange(store: Store, ref: string): { written: Promise<void>; commit: () => Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let written!: () => void;
  const writtenP = new Promise<void>((r) => (written = r));
  const done = store.transaction(async (trx) => {
    await recordChange(trx, 'credential', ref);
    written();
    await gate;
  });
  return {
    written: writtenP,
    commit: async () => {
      release();
      await done;
    },
  };
}

describe('change feed on PostgreSQL', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_feedu');
  const dir = tempDir();
  let a: Store;
  let b: Store;
  before(async () => {
    a = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
    b = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    dir.remove();
    await dropSchema(schema);
  });

  const follow = async (store: Store) => {
    const feed = new ChangeFeed(store, 60_000, silent);
    const seen: string[] = [];
    feed.onChange((change: Change) => void seen.push(change.ref));
    await feed.start();
    return { feed, seen };
  };

  it('delivers a change whose id became visible after a higher one (out-of-order commits)', async () => {
    const { feed, seen } = await follow(b);
    const early = heldChange(a, 'early'); // takes id N, not committed
    await early.written;
    await recordChange(b.db, 'credential', 'late'); // takes N+1, committed at once
    await feed.poll();
    assert.deepEqual(seen, ['late']);
    await early.commit();
    await feed.poll();
    assert.deepEqual(seen, ['late', 'early'], 'the change committed late is delivered');
    await feed.poll();
    assert.deepEqual(seen, ['late', 'early'], 'and only once');
    await feed.stop();
  });

  it('delivers again a change whose listener failed, until it succeeds', async () => {
    const feed = new ChangeFeed(b, 60_000, silent);
    const handled: string[] = [];
    let failures = 0;
    feed.onChange((change: Change) => {
      if (change.ref === 'flaky' && failures++ === 0) throw new Error('store blip');
      handled.push(change.ref);
    });
    await feed.start();
    await recordChange(a.db, 'credential', 'flaky');
    await recordChange(a.db, 'credential', 'after');
    await feed.poll();
    assert.deepEqual(handled, [], 'nothing after the failed change is skipped over');
    await feed.poll();
    assert.deepEqual(handled, ['flaky', 'after']);
    await feed.stop();
  });

  it('at start, a change whose id is below the cursor but not yet committed is still delivered', async () => {
    const early = heldChange(a, 'in-flight'); // id N, not committed
    await early.written;
    await recordChange(b.db, 'credential', 'committed'); // N+1, committed
    const { feed, seen } = await follow(b); // the cursor is N+1
    await early.commit();
    await feed.poll();
    assert.deepEqual(seen, ['in-flight']);
    await feed.stop();
  });
});

describe('change feed after the retention pruner ran', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_feedp');
  const dir = tempDir();
  let store: Store;
  before(async () => {
    store = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
  });
  after(async () => {
    await store?.close();
    dir.remove();
    await dropSchema(schema);
  });

  /** An instance starts on the pruned table; then an out-of-order commit must reach it at once. */
  async function outOfOrderAfterStart(): Promise<{ seen: string[]; waiting: number }> {
    const feed = new ChangeFeed(store, 60_000, silent);
    const seen: string[] = [];
    feed.onChange((change: Change) => void seen.push(change.ref));
    await feed.start();
    try {
      const early = heldChange(store, 'deleted-credential'); // id N, committed late
      await early.written;
      await recordChange(store.db, 'credential', 'other'); // N+1, committed first
      await feed.poll();
      await early.commit();
      await feed.poll();
      return { seen, waiting: feed.waiting };
    } finally {
      await feed.stop();
    }
  }

  it('the pruner keeps the newest row, and a starting instance does not wait for pruned ids', async () => {
    // A region that has seen 1500 changes, then an hour of quiet.
    const hourAgo = Date.now() - 61 * 60_000;
    await store.db.insertInto('changes').values(Array.from({ length: 1500 }, (_, i) => ({ kind: 'credential', ref: `c${i}`, at: hourAgo }))).execute();
    const result = await pruneOnce(store, { ...DEFAULT_RETENTION, sessionIdleMs: 1 });
    assert.equal(result.deleted.changes, 1499, 'every row but the newest');
    const { seen, waiting } = await outOfOrderAfterStart();
    assert.deepEqual(seen.sort(), ['deleted-credential', 'other'], 'the late commit is delivered by the next poll');
    assert.equal(waiting, 0);
  });

  it('a feed whose cursor is behind rows that were pruned reloads in full and still gets a late commit', async () => {
    // A table emptied by an older pruner: the cursor starts at 0, far below the next ids.
    await store.db.insertInto('changes').values(Array.from({ length: 1500 }, (_, i) => ({ kind: 'credential', ref: `d${i}`, at: Date.now() }))).execute();
    await store.db.deleteFrom('changes').execute();
    const feed = new ChangeFeed(store, 60_000, silent);
    const seen: string[] = [];
    let reloads = 0;
    feed.onChange((change: Change) => void seen.push(change.ref));
    feed.onResync(() => void reloads++);
    await feed.start();
    const early = heldChange(store, 'deleted-credential');
    try {
      await early.written;
      await recordChange(store.db, 'credential', 'other');
      await feed.poll();
      assert.equal(reloads, 1, 'a full reload at once');
      assert.ok(feed.waiting <= 1000, `waits only for ids that may still be in flight (${feed.waiting})`);
      await early.commit();
      await feed.poll();
      assert.deepEqual(seen, ['other', 'deleted-credential'], 'the late commit is delivered by the next poll');
    } finally {
      await early.commit(); // (again: a no-op once committed)
      await feed.stop();
    }
  });
});

describe('region start-up and the feed cursor', { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_feeds');
  const dir = tempDir();
  const env = { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_PUBLIC_URL: 'https://start.ccauth.test' };
  after(async () => {
    dir.remove();
    await dropSchema(schema);
  });

  it('a revocation committed while an instance starts is applied by it', async () => {
    const first = await startRegion(env);
    const writer = await Store.open({ dataDir: dir.path, databaseUrl: postgresUrl, databaseSchema: schema });
    try {
      const tenant = await createTenant(first.region);
      const { credential, clientSecret } = await createCredential(first.region, tenant.admin, ['agents-availability:read']);
      const res = await tokenRequest(first.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'agents-availability:read' });
      const token = res.body.access_token as string;
      const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string; exp: number };
      // The revocation takes its change id first and commits only after the new instance has
      // read its cursor and loaded the revocation list; another change commits in between.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let written!: () => void;
      const isWritten = new Promise<void>((r) => (written = r));
      const revocation = writer.transaction(async (trx) => {
        await writer.revokedTokens.add({ jti: claims.jti, accountId: tenant.account.id, clientId: credential.clientId, expiresAt: claims.exp * 1000 }, trx);
        written();
        await gate;
      });
      await isWritten;
      await first.region.store.accounts.update(tenant.account.id, { name: 'Renamed while starting' });
      const second = await startRegion(env);
      try {
        release();
        await revocation;
        const call = async () => (await fetch(`${second.baseUrl}/agents-availability?skillNames=English`, { headers: { authorization: `Bearer ${token}` } })).status;
        const deadline = Date.now() + 1000;
        let status = await call();
        while (status !== 401 && Date.now() < deadline) {
          await sleep(50);
          status = await call();
        }
        assert.equal(status, 401, 'the new instance applies the revocation within 1 s');
        await sleep(300);
        assert.equal(await call(), 401);
      } finally {
        await second.close();
      }
    } finally {
      await writer.close();
      await first.close();
    }
  });
});
