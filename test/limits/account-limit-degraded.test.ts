import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { AccountRateLimiter } from '../../src/gateway/rate-limit.js';
import { redisUrl, periodStart } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { type StallableProxy, deleteRedisKeys, stallableProxy } from './helpers.js';

/**
 * Review of issue 7 item 10: a short Redis stall (a fork for a snapshot, say) switches the
 * instances to local decisions for a second; they must then keep to their share of what the
 * shared count left free, not each to the whole limit. And the instance's own event-loop lag is
 * not taken for a slow Redis. Real Redis, each instance with its own connection through a TCP
 * proxy of the test's own that holds bytes back while stalled.
 *
 * @run-alone (scripts/run-tests.mjs): its bounds are real time.
 */
const ready = await redisAvailable();
const LIMIT = 6000;
/**
 * The lease timeout of these instances, and the stall: longer than the product's 100 ms so that
 * a loaded CI machine (Redis itself starved of CPU for 100 ms) does not switch an instance to
 * local decisions outside the stall the test makes; the stall is longer than the timeout.
 */
const LEASE_TIMEOUT_MS = 400;
const STALL_MS = 600;

interface Fleet {
  limiters: AccountRateLimiter[];
  proxy: StallableProxy;
  errors: unknown[];
  fire(count: number, account: string): Promise<number>;
  close(): Promise<void>;
}

