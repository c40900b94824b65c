// The primary's in-memory budgets and failure counts follow the Redis scripts they stand in for:
// the same operations, run against both, give the same answers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { FailureLedger, RedisFailureCounts } from '../../src/auth/failure-limiter.js';
import { LeaseLedger, RedisLeaseSource } from '../../src/gateway/rate-limit.js';
import { redisUrl } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';

describe('the primary ledgers match the Redis scripts', async () => {
  const skip = !(await redisAvailable()) && 'Redis is not available';
  let redis: Redis;
  const prefix = `ccauth-test-ledger-${randomBytes(4).toString('hex')}`;

  before(async () => {
    if (skip) return;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await redis.ping();
  });
  after(async () => {
    if (!redis) return;
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('leases: grants, counts and what is left, over two windows, with debts and returns', { skip }, async () => {
    const source = new RedisLeaseSource(redis);
    let run = 0;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('lease' as const), window: fc.integer({ min: 0, max: 1 }), elapsed: fc.integer({ min: 0, max: 59_999 }), need: fc.integer({ min: 0, max: 8 }), spare: fc.integer({ min: 0, max: 5 }), debt: fc.integer({ min: 0, max: 4 }), instance: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('return' as const), window: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 1, max: 6 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.array(op, { minLength: 1, maxLength: 25 }), async (limit, ops) => {
        const ledger = new LeaseLedger();
        const base = `${prefix}:l${run++}`;
        const key = (w: number) => `${base}:${w}`;
        for (const o of ops) {
          if (o.kind === 'lease') {
            const request = { key: key(o.window + 1), previousKey: key(o.window), instancesKey: `${base}:instances`, instance: `i${o.instance}`, limit, elapsed: o.elapsed, need: o.need, spare: o.spare, debt: o.debt, ttlMs: 180_000 };
            assert.deepEqual(ledger.lease(request), await source.lease(request), JSON.stringify(o));
          } else {
            ledger.giveBack([[key(o.window + 1), o.n]]);
            await source.giveBack([[key(o.window + 1), o.n]]);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('failures: blocked and until per key, across limits and windows (the script keeps Redis time)', { skip }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ keys: fc.integer({ min: 1, max: 7 }), step: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })), withdraw: fc.boolean() }), { minLength: 1, maxLength: 20 }),
        async (limits, attempts) => {
          const ledger = new FailureLedger();
          const counts = new RedisFailureCounts(redis, `${prefix}:f${run++}`);
          let n = 0;
          for (const a of attempts) {
            // Real time passes (the script reads Redis's clock); the ledger is told the time Redis used.
            if (a.step) await new Promise((resolve) => setTimeout(resolve, a.step));
            // A subset of the keys (bit mask), each with its own limit.
            const keys = limits.map((limit, i) => ({ key: `k${i}`, limit })).filter((_, i) => (a.keys >> i) & 1);
            if (keys.length === 0) continue;
            const member = `m${n++}`;
            const expected = await counts.recordRaw(keys, 100, member);
            const { blocked, until } = ledger.record(keys, expected.redisNow, 100, member);
            assert.deepEqual({ blocked, until }, { blocked: expected.blocked, until: expected.until }, JSON.stringify({ keys, now: expected.redisNow }));
            if (a.withdraw) {
              await counts.withdraw(keys, member);
              ledger.withdraw(keys, member);
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('failures: an instance whose clock is off by minutes neither trims nor extends the window', { skip }, async () => {
    const counts = new RedisFailureCounts(redis, `${prefix}:skew`);
    const keys = [{ key: 'pair', limit: 3 }];
    const now = Date.now();
    // Two failures from an instance 10 minutes ahead, one from an instance 10 minutes behind.
    await counts.record(keys, now + 600_000, 60_000);
    await counts.record(keys, now + 600_000, 60_000);
    const third = await counts.record(keys, now - 600_000, 60_000);
    assert.equal(third.blocked, false);
    // The key is at its limit in every instance's own clock, for about the window from now.
    const [until] = third.until;
    assert.ok(until !== undefined && until - (now - 600_000) > 55_000 && until - (now - 600_000) <= 61_000, `until ${until} in the caller's clock`);
    assert.equal((await counts.record(keys, now, 60_000)).blocked, true);
  });
});
