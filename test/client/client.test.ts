import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiRequestError, CcauthClient, TokenRequestError } from '../../src/client/index.js';
import { createCredential, createTenant, startRegion, type TestRegion, type Tenant } from '../support/region.js';

let t: TestRegion;
let tenant: Tenant;
before(async () => {
  t = await startRegion();
  tenant = await createTenant(t.region);
});
after(async () => {
  await t.close();
});

/** Counts what actually goes over the wire, without changing it. */
function countingFetch() {
  const calls = { token: 0, api: 0 };
  const f: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.includes('/Auth/connect/token')) calls.token++;
    else calls.api++;
    return fetch(input, init);
  };
  return { calls, fetch: f };
}

async function clientFor(scope = 'agents-availability:read', extra: Partial<ConstructorParameters<typeof CcauthClient>[0]> = {}) {
  const c = await createCredential(t.region, tenant.admin, ['agents-availability:read', 'stats']);
  const counting = countingFetch();
  const client = new CcauthClient({ baseUrl: t.baseUrl, clientId: c.credential.clientId, clientSecret: c.clientSecret, scope, fetch: counting.fetch, ...extra });
  return { client, calls: counting.calls, credential: c.credential, secret: c.clientSecret };
}

describe('TypeScript client', () => {
  it('caches the token across requests', async () => {
    const { client, calls } = await clientFor();
    for (let i = 0; i < 5; i++) {
      const body = await client.json<Record<string, number>>('/agents-availability?skillNames=English');
      assert.equal(typeof body.Ready, 'number');
    }
    assert.equal(calls.token, 1);
    assert.equal(calls.api, 5);
  });

  it('shares one refresh among concurrent callers', async () => {
    const { client, calls } = await clientFor();
    const results = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/agents-availability?skillNames=English')));
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
    assert.equal(calls.token, 1);
  });

  it('renews shortly before expiry', async () => {
    let now = Date.now();
    const { client, calls } = await clientFor('agents-availability:read', { now: () => now });
    await client.getAccessToken();
    now += (900 - 60) * 1000;
    await client.getAccessToken();
    assert.equal(calls.token, 1, 'still valid a minute before expiry');
    now += 45 * 1000;
    await client.getAccessToken();
    assert.equal(calls.token, 2, 'renewed within the last 30 s');
  });

  it('after a token is revoked mid-run, fetches a new one once and retries', async () => {
    const { client, calls, credential, secret } = await clientFor();
    assert.equal((await client.fetch('/agents-availability?skillNames=English')).status, 200);
    const revoked = await client.getAccessToken();
    const res = await fetch(`${t.baseUrl}/Auth/connect/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revoked, client_id: credential.clientId, client_secret: secret }),
    });
    assert.equal(res.status, 200);
    const again = await Promise.all([1, 2, 3].map(() => client.fetch('/agents-availability?skillNames=English')));
    assert.deepEqual(again.map((r) => r.status), [200, 200, 200]);
    assert.equal(calls.token, 2, 'one new token for all three');
    assert.notEqual(await client.getAccessToken(), revoked);
  });

  it('does not retry a 403 and surfaces API errors', async () => {
    const { client, calls } = await clientFor('stats');
    await assert.rejects(client.json('/agents-availability?skillNames=English'), (err: unknown) => err instanceof ApiRequestError && err.status === 403);
    assert.equal(calls.token, 1);
  });

  it('gives up after one retry when the credential is gone, with the OAuth error', async () => {
    const { client, calls, credential } = await clientFor();
    assert.equal((await client.fetch('/agents-availability?skillNames=English')).status, 200);
    await t.region.store.credentials.delete(credential.id);
    await t.region.feed.poll();
    await assert.rejects(client.fetch('/agents-availability?skillNames=English'), (err: unknown) => err instanceof TokenRequestError && err.status === 401 && err.error === 'invalid_client');
    assert.equal(calls.token, 2);
  });

  it('supports client_secret_post and reports a wrong secret clearly', async () => {
    const { client } = await clientFor('stats', { authMethod: 'client_secret_post' });
    assert.match(await client.getAccessToken(), /^ey/);
    const bad = new CcauthClient({ baseUrl: t.baseUrl, clientId: 'nope', clientSecret: 'nope', scope: 'stats' });
    await assert.rejects(bad.getAccessToken(), /invalid_client/);
    assert.throws(() => new CcauthClient({ baseUrl: t.baseUrl, clientId: 'x', clientSecret: 'y', scope: ' ' }), TypeError);
  });
});

describe('package entry point', () => {
  it('is importable as ccauth/client from the built package', async () => {
    const specifier = 'ccauth/client';
    const mod = (await import(specifier)) as { CcauthClient: unknown; TokenRequestError: unknown };
    assert.equal(typeof mod.CcauthClient, 'function');
    assert.equal(typeof mod.TokenRequestError, 'function');
  });
});
