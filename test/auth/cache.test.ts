import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ClientRecord } from '../../src/domain/model.js';
import { createCredential, createTenant, startRegion, type TestRegion } from '../support/region.js';
import { FORM, type RawResponse, postForm, rawTokenPost, startPublicRegion, waitUntil } from '../support/oauth.js';

/**
 * The token endpoint answers from memory, and changes made directly in the store (the CLI, another
 * instance, a repository call) reach it within 1 second through the change feed (SPEC 2 rule 9,
 * SPEC 4). The region runs with the production poll interval (250 ms), not the tests' 50 ms.
 * Database use is observed by counting calls of the store's client lookup, the only read the
 * token endpoint makes (observing, not replacing, the thing under test).
 */
describe('client cache and change propagation', () => {
  let t: TestRegion;
  let lookups: string[];

  before(async () => {
    t = await startPublicRegion({ CCAUTH_CHANGE_POLL_MS: '250', CCAUTH_AUTH_FAILURES_PER_MINUTE: '100000' });
    lookups = [];
    const credentials = t.region.store.credentials;
    const original = credentials.findClient.bind(credentials);
    credentials.findClient = async (clientId: string, ...rest): Promise<ClientRecord | undefined> => {
      lookups.push(clientId);
      return original(clientId, ...rest);
    };
  });
  after(async () => {
    await t.close();
  });

  async function client(scopes = ['stats', 'users:read']) {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, scopes);
    const params = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: scopes[0] as string };
    const request = (overrides: Record<string, string> = {}): Promise<RawResponse> => rawTokenPost(t.baseUrl, postForm({ ...params, ...overrides }), FORM);
    const warm = await request();
    assert.equal(warm.status, 200, warm.text);
    return { tenant, credential, request };
  }

  /** Wait (at most 1 s, SPEC rule 9) until the endpoint answers with `status` and `error`. */
  async function within1s(request: () => Promise<RawResponse>, status: number, error: string, what: string): Promise<number> {
    const took = await waitUntil(
      async () => {
        const res = await request();
        return res.status === status && res.json?.error === error;
      },
      1000,
      what,
      20,
    );
    return took;
  }

  describe('store reads', () => {
    let c: Awaited<ReturnType<typeof client>>;
    before(async () => {
      c = await client();
      // Creating the credential was itself a change: let the feed deliver it (it drops the entry
      // once) so that nothing but the requests below touches the cache, then warm it again.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await c.request()).status, 200);
    });

    it('after warm-up, a burst of token requests does not query the store', async () => {
      const before = lookups.length;
      const results = await Promise.all(Array.from({ length: 100 }, () => c.request()));
      assert.ok(results.every((r) => r.status === 200));
      for (let i = 0; i < 50; i++) assert.equal((await c.request()).status, 200);
      assert.equal(lookups.length - before, 0, 'no client lookups for a warm client');
    });

    it('a cold burst for one client reads the store once, not once per request', async () => {
      t.region.clients.invalidateClient(c.credential.clientId);
      const before = lookups.length;
      const results = await Promise.all(Array.from({ length: 50 }, () => c.request()));
      assert.ok(results.every((r) => r.status === 200));
      assert.equal(lookups.length - before, 1);
    });

    it('a failed authentication costs exactly one store read, cached client or not (see timing.test.ts)', async () => {
      let before = lookups.length;
      assert.equal((await c.request({ client_secret: 'wrong' })).status, 401);
      assert.equal(lookups.length - before, 1, 'wrong secret for a cached client: one read');
      const unknown = randomBytes(16).toString('hex');
      before = lookups.length;
      assert.equal((await c.request({ client_id: unknown, client_secret: 'wrong' })).status, 401);
      assert.equal(lookups.length - before, 1, 'never-seen client ID: one read');
      before = lookups.length;
      assert.equal((await c.request({ client_id: unknown, client_secret: 'wrong' })).status, 401);
      assert.equal(lookups.length - before, 1, 'unknown client ID seen before: one read');
      // The client still works, from the cache.
      assert.equal((await c.request()).status, 200);
      before = lookups.length;
      assert.equal((await c.request()).status, 200);
      assert.equal(lookups.length - before, 0);
    });
  });

  it('a deleted credential is refused within 1 second', async () => {
    const c = await client();
    const credential = await t.region.store.credentials.get(c.credential.id);
    assert.ok(credential);
    await t.region.store.credentials.delete(c.credential.id);
    await within1s(c.request, 401, 'invalid_client', 'deleted credential refused');
  });

  it('a disabled account is refused within 1 second, and re-enabled within 1 second', async () => {
    const c = await client();
    await t.region.store.accounts.update(c.tenant.account.id, { status: 'disabled' });
    await within1s(c.request, 401, 'invalid_client', 'disabled account refused');
    await t.region.store.accounts.update(c.tenant.account.id, { status: 'active' });
    await waitUntil(async () => (await c.request()).status === 200, 1000, 're-enabled account works again');
  });

  it('a removed scope is refused within 1 second; the remaining scope keeps working', async () => {
    const c = await client(['stats', 'users:read']);
    await t.region.store.credentials.update(c.credential.id, { scopes: ['users:read'] });
    await within1s(() => c.request({ scope: 'stats' }), 400, 'invalid_scope', 'removed scope refused');
    assert.equal((await c.request({ scope: 'users:read' })).status, 200);
  });

  it('an added scope works within 1 second', async () => {
    const c = await client(['users:read']);
    assert.equal((await c.request({ scope: 'stats' })).json?.error, 'invalid_scope');
    await t.region.store.credentials.update(c.credential.id, { scopes: ['users:read', 'stats'] });
    await waitUntil(async () => (await c.request({ scope: 'stats' })).status === 200, 1000, 'added scope granted');
  });

  it("an owner's license change and disabling reach the endpoint within 1 second", async () => {
    const c = await client(['stats', 'users:read']);
    await t.region.store.users.update(c.tenant.admin.id, { license: 'supervisor' });
    await within1s(() => c.request({ scope: 'stats' }), 400, 'invalid_scope', 'license no longer allows stats');
    await t.region.store.users.update(c.tenant.admin.id, { status: 'disabled' });
    await within1s(() => c.request({ scope: 'users:read' }), 401, 'invalid_client', 'disabled owner refused');
  });

  it('a rotated secret (no grace): the old one is refused and the new one works within 1 second', async () => {
    const c = await client();
    const newSecret = randomBytes(32).toString('base64url');
    await t.region.store.credentials.replaceSecret(c.credential.id, t.region.hasher.hash(newSecret), null);
    await within1s(c.request, 401, 'invalid_client', 'old secret refused');
    assert.equal((await c.request({ client_secret: newSecret })).status, 200);
  });

  it('a credential created by another instance on the same store works here at once; its changes arrive within 1 second', async () => {
    // A second region process on the same data directory: the CLI or another instance.
    const other = await startRegion({ CCAUTH_DATA_DIR: t.dataDir, CCAUTH_CHANGE_POLL_MS: '250' });
    try {
      const tenant = await createTenant(other.region);
      const { credential, clientSecret } = await createCredential(other.region, tenant.admin, ['stats']);
      const params = { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' };
      assert.equal((await rawTokenPost(t.baseUrl, postForm(params), FORM)).status, 200);
      // A change made through the other instance reaches this one within 1 second.
      await other.region.store.accounts.update(tenant.account.id, { apiCredentialsEnabled: false });
      await within1s(() => rawTokenPost(t.baseUrl, postForm(params), FORM), 401, 'invalid_client', 'switch off made by another instance');
    } finally {
      await other.region.close();
    }
  });

  it('a client ID asked for before it existed works as soon as it is created', async () => {
    const tenant = await createTenant(t.region);
    // Remember a miss for a client ID, then create a credential with exactly that ID in the store.
    const clientId = randomBytes(16).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const params = { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'stats' };
    assert.equal((await rawTokenPost(t.baseUrl, postForm(params), FORM)).status, 401);
    assert.equal(t.region.clients.peek(clientId), null, 'the miss is cached');
    await t.region.store.credentials.create({ accountId: tenant.account.id, level: 'user', ownerUserId: tenant.admin.id, name: 'x', clientId, secretHash: t.region.hasher.hash(secret), scopes: ['stats'] });
    await waitUntil(async () => (await rawTokenPost(t.baseUrl, postForm(params), FORM)).status === 200, 1000, 'new credential works');
  });
});
