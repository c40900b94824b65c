// The store-wide locks on PostgreSQL (migrations, first key creation) are tried, not waited for
// without end: an instance that finds the lock held by a stuck one says so while it waits and
// fails with a clear error at the deadline instead of hanging.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';

const available = await postgresAvailable();
const LOCK_CLASS = 0x63636175;

describe('store locks time out', { skip: available ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_lockwait');
  let holder: pg.Client;
  before(async () => {
    // Created and migrated once, so that only the migrate lock is in the way below.
    const store = await Store.open({ dataDir: '/nonexistent', databaseUrl: postgresUrl, databaseSchema: schema });
    await store.close();
    holder = new pg.Client({ connectionString: postgresUrl });
    await holder.connect();
  });
  after(async () => {
    await holder?.end();
    await dropSchema(schema);
  });

  it('a start that finds the migration lock held fails with a clear error at the deadline, having said it waits', async () => {
    await holder.query('select pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, `${schema}:migrate`]);
    const told: string[] = [];
    const started = Date.now();
    const opening = Store.open({ dataDir: '/nonexistent', databaseUrl: postgresUrl, databaseSchema: schema, lockWaitMs: 6000, onLockWait: (m: string) => void told.push(m) });
    const outcome = await Promise.race([
      opening.then(
        async (store) => {
          await store.close();
          return 'opened';
        },
        (err: Error) => err.message,
      ),
      new Promise<string>((r) => setTimeout(() => r('still waiting after 15 s'), 15_000).unref()),
    ]);
    assert.match(outcome, /Timed out after \d+ s waiting for the store lock "migrate"/);
    assert.ok(Date.now() - started < 10_000);
    assert.ok(told.some((m) => m.includes('waiting for the store lock "migrate"')), told.join('\n'));
    await holder.query('select pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, `${schema}:migrate`]);
    // Once the lock is free, a start goes through.
    const store = await Store.open({ dataDir: '/nonexistent', databaseUrl: postgresUrl, databaseSchema: schema });
    await store.close();
  });
});
