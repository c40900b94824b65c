// Batched maintenance writes on SQLite must not hold the event loop for all their batches in a row.
// better-sqlite3 is synchronous under Kysely's promises: awaiting one statement yields to
// microtasks only, so a loop of statements blocked every request for the whole loop:
// - the retention pruner (expired revocations after a mass revocation: up to 200 batches of 500;
//   here, before the fix, one 157 ms stall for the 147 ms run over 50,000 rows);
// - the lastUsedAt flush (one statement per 500 credentials: 10,000 credentials in use at
//   1,000,000 in the store were a 1.1 s stall; here, before the fix, 99 ms for a 97 ms write).
// Now the loop runs between statements: the longest stall is about one of them. Asserted by
// counting the event loop's turns during the work, which does not depend on the machine's speed.
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

  const monitor = loopMonitor();
  const started = performance.now();
  const result = await pruneOnce(store, policy, { now });
  const took = performance.now() - started;
  const { turns, longest } = monitor.stop();

  assert.equal(result.deleted.revokedTokens, EXPIRED);
  assert.equal(Number((await store.db.selectFrom('revoked_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 0);
  // 100 batches of 500, the event loop turning between them (before: not once during the run,
  // one stall as long as the run).
  assert.ok(turns >= 50, `the event loop turned ${turns} times during a ${took.toFixed(1)} ms run of 100 batches (longest wait ${longest.toFixed(1)} ms)`);
});

it('writing lastUsedAt of 20,000 credentials on SQLite lets the event loop run between statements', async () => {
  const now = Date.now();
  const entries = new Map(Array.from({ length: 20_000 }, (_, i) => [`client-${i}`, now] as const));
  const monitor = loopMonitor();
  const started = performance.now();
  await store.credentials.touchLastUsed(entries);
  const took = performance.now() - started;
  const { turns, longest } = monitor.stop();
  // 40 statements of 500, the event loop turning between them (before: back to back, one stall).
  assert.ok(turns >= 20, `the event loop turned ${turns} times during a ${took.toFixed(1)} ms write of 40 statements (longest wait ${longest.toFixed(1)} ms)`);
});

/**
 * Counts the turns of the event loop from now until stop() is called, and the longest time
 * between two of them (for the message). The count does not depend on the machine's speed: a loop
 * of statements that never yields completes within one turn (0 counted), one that yields between
 * statements gives a turn per statement.
 */
function loopMonitor(): { stop(): { turns: number; longest: number } } {
  let longest = 0;
  let turns = 0;
  let last = performance.now();
  let ticking = true;
  const tick = () => {
    if (!ticking) return;
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      ticking = false;
      return { turns, longest: Math.max(longest, performance.now() - last) };
    },
  };
}
