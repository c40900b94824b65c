import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { AccountRateLimiter, type RateDecision } from '../../src/gateway/rate-limit.js';
import { freePort, redisUrl, periodStart } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { deleteRedisKeys, stallableProxy } from './helpers.js';

/**
 * Issue 7 item 10: the account's API limit shared by several gateway instances through Redis must
 * not overshoot (at most 2% over the limit with 2 and with 4 instances) and must not refuse below
 * the limit by more than the documented margin (what the other instances may hold leased and
 * unused: 1.5 slices of 0.5% of the limit each), without a Redis round trip per request.
 *
 * Each instance is an AccountRateLimiter with its own Redis connection, as in separate processes.
 * They are hammered concurrently for 1.5 s of real time (so Redis answers, timers and syncs
 * interleave with the requests as in a real deployment) on a clock that stays inside one
 * 60-second window (the `now` parameter), with twice the limit in attempts.
 *
 * @run-alone (scripts/run-tests.mjs): its bounds are real time.
 */
const ready = await redisAvailable();
const LIMIT = 6000;
const MARGIN_PER_OTHER_INSTANCE = 0.0075;
/**
 * Longer than the product's 100 ms: on a loaded CI machine Redis itself may be starved of CPU for
 * that long, and a lease timeout (correctly) switches an instance to local decisions, which is the
 * next tests' subject, not this one's.
 */
const LEASE_TIMEOUT_MS = 400;

interface Instance {
  limiter: AccountRateLimiter;
  redis: Redis;
  redisCalls: number;
}

