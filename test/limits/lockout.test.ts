import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SessionService } from '../../src/admin/sessions.js';
import { freePort, redisUrl } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { createCredential, createTenant, startRegion, type TestRegion } from '../support/region.js';
import { PASSWORD, portalTenant } from '../support/portal-client.js';
import { type Answer, deleteRedisKeys, freshIp, loopbackAliases, signInFrom, stallableProxy, tokenFrom } from './helpers.js';

/**
 * Issue 7 item 8 / SPEC 3: failures from an attacker's address never lock a client (or an admin)
 * out of its own address. Counted per (client ID, IP) and per IP, with a per-client ceiling 50x
 * higher; admin sign-in per (email, IP), per IP and a per-email ceiling. Source addresses are
 * real: requests are sent from distinct loopback addresses (127.x.y.z) to regions that do not
 * trust X-Forwarded-For.
 */
const skipNoAliases = loopbackAliases ? false : 'needs 127.x.y.z source addresses (Linux loopback)';

function assertTokenLimited(res: Answer, context: string): void {
  assert.equal(res.status, 429, `${context}: ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description'], context);
  assert.equal(res.json.error, 'temporarily_unavailable', context);
  assert.match(String(res.headers['retry-after']), /^\d+$/, context);
  assert.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 60, context);
}

function assertSignInLimited(res: Answer, context: string): void {
  assert.equal(res.status, 429, `${context}: ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'message'], context);
  assert.equal(res.json.error, 'rate_limited', context);
  assert.match(String(res.headers['retry-after']), /^\d+$/, context);
  assert.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 15 * 60, context);
}

