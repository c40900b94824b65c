import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dropSchema, freePort, postgresAvailable, postgresUrl, redisUrl, uniqueSchema } from '../support/env.js';
import { redisAvailable } from '../support/redis.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

const ready = (await postgresAvailable()) && (await redisAvailable());

async function token(r: TestRegion, clientId: string, clientSecret: string, scope = 'agents-availability:read') {
  const res = await tokenRequest(r.baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
  assert.equal(res.status, 200);
  return res.body.access_token as string;
}
const call = (r: TestRegion, t: string) => fetch(`${r.baseUrl}/agents-availability?skillNames=English`, { headers: { authorization: `Bearer ${t}` } });

async function refusedWithin(r: TestRegion, t: string, ms: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const res = await call(r, t);
    await res.arrayBuffer();
    if (res.status === 401) return Date.now() - start;
    assert.equal(res.status, 200);
    if (Date.now() - start > ms) assert.fail(`token still accepted after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('two gateway instances on one PostgreSQL and one Redis', { skip: ready ? false : 'PostgreSQL and Redis are required (and in CI they must answer)' }, () => {
  const schema = uniqueSchema();
  // A slow poll proves that Redis, not polling, carries revocations across instances in time.
  const env = {
    DATABASE_URL: postgresUrl,
    CCAUTH_DATABASE_SCHEMA: schema,
    CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'),
    REDIS_URL: redisUrl,
    CCAUTH_REGION: `t${randomBytes(4).toString('hex')}`,
    CCAUTH_CHANGE_POLL_MS: '5000',
    // Instances behind one load balancer share the public URL, hence the issuer.
    CCAUTH_PUBLIC_URL: 'https://emea.ccauth.test',
  };
  let a: TestRegion;
  let b: TestRegion;
  before(async () => {
    a = await startRegion(env);
    b = await startRegion(env);
    await new Promise((resolve) => setTimeout(resolve, 300)); // subscriptions established
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  it('a credential deleted through one instance stops working at the other within 1 second', async () => {
    const tenant = await createTenant(a.region);
    const c = await createCredential(a.region, tenant.admin, ['agents-availability:read']);
    const t = await token(a, c.credential.clientId, c.clientSecret);
    assert.equal((await call(b, t)).status, 200);
    await a.region.store.credentials.delete(c.credential.id);
    const took = await refusedWithin(b, t, 1000);
    assert.ok(took < 1000, `took ${took} ms`);
  });

  it('a token revoked at one instance (RFC 7009) fails at the other within 1 second', async () => {
    const tenant = await createTenant(a.region);
    const c = await createCredential(a.region, tenant.admin, ['agents-availability:read']);
    const t = await token(a, c.credential.clientId, c.clientSecret);
    assert.equal((await call(b, t)).status, 200);
    const res = await fetch(`${a.baseUrl}/Auth/connect/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t, client_id: c.credential.clientId, client_secret: c.clientSecret }),
    });
    assert.equal(res.status, 200);
    await refusedWithin(b, t, 1000);
  });

  it('an account disabled at one instance is refused by the other within 1 second', async () => {
    const tenant = await createTenant(a.region);
    const c = await createCredential(a.region, tenant.admin, ['agents-availability:read']);
    const t = await token(a, c.credential.clientId, c.clientSecret);
    assert.equal((await call(b, t)).status, 200);
    await a.region.store.accounts.update(tenant.account.id, { status: 'disabled' });
    await refusedWithin(b, t, 1000);
  });

  it('shares the account limit between the instances', async () => {
    const tenant = await createTenant(a.region);
    await a.region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 10 });
    const c = await createCredential(a.region, tenant.admin, ['agents-availability:read']);
    const t = await token(a, c.credential.clientId, c.clientSecret);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(a, t)).status);
    assert.deepEqual(statuses, Array(8).fill(200));
    assert.equal((await call(b, t)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 600)); // a few sync rounds
    const atB: number[] = [];
    for (let i = 0; i < 3; i++) atB.push((await call(b, t)).status);
    assert.deepEqual(atB, [200, 429, 429], 'b counts a\'s 8 requests and its own: 10 in all');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal((await call(a, t)).status, 429, 'and a counts b\'s');
  });
});

describe('Redis unreachable', () => {
  let r: TestRegion;
  before(async () => {
    r = await startRegion({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  });
  after(async () => {
    await r.close();
  });

  it('keeps serving with local limits and no 5xx', async () => {
    const tenant = await createTenant(r.region);
    await r.region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 3 });
    const c = await createCredential(r.region, tenant.admin, ['agents-availability:read']);
    const t = await token(r, c.credential.clientId, c.clientSecret);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(r, t)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  });
});