describe('the account limit shared by several instances through Redis', { skip: ready ? false : 'Redis is required (and in CI it must answer)' }, () => {
  const prefixes: string[] = [];
  after(async () => {
    for (const prefix of prefixes) await deleteRedisKeys(prefix);
  });

  async function hammer(instanceCount: number, limit: number): Promise<{ allowed: number; attempts: number; redisCalls: number; decisions: RateDecision[] }> {
    const prefix = `ccauth:t${randomBytes(4).toString('hex')}:rl`;
    prefixes.push(prefix);
    const windowStart = periodStart(60_000);
    const t0 = performance.now();
    const clock = () => windowStart + 1000 + Math.floor(performance.now() - t0);
    const instances: Instance[] = [];
    for (let i = 0; i < instanceCount; i++) {
      const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      await new Promise<void>((resolve, reject) => {
        redis.once('ready', resolve);
        redis.once('error', reject);
      });
      const instance: Instance = { redis, redisCalls: 0, limiter: new AccountRateLimiter(redis, prefix, 200, (err) => assert.fail(`Redis error: ${String(err)}`), { clock, leaseTimeoutMs: LEASE_TIMEOUT_MS }) };
      // Count the commands this instance sends (every Redis round trip).
      const sendCommand = redis.sendCommand.bind(redis);
      redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
        instance.redisCalls++;
        return sendCommand(...args);
      }) as Redis['sendCommand'];
      instance.limiter.start();
      instances.push(instance);
    }
    const account = `acct-${randomBytes(4).toString('hex')}`;
    const attemptsPerInstance = Math.ceil((2 * limit) / instanceCount);
    const batches = 300;
    const perBatch = Math.ceil(attemptsPerInstance / batches);
    let allowed = 0;
    let attempts = 0;
    const decisions: RateDecision[] = [];
    try {
      await Promise.all(
        instances.map(async (instance) => {
          for (let b = 0; b < batches; b++) {
            const results = await Promise.all(Array.from({ length: perBatch }, () => instance.limiter.consume(account, limit, clock())));
            for (const d of results) {
              attempts++;
              if (d.allowed) allowed++;
              decisions.push(d);
            }
            await sleep(5);
          }
        }),
      );
    } finally {
      for (const instance of instances) {
        await instance.limiter.stop();
        instance.redis.disconnect();
      }
    }
    assert.ok(clock() - windowStart < 60_000, 'the run stayed inside one window');
    return { allowed, attempts, redisCalls: instances.reduce((n, i) => n + i.redisCalls, 0), decisions };
  }

  for (const n of [2, 4]) {
    it(`${n} instances, ${LIMIT}/min, ${2 * LIMIT} attempts: allowed within [limit - margin, limit + 2%]`, async () => {
      const { allowed, attempts, redisCalls, decisions } = await hammer(n, LIMIT);
      const context = `${allowed} allowed of ${attempts} attempts, ${redisCalls} Redis calls`;
      if (process.env.SHOW) console.log(n, context);
      assert.ok(allowed <= LIMIT * 1.02, `overshoot: ${context}`);
      assert.ok(allowed >= LIMIT * (1 - MARGIN_PER_OTHER_INSTANCE * (n - 1)), `refused below the limit: ${context}`);
      // No Redis round trip per request: leases of 0.5% of the limit, a few hundred calls at most.
      assert.ok(redisCalls < attempts / 10, `Redis calls: ${context}`);
      // The headers stay meaningful: remaining counts down to 0, refusals say when to retry.
      const refused = decisions.filter((d) => !d.allowed);
      assert.ok(refused.length > 0);
      for (const d of refused) {
        assert.equal(d.remaining, 0);
        assert.ok(d.retryAfterSeconds >= 1 && d.retryAfterSeconds <= 120, `Retry-After ${d.retryAfterSeconds}`);
      }
      for (const d of decisions) assert.ok(d.remaining >= 0 && d.remaining <= LIMIT && d.limit === LIMIT);
    });
  }

  it('a small limit (10/min) over 2 instances: exactly 10 allowed', async () => {
    const { allowed } = await hammer(2, 10);
    assert.equal(allowed, 10);
  });

  it('Redis hangs mid-run: requests are decided locally within the lease timeout, then leasing resumes', async () => {
    const prefix = `ccauth:t${randomBytes(4).toString('hex')}:rl`;
    prefixes.push(prefix);
    const proxy = await stallableProxy(Number(new URL(redisUrl).port || 6379));
    const redis = new Redis({ host: '127.0.0.1', port: proxy.port, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const direct = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    let now = periodStart(60_000) + 1000;
    const errors: unknown[] = [];
    const limiter = new AccountRateLimiter(redis, prefix, 200, (err) => errors.push(err), { clock: () => now, leaseTimeoutMs: LEASE_TIMEOUT_MS, degradedMs: 500 });
    const account = 'acct-stall';
    const key = `${prefix}:${account}:${now - (now % 60_000)}`;
    try {
      await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
      for (let i = 0; i < 50; i++) assert.equal((await limiter.consume(account, 100, now)).allowed, true);
      const leased = Number(await direct.get(key));
      assert.ok(leased >= 50 && leased <= 100, `leased ${leased}`);

      proxy.stall(true);
      // Use up the lease, then the next request must not hang on Redis.
      const started = performance.now();
      let allowed = 0;
      for (let i = 0; i < 60; i++) if ((await limiter.consume(account, 100, ++now)).allowed) allowed++;
      const took = performance.now() - started;
      // One lease timeout, then local decisions.
      assert.ok(took < 2000, `decided in ${took.toFixed(0)} ms while Redis hangs`);
      assert.ok(errors.length >= 1, 'the hang is reported');
      // Local counts decide meanwhile, as without Redis: 100 in all for this instance.
      assert.equal(allowed, 50);
      assert.equal((await limiter.consume(account, 100, ++now)).allowed, false);

      proxy.stall(false);
      now += 600; // past the degraded period
      // The local decisions were added to the shared count with the first lease after the outage.
      await limiter.consume(account, 200, now);
      for (let i = 0; i < 50 && Number(await direct.get(key)) < 100; i++) await sleep(20);
      assert.ok(Number(await direct.get(key)) >= 100, `shared count ${await direct.get(key)} includes what was allowed locally`);
    } finally {
      await limiter.stop();
      redis.disconnect();
      direct.disconnect();
      await proxy.close();
    }
  });

  it('Redis down from the start: each instance keeps the limit with its local counts', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: await freePort(), enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 1000, lazyConnect: false });
    redis.on('error', () => undefined);
    const limiter = new AccountRateLimiter(redis, 'ccauth:unused:rl');
    limiter.start();
    try {
      const decisions = [];
      for (let i = 0; i < 5; i++) decisions.push(await limiter.consume('acct-down', 3));
      assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, false, false]);
      assert.deepEqual(decisions.map((d) => d.remaining), [2, 1, 0, 0, 0]);
    } finally {
      await limiter.stop();
      redis.disconnect();
    }
  });
});
