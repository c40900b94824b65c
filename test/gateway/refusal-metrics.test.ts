import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

/** Issue 7 "Structure": a refused token's reason code reaches the metrics (never an identifier). */
describe('gateway refusal reasons in /metrics', () => {
  let t: TestRegion;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    t = await startRegion({ CCAUTH_METRICS_ADDR: `127.0.0.1:${metricsPort}` });
  });
  after(async () => t?.close());

  const refusals = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^ccauth_gateway_token_refusals_total\{([^}]*)\} (\d+)/gm)) {
      const reason = /reason="([^"]+)"/.exec(m[1] as string)?.[1] as string;
      out[reason] = Number(m[2]);
    }
    return out;
  };

  it('counts revoked, deleted and malformed tokens by reason', async () => {
    const tenant = await createTenant(t.region);
    const a = await createCredential(t.region, tenant.admin, ['stats']);
    const b = await createCredential(t.region, tenant.admin, ['stats']);
    const get = async (c: typeof a) => {
      const r = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: c.credential.clientId, client_secret: c.clientSecret, scope: 'stats' });
      assert.equal(r.status, 200);
      return r.body.access_token as string;
    };
    const tokenA = await get(a);
    const tokenB = await get(b);
    const revoke = await fetch(`${t.baseUrl}/Auth/connect/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokenA, client_id: a.credential.clientId, client_secret: a.clientSecret }).toString(),
    });
    assert.equal(revoke.status, 200);
    await t.region.store.credentials.delete(b.credential.id);
    await t.region.feed.poll();
    const call = (token: string) => fetch(`${t.baseUrl}/stats/interactions?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await call(tokenA)).status, 401);
    assert.equal((await call(tokenB)).status, 401);
    assert.equal((await call('not-a-jwt')).status, 401);
    const counts = await refusals();
    assert.equal(counts.revoked, 1, JSON.stringify(counts));
    assert.equal(counts.client_deleted, 1, JSON.stringify(counts));
    assert.equal(counts.malformed, 1, JSON.stringify(counts));
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.ok(!text.includes(a.credential.clientId) && !text.includes(tenant.account.id), 'no identifiers in metrics');
  });
});