describe('lockout that an attacker cannot turn against the client (one instance, default limits)', { skip: skipNoAliases }, () => {
  let t: TestRegion;
  before(async () => {
    // The default: 20 failures a minute per (client ID, IP) and per IP.
    t = await startRegion({ CCAUTH_AUTH_FAILURES_PER_MINUTE: '20' });
  });
  after(async () => {
    await t?.close();
  });

  it('an attacker address fails 30 times; the real client from its own address still gets a token', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats']);
    const attacker = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await tokenFrom(t.baseUrl, attacker, credential.clientId, `guess-${i}`)).status);
    assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(10).fill(429)]);
    assertTokenLimited(await tokenFrom(t.baseUrl, attacker, credential.clientId, clientSecret), 'the right secret from the attacker address');
    const own = freshIp();
    const res = await tokenFrom(t.baseUrl, own, credential.clientId, clientSecret);
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json.access_token, 'string');
    // Its own failures (a misconfigured deploy) still count for its own address.
    assert.equal((await tokenFrom(t.baseUrl, own, credential.clientId, 'typo')).status, 401);
    assert.equal((await tokenFrom(t.baseUrl, own, credential.clientId, clientSecret)).status, 200);
  });

  it('per IP: an attacker rotating client IDs is stopped at the per-IP limit', async () => {
    const tenant = await createTenant(t.region);
    const victims: Awaited<ReturnType<typeof createCredential>>[] = [];
    for (let i = 0; i < 4; i++) victims.push(await createCredential(t.region, tenant.admin, ['stats']));
    const attacker = freshIp();
    for (let i = 0; i < 20; i++) {
      // Known client IDs with wrong secrets and unknown IDs, never more than 5 per ID.
      const id = i % 2 ? (victims[i % 4]?.credential.clientId as string) : randomBytes(12).toString('hex');
      assert.equal((await tokenFrom(t.baseUrl, attacker, id, 'guess')).status, 401, `failure ${i + 1}`);
    }
    assertTokenLimited(await tokenFrom(t.baseUrl, attacker, randomBytes(12).toString('hex'), 'guess'), 'a fresh client ID from the attacker address');
    assertTokenLimited(await tokenFrom(t.baseUrl, attacker, victims[0]?.credential.clientId as string, victims[0]?.clientSecret as string), 'a right secret from the attacker address');
    for (const v of victims) assert.equal((await tokenFrom(t.baseUrl, freshIp(), v.credential.clientId, v.clientSecret)).status, 200);
  });

  it('admin sign-in: 5 wrong passwords from an attacker address do not lock the admin out of their own', async () => {
    const tenant = await portalTenant(t.region);
    const attacker = freshIp();
    for (let i = 0; i < 5; i++) assert.equal((await signInFrom(t.baseUrl, attacker, tenant.admin.email, `guess-${i}`)).status, 401, `failure ${i + 1}`);
    assertSignInLimited(await signInFrom(t.baseUrl, attacker, tenant.admin.email, 'guess-again'), 'sixth guess');
    assertSignInLimited(await signInFrom(t.baseUrl, attacker, tenant.admin.email, PASSWORD), 'the right password from the attacker address');
    const own = await signInFrom(t.baseUrl, freshIp(), tenant.admin.email, PASSWORD);
    assert.equal(own.status, 200, own.text);
    assert.equal(typeof own.json.csrfToken, 'string');
  });

  it('admin sign-in: per IP, an attacker rotating emails is stopped at 20', async () => {
    const tenants = [await portalTenant(t.region), await portalTenant(t.region)];
    const emails = tenants.flatMap((x) => [x.admin.email, x.admin2.email, x.supervisor.email, x.agent.email]);
    const attacker = freshIp();
    for (let i = 0; i < 20; i++) assert.equal((await signInFrom(t.baseUrl, attacker, emails[i % emails.length] as string, 'guess')).status, 401, `failure ${i + 1}`);
    assertSignInLimited(await signInFrom(t.baseUrl, attacker, `nobody-${randomBytes(4).toString('hex')}@example.test`, 'guess'), 'a fresh email from the attacker address');
    assert.equal((await signInFrom(t.baseUrl, freshIp(), tenants[0]?.admin.email as string, PASSWORD)).status, 200);
  });

  it('admin sign-in: a guess spread over many addresses stops at the per-email ceiling', async () => {
    const tenant = await portalTenant(t.region);
    // The service itself, with small limits: the ceiling is what a distributed guess reaches.
    const sessions = new SessionService(t.region.store, undefined, { perEmailAndIp: 2, perIp: 10, perEmail: 6, windowMs: 60_000 });
    for (let i = 0; i < 6; i++) await assert.rejects(sessions.signIn(tenant.admin.email, 'guess', `198.51.100.${i}`), { status: 401 });
    await assert.rejects(sessions.signIn(tenant.admin.email, PASSWORD, '198.51.100.200'), (err: { status: number; headers: Record<string, string> }) => {
      assert.equal(err.status, 429);
      assert.match(err.headers['retry-after'] ?? '', /^\d+$/);
      return true;
    });
    // Another user is unaffected.
    const other = await sessions.signIn(tenant.admin2.email, PASSWORD, '198.51.100.200');
    assert.equal(other.session.user.email, tenant.admin2.email);
  });
});

const sharedReady = await redisAvailable();

/**
 * Two instances of one region on one store (a shared SQLite file: the store is not what is under
 * test here) and one Redis, under a region name of their own (hence their own Redis keys).
 */
