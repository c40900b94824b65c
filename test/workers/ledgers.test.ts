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
      fc.record({ kind: fc.constant('lease' as const), window: fc.integer({ min: 0, max: 1 }), elapsed: fc.integer({ min: 0, max: 59_999 }), need: fc.integer({ min: 0, max: 8 }), spare: fc.integer({ min: 0, max: 5 }), debt: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('return' as const), window: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 1, max: 6 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.array(op, { minLength: 1, maxLength: 25 }), async (limit, ops) => {
        const ledger = new LeaseLedger();
        const base = `${prefix}:l${run++}`;
        const key = (w: number) => `${base}:${w}`;
        for (const o of ops) {
          if (o.kind === 'lease') {
            const request = { key: key(o.window + 1), previousKey: key(o.window), limit, elapsed: o.elapsed, need: o.need, spare: o.spare, debt: o.debt, ttlMs: 180_000 };
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

  it('failures: blocked and until per key, across limits and windows', { skip }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ keys: fc.integer({ min: 1, max: 7 }), step: fc.integer({ min: 0, max: 4000 }) }), { minLength: 1, maxLength: 30 }),
        async (limits, attempts) => {
          const ledger = new FailureLedger();
          const counts = new RedisFailureCounts(redis, `${prefix}:f${run++}`);
          let now = 1_700_000_000_000;
          for (const a of attempts) {
            now += a.step;
            // A subset of the keys (bit mask), each with its own limit.
            const keys = limits.map((limit, i) => ({ key: `k${i}`, limit })).filter((_, i) => (a.keys >> i) & 1);
            if (keys.length === 0) continue;
            const expected = await counts.record(keys, now, 10_000);
            const { blocked, until } = ledger.record(keys, now, 10_000);
            assert.deepEqual({ blocked, until }, expected, JSON.stringify({ keys, now }));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