describe('the shared account limit while Redis stalls', { skip: ready ? false : 'Redis is required (and in CI it must answer)' }, () => {
  const prefixes: string[] = [];
  after(async () => {
    for (const prefix of prefixes) await deleteRedisKeys(prefix);
  });

  async function fleet(count: number, clock: () => number): Promise<Fleet> {
    const prefix = `ccauth:t${randomBytes(4).toString('hex')}:rl`;
    prefixes.push(prefix);
    const proxy = await stallableProxy(Number(new URL(redisUrl).port || 6379));
    const errors: unknown[] = [];
    const conns: Redis[] = [];
    const limiters: AccountRateLimiter[] = [];
    for (let i = 0; i < count; i++) {
      const redis = new Redis({ host: '127.0.0.1', port: proxy.port, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
      conns.push(redis);
      const limiter = new AccountRateLimiter(redis, prefix, 200, (err) => errors.push(err), { clock, leaseTimeoutMs: LEASE_TIMEOUT_MS });
      limiter.start();
      limiters.push(limiter);
    }
    return {
      limiters,
      proxy,
      errors,
      async fire(n, account) {
        let allowed = 0;
        // In batches, as requests arrive: every instance gets its turn.
        for (let done = 0; done < n; done += 40 * count) {
          const batch = await Promise.all(Array.from({ length: Math.min(40 * count, n - done) }, (_, i) => limiters[i % count]?.consume(account, LIMIT, clock()) as ReturnType<AccountRateLimiter['consume']>));
          allowed += batch.filter((d) => d.allowed).length;
          await sleep(1);
        }
        return allowed;
      },
      async close() {
        proxy.stall(false);
        for (const l of limiters) await l.stop();
        for (const c of conns) c.disconnect();
        await proxy.close();
      },
    };
  }

  /** A clock inside one 60-second window, moving with real time. */
  function windowClock(): () => number {
    const windowStart = periodStart(60_000);
    const t0 = performance.now();
    return () => windowStart + 1000 + Math.floor(performance.now() - t0);
  }

  /**
   * Stalls Redis for `ms` while each instance gets 100 requests (more than a held lease: so each
   * asks Redis and switches to local decisions).
   */
  async function stallDuring(f: Fleet, ms: number, account: string): Promise<number> {
    f.proxy.stall(true);
    const pending = Promise.all(f.limiters.flatMap((l) => Array.from({ length: 100 }, () => l.consume(account, LIMIT))));
    await sleep(ms);
    f.proxy.stall(false);
    return (await pending).filter((d) => d.allowed).length;
  }

  it('4 instances, budget used up, then a stall: nothing more is allowed within the degraded second', async () => {
    const clock = windowClock();
    const f = await fleet(4, clock);
    const account = `acct-${randomBytes(4).toString('hex')}`;
    try {
      let allowed = await f.fire(8000, account);
      assert.ok(allowed <= LIMIT * 1.02 && allowed >= LIMIT * 0.97, `first pass: ${allowed}`);
      // Each instance hears from Redis once more that the budget is used up (spending any lease
      // it still holds), the state a running fleet is in. Without it, an instance whose last
      // answer predates the others' last leases may spend its share of what was left then (the
      // documented bound of the next test), which is not what this test is about.
      for (const l of f.limiters) {
        await sleep(300); // past the recheck of the used-up budget: the next request asks Redis
        for (let i = 0; i < 1000 && (await l.consume(account, LIMIT, clock())).allowed; i++) allowed++;
      }
      assert.ok(allowed <= LIMIT * 1.02, `before the stall: ${allowed}`);
      await sleep(300);
      const errorsBefore = f.errors.length;
      const during = await stallDuring(f, STALL_MS, account);
      allowed += during;
      assert.ok(f.errors.length > errorsBefore, 'the stall was noticed');
      const afterwards = await f.fire(8000, account);
      allowed += afterwards;
      assert.equal(during + afterwards, 0, `allowed after the budget was used up: ${during} during the stall, ${afterwards} afterwards`);
      if (process.env.SHOW) console.log(JSON.stringify({ first: allowed - during - afterwards, during, afterwards, errors: f.errors.length }));
      assert.ok(allowed <= LIMIT * 1.02, `limit ${LIMIT}: ${allowed} allowed`);
    } finally {
      await f.close();
    }
  });

  it('4 instances, half the budget used, then a stall: together they stay within the limit and still serve', async () => {
    const clock = windowClock();
    const f = await fleet(4, clock);
    const account = `acct-${randomBytes(4).toString('hex')}`;
    try {
      let allowed = await f.fire(3000, account);
      assert.equal(allowed, 3000);
      // The held leases are spent first (as they would be), then every instance needs Redis.
      const during = await stallDuring(f, STALL_MS, account);
      const t0 = performance.now();
      const afterwards = await f.fire(8000, account);
      if (process.env.SHOW) console.log(JSON.stringify({ first: allowed, during, afterwards, ms: Math.round(performance.now() - t0), errors: f.errors.length }));
      allowed += during + afterwards;
      assert.ok(f.errors.length >= 1, 'the stall was noticed');
      // The documented bound: what was free at each instance's last lease answer, shared out, so
      // at most what the others were granted after that answer: one lease each (the requests
      // waiting, here a batch of 40, plus 1.5 slices of 0.5%).
      const bound = LIMIT + 3 * (40 + 1.5 * (LIMIT / 200));
      assert.ok(allowed <= bound, `limit ${LIMIT}, bound ${bound}: ${allowed} allowed`);
      assert.ok(allowed >= LIMIT * 0.9, `limit ${LIMIT}: only ${allowed} allowed`);
    } finally {
      await f.close();
    }
  });

  it("the instance's own event-loop lag is not taken for a slow Redis", async () => {
    // A direct connection (the test's proxy would run in this busy process too).
    const prefix = `ccauth:t${randomBytes(4).toString('hex')}:rl`;
    prefixes.push(prefix);
    const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    const errors: unknown[] = [];
    const limiter = new AccountRateLimiter(redis, prefix, 200, (err) => errors.push(err));
    const account = `acct-${randomBytes(4).toString('hex')}`;
    try {
      for (let round = 0; round < 5; round++) {
        // A request that must lease (a new account each round), then this process is busy for
        // 200 ms (a long synchronous task) while Redis answers at once.
        const decision = limiter.consume(`${account}-${round}`, LIMIT);
        const until = performance.now() + 200;
        while (performance.now() < until);
        assert.equal((await decision).allowed, true);
      }
      assert.deepEqual(errors.map(String), []);
    } finally {
      await limiter.stop();
      redis.disconnect();
    }
  });
});
