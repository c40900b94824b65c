// The retention pruner on SQLite must not hold the event loop for a whole run. better-sqlite3 is
// synchronous under Kysely's promises: awaiting one batch's DELETE yields to microtasks only, so a
// run of many batches (expired revocations after a mass revocation: up to 200 batches of 500)
// blocked every request for all of them in a row (here, before the fix: one 157 ms stall for the
// 147 ms run over 50,000 rows; longer on a large file). Now the loop runs between batches: the
// longest stall is about one batch.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DEFAULT_RETENTION, type RetentionPolicy, pruneOnce } from '../../src/store/retention.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../support/env.js';

const EXPIRED = 50_000;
const policy: RetentionPolicy = { ...DEFAULT_RETENTION, sessionIdleMs: 30 * 60_000 };

const dir = tempDir();
let store: Store;

before(async () => {
  store = await Store.open({ dataDir: dir.path });
});
after(async () => {
  await store.close();
  dir.remove();
});

it(`pruning ${EXPIRED.toLocaleString('en')} expired revocations on SQLite lets the event loop run between batches`, async () => {
  const account = await store.accounts.create({ name: 'Stall' });
  const now = Date.now();
  const rows = Array.from({ length: EXPIRED }, (_, i) => ({ jti: `jti-${i}`, account_id: account.id, client_id: 'cid', revoked_at: now - 7_200_000, expires_at: now - 3_600_000 }));
  for (let i = 0; i < rows.length; i += 1000) await store.db.insertInto('revoked_tokens').values(rows.slice(i, i + 1000)).execute();

  // The longest time between two turns of the event loop while the pruner runs.
  let longest = 0;
  let last = performance.now();
  let ticking = true;
  const tick = () => {
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const started = performance.now();
  const result = await pruneOnce(store, policy, { now });
  const took = performance.now() - started;
  await new Promise((resolve) => setImmediate(resolve)); // the turn right after the run counts too
  ticking = false;

  assert.equal(result.deleted.revokedTokens, EXPIRED);
  assert.equal(Number((await store.db.selectFrom('revoked_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 0);
  // 100 batches of 500: the longest stall is about one of them, far from the whole run (before:
  // the whole run was one stall, longest ~ took).
  assert.ok(longest < took / 4, `the event loop waited ${longest.toFixed(1)} ms at once during a ${took.toFixed(1)} ms run`);
});
