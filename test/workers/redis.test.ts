// With REDIS_URL the workers of one `serve` share the account's budget through Redis directly, as
// separate instances do; the primary's ledger is not in the way.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisUrl, periodStart } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { type Instance, awayFromWindowEnd, fresh, pool, startInstance, tenant, token } from './helpers.js';

describe('serve with 2 worker processes and Redis', async () => {
  const skip = !(await redisAvailable()) && 'Redis is not available';
  const region = `w${randomBytes(4).toString('hex')}`;
  let instance: Instance;
  let redis: Redis;

  before(async () => {
    if (skip) return;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    instance = await startInstance({ REDIS_URL: redisUrl, CCAUTH_REGION: region });
  });
  after(async () => {
    await instance?.close();
    if (!redis) return;
    for await (const keys of redis.scanStream({ match: `ccauth:${region}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('one budget: exactly 20 of 60 requests over both workers, counted in Redis', { skip }, async () => {
    const t = await tenant(instance, 'Shared', 20);
    const bearer = await token(instance.base, t.credential);
    await awayFromWindowEnd(10_000);
    const responses = await pool(60, 4, () => fresh(instance.base, 'GET', '/useradmin/users', { headers: { authorization: `Bearer ${bearer}` } }));
    const statuses = responses.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 20, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 429).length, 40, statuses.join(' '));
    assert.equal(new Set(responses.map((r) => r.worker)).size, 2, 'both workers answered');
    // The leases were taken from Redis: the account's count of this window is there.
    const windowStart = periodStart(60_000);
    const counted = Number(await redis.get(`ccauth:${region}:rl:${t.accountId}:${windowStart}`));
    assert.ok(counted >= 20 && counted <= 21, `Redis counted ${counted}`);
  });
});
