import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';
import { PASSWORD, PortalClient, portalTenant } from '../support/portal-client.js';
import { type TestRegion, createCredential, startRegion } from '../support/region.js';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.js';
import { type UsageItem, apiCall, awayFromMinuteEnd, token, totals } from './helpers.js';

const pg = await postgresAvailable();
const skip = pg ? false : 'PostgreSQL is not reachable (required in CI)';

describe('usage counted by several instances on one PostgreSQL schema', { skip }, () => {
  const schema = uniqueSchema('ccauth_usage');
  // Flushed by the test or by close(), never by the timer in between.
  const env = { DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_MASTER_KEY: randomBytes(32).toString('base64'), CCAUTH_USAGE_FLUSH_MS: '600000' };
  let a: TestRegion;
  let b: TestRegion;
  let tenant: Awaited<ReturnType<typeof portalTenant>>;
  let admin: PortalClient;
  let cred: { id: string; clientId: string; clientSecret: string };

  before(async () => {
    a = await startRegion(env);
    b = await startRegion(env);
    tenant = await portalTenant(a.region);
    const created = await createCredential(a.region, tenant.admin, ['users:read'], 'shared');
    cred = { id: created.credential.id, clientId: created.credential.clientId, clientSecret: created.clientSecret };
    admin = await PortalClient.signIn(a.baseUrl, tenant.admin.email, PASSWORD);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  const usage = async () => {
    const res = await admin.get(`/admin/api/credentials/${cred.id}/usage`);
    assert.equal(res.status, 200, res.text);
    return totals(res.body.items as unknown as UsageItem[]);
  };

  /** `tokens` tokens, each used for `calls` API calls, and one wrong secret, at one instance. */
  const use = async (at: TestRegion, tokens: number, calls: number) => {
    for (let i = 0; i < tokens; i++) {
      const r = await token(at.baseUrl, cred.clientId, cred.clientSecret, 'users:read');
      assert.equal(r.status, 200);
      for (let k = 0; k < calls; k++) assert.equal(await apiCall(at.baseUrl, '/useradmin/users', r.accessToken), 200);
    }
    assert.equal((await token(at.baseUrl, cred.clientId, 'wrong', 'users:read')).status, 401);
  };

  it('adds up the counts of both instances, flushed at the same moment, twice over the same rows', async () => {
    await awayFromMinuteEnd(25);
    await Promise.all([use(a, 3, 2), use(b, 2, 3)]);
    await Promise.all([a.region.usage.flush(), b.region.usage.flush()]);
    assert.deepEqual(await usage(), { tokensIssued: 5, authFailures: 2, apiCalls: 12, r401: 0, r403: 0, r429: 0 });

    // The same rows again: atomic increments, not last-writer-wins.
    await Promise.all([use(a, 1, 1), use(b, 1, 1)]);
    await Promise.all([a.region.usage.flush(), b.region.usage.flush()]);
    assert.deepEqual(await usage(), { tokensIssued: 7, authFailures: 4, apiCalls: 14, r401: 0, r403: 0, r429: 0 });

    // token.issued is one row per credential and minute, whichever instance issued them.
    const events = await admin.get(`/admin/api/events?credential=${cred.id}&type=token.issued`);
    const issued = events.body.items as { count: number; at: string }[];
    assert.equal(issued.reduce((n, e) => n + e.count, 0), 7);
    assert.equal(new Set(issued.map((e) => e.at)).size, issued.length, 'one row per minute');
    const failures = await admin.get(`/admin/api/events?credential=${cred.id}&type=client_auth.failed`);
    assert.equal((failures.body.items as unknown[]).length, 4);
  });

  it('loses nothing when an instance stops gracefully', async () => {
    const before = await usage();
    const c = await startRegion(env);
    try {
      await use(c, 2, 1);
    } finally {
      // No flush by the test: close() writes what is left.
      await c.close();
    }
    const now = await usage();
    assert.equal(now.tokensIssued - before.tokensIssued, 2);
    assert.equal(now.apiCalls - before.apiCalls, 2);
    assert.equal(now.authFailures - before.authFailures, 1);
  });
});

describe('usage while the store is unreachable', { skip }, () => {
  const schema = uniqueSchema('ccauth_usage_out');
  let proxy: TcpProxy;
  let t: TestRegion;

  before(async () => {
    proxy = await startTcpProxy(Number(new URL(postgresUrl).port || 5432), new URL(postgresUrl).hostname);
    t = await startRegion({ DATABASE_URL: proxy.url(postgresUrl), CCAUTH_DATABASE_SCHEMA: schema, CCAUTH_STORE_TIMEOUT_MS: '800', CCAUTH_USAGE_FLUSH_MS: '600000' });
  });
  after(async () => {
    proxy?.heal();
    await t?.close();
    await proxy?.close();
    await dropSchema(schema);
  });

  it('keeps the counts of a failed write and writes them, with what came since, once the store is back', async () => {
    const tenant = await portalTenant(t.region);
    const created = await createCredential(t.region, tenant.admin, ['users:read'], 'outage');
    const admin = await PortalClient.signIn(t.baseUrl, tenant.admin.email, PASSWORD);
    const get = () => token(t.baseUrl, created.credential.clientId, created.clientSecret, 'users:read');
    assert.equal((await get()).status, 200);
    proxy.stall();
    // The client is known from memory: tokens are still issued; the write of their counts fails.
    assert.equal((await get()).status, 200);
    await t.region.usage.flush();
    assert.equal(t.region.usage.pending, true, 'the batch is kept');
    assert.equal((await get()).status, 200);
    proxy.heal();
    await t.region.usage.flush();
    assert.equal(t.region.usage.pending, false);
    const res = await admin.get(`/admin/api/credentials/${created.credential.id}/usage`);
    assert.equal(res.status, 200, res.text);
    assert.equal(totals(res.body.items as unknown as UsageItem[]).tokensIssued, 3);
  });
});