describe('two instances share the failure counts through Redis', { skip: skipNoAliases || (sharedReady ? false : 'Redis is required (and in CI it must answer)') }, () => {
  const regionName = `t${randomBytes(4).toString('hex')}`;
  const env = {
    REDIS_URL: redisUrl,
    CCAUTH_REGION: regionName,
    CCAUTH_PUBLIC_URL: 'https://emea.ccauth.test',
    CCAUTH_AUTH_FAILURES_PER_MINUTE: '5',
  };
  let a: TestRegion;
  let b: TestRegion;
  before(async () => {
    a = await startRegion(env);
    b = await startRegion({ ...env, CCAUTH_DATA_DIR: a.dataDir });
    await new Promise((resolve) => setTimeout(resolve, 300)); // Redis connections established
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await deleteRedisKeys(`ccauth:${regionName}:`);
  });

  it('failures at one instance lock the attacker address out at the other; the client keeps working from its own', async () => {
    const tenant = await createTenant(a.region);
    const { credential, clientSecret } = await createCredential(a.region, tenant.admin, ['stats']);
    const attacker = freshIp();
    for (let i = 0; i < 5; i++) assert.equal((await tokenFrom(a.baseUrl, attacker, credential.clientId, `guess-${i}`)).status, 401, `failure ${i + 1} at a`);
    assertTokenLimited(await tokenFrom(a.baseUrl, attacker, credential.clientId, 'guess'), 'at a');
    // b has not seen this address fail: the shared count answers its first failure with a 429,
    // and from then on b refuses even the right secret from that address.
    assertTokenLimited(await tokenFrom(b.baseUrl, attacker, credential.clientId, 'guess'), 'at b, first guess');
    assertTokenLimited(await tokenFrom(b.baseUrl, attacker, credential.clientId, clientSecret), 'at b, the right secret from the attacker address');
    assert.equal((await tokenFrom(b.baseUrl, freshIp(), credential.clientId, clientSecret)).status, 200);
    assert.equal((await tokenFrom(a.baseUrl, freshIp(), credential.clientId, clientSecret)).status, 200);
  });

  it('an address spraying client IDs over both instances gets the per-IP limit in all, not per instance', async () => {
    const attacker = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await tokenFrom(i % 2 ? b.baseUrl : a.baseUrl, attacker, randomBytes(12).toString('hex'), 'guess')).status);
    assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(9).fill(429)], JSON.stringify(statuses));
  });

  it('admin sign-in failures are shared too', async () => {
    const tenant = await portalTenant(a.region);
    const attacker = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await signInFrom(i % 2 ? b.baseUrl : a.baseUrl, attacker, tenant.admin.email, `guess-${i}`)).status);
    assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(3).fill(429)], JSON.stringify(statuses));
    assertSignInLimited(await signInFrom(a.baseUrl, attacker, tenant.admin.email, PASSWORD), 'right password from the attacker address at a');
    assertSignInLimited(await signInFrom(b.baseUrl, attacker, tenant.admin.email, PASSWORD), 'right password from the attacker address at b');
    assert.equal((await signInFrom(b.baseUrl, freshIp(), tenant.admin.email, PASSWORD)).status, 200);
  });
});

describe('failure counts when Redis is unavailable', { skip: skipNoAliases || (sharedReady ? false : 'Redis is required (and in CI it must answer)') }, () => {
  it('Redis down: the lockout works from local counts, without 5xx', async () => {
    const t = await startRegion({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, CCAUTH_AUTH_FAILURES_PER_MINUTE: '5' });
    try {
      const tenant = await createTenant(t.region);
      const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats']);
      const attacker = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await tokenFrom(t.baseUrl, attacker, credential.clientId, 'guess')).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
      assert.equal((await tokenFrom(t.baseUrl, freshIp(), credential.clientId, clientSecret)).status, 200);
    } finally {
      await t.close();
    }
  });

  it('Redis hangs: a failed authentication is answered within the Redis timeout, and counted locally', async () => {
    const proxy = await stallableProxy(Number(new URL(redisUrl).port || 6379));
    const regionName = `t${randomBytes(4).toString('hex')}`;
    const t = await startRegion({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, CCAUTH_REGION: regionName, CCAUTH_AUTH_FAILURES_PER_MINUTE: '5' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // connected through the proxy
      const tenant = await createTenant(t.region);
      const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats']);
      proxy.stall(true);
      const attacker = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const started = performance.now();
        statuses.push((await tokenFrom(t.baseUrl, attacker, credential.clientId, 'guess')).status);
        assert.ok(performance.now() - started < 1500, `answered in ${(performance.now() - started).toFixed(0)} ms`);
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
      // The success path never waits for Redis.
      const started = performance.now();
      assert.equal((await tokenFrom(t.baseUrl, freshIp(), credential.clientId, clientSecret)).status, 200);
      assert.ok(performance.now() - started < 200);
    } finally {
      proxy.stall(false);
      await t.close();
      await proxy.close();
      await deleteRedisKeys(`ccauth:${regionName}:`);
    }
  });
});
