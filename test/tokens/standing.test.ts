import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { rotateKeys } from '../../src/auth/signing-keys.js';
import { Store } from '../../src/store/store.js';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

/**
 * A token's standing through HTTP (SPEC rule 9, SPEC 3 gateway): a rotation without grace cuts
 * tokens issued in the same second, a disable is a cut that a re-enable does not undo (also for a
 * token issued by an instance that had not heard of the disable yet), and the gateway applies the
 * account's own API limit whether or not the client record was cached at that moment.
 */

const SCOPE = 'agents-availability:read';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function issue(t: TestRegion, clientId: string, clientSecret: string): Promise<string> {
  const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: SCOPE });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.access_token as string;
}

async function call(t: TestRegion, token: string): Promise<Response> {
  const res = await fetch(`${t.baseUrl}/agents-availability?skillNames=English`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res;
}

/** Wait until early in a wall-clock second, so that what follows happens within that second. */
async function startOfSecond(): Promise<void> {
  while (Date.now() % 1000 > 100) await sleep(5);
}

describe('token standing through the gateway', () => {
  let t: TestRegion;
  before(async () => {
    t = await startRegion();
  });
  after(async () => {
    await t?.close();
  });

  it('a rotation without grace cuts every earlier token, even one issued in the same second', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
    let secret = clientSecret;
    for (let i = 0; i < 3; i++) {
      await startOfSecond();
      const before = await issue(t, credential.clientId, secret);
      assert.equal((await call(t, before)).status, 200);
      await t.region.store.credentials.replaceSecret(credential.id, t.region.hasher.hash(`s${i}`), null);
      await t.region.feed.poll();
      const same = Math.floor(Date.now() / 1000) === Math.floor(Number(JSON.parse(Buffer.from(before.split('.')[1] as string, 'base64url').toString()).iat));
      assert.equal((await call(t, before)).status, 401, `a token issued before the rotation${same ? ' in the same second' : ''} is refused`);
      // The new secret's tokens, issued in that same second, work.
      secret = `s${i}`;
      const after = await issue(t, credential.clientId, secret);
      assert.equal((await call(t, after)).status, 200);
    }
  });

  it('a token of the new secret works though the rotating instance\'s clock was ahead (its whole-second cut is after the token\'s iat)', async () => {
    const tenant = await createTenant(t.region);
    const { credential } = await createCredential(t.region, tenant.admin, [SCOPE]);
    await t.region.store.credentials.replaceSecret(credential.id, t.region.hasher.hash('rotated'), null);
    // As written by an instance whose clock runs 2 s ahead of this one.
    await t.region.store.db.updateTable('api_credentials').set({ tokens_not_before: (Math.floor(Date.now() / 1000) + 2) * 1000 }).where('id', '=', credential.id).execute();
    await t.region.feed.poll();
    const fresh = await issue(t, credential.clientId, 'rotated');
    assert.equal((await call(t, fresh)).status, 200, 'the token names the current secret: it stands');
  });

  it('a token revoked just after its exp stays refused during the verifier\'s leeway, here and at an instance that starts then', async () => {
    const tenant = await createTenant(t.region);
    // A one-second lifetime (below what the admin API allows) so that the leeway is reached at once.
    await t.region.store.accounts.update(tenant.account.id, { accessTokenLifetimeSeconds: 1 });
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
    await t.region.feed.poll();
    const token = await issue(t, credential.clientId, clientSecret);
    const exp = Number(JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp) * 1000;
    while (Date.now() < exp + 300) await sleep(50);
    assert.equal((await call(t, token)).status, 200, 'expired, but within the 10 s leeway');
    const res = await fetch(`${t.baseUrl}/Auth/connect/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: credential.clientId, client_secret: clientSecret }).toString(),
    });
    assert.equal(res.status, 200);
    assert.equal((await call(t, token)).status, 401, 'revoked: refused here');
    const second = await startRegion({ CCAUTH_DATA_DIR: t.dataDir });
    try {
      assert.equal((await call(second, token)).status, 401, 'and at an instance that loaded the revocations after exp');
    } finally {
      await second.close();
    }
  });

  it('a scope removed and added back does not revive tokens issued before the removal', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE, 'users:read']);
    const before = await issue(t, credential.clientId, clientSecret);
    assert.equal((await call(t, before)).status, 200);
    await t.region.store.credentials.update(credential.id, { scopes: ['users:read'] });
    await t.region.feed.poll();
    assert.equal((await call(t, before)).status, 401, 'the scope was removed');
    await t.region.store.credentials.update(credential.id, { scopes: [SCOPE, 'users:read'] });
    await t.region.feed.poll();
    assert.equal((await call(t, before)).status, 401, 'added back: the earlier token stays invalid');
    const after = await issue(t, credential.clientId, clientSecret);
    assert.equal((await call(t, after)).status, 200, 'a token issued after it is added back works');
    // Removing another scope leaves tokens without it alone.
    await t.region.store.credentials.update(credential.id, { scopes: [SCOPE] });
    await t.region.feed.poll();
    assert.equal((await call(t, after)).status, 200);
    // Adding a scope cuts nothing.
    await t.region.store.credentials.update(credential.id, { scopes: [SCOPE, 'users:read', 'stats'] });
    await t.region.feed.poll();
    assert.equal((await call(t, after)).status, 200);
  });

  it("an owner's license narrowed and restored does not revive tokens issued before", async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, ['stats', 'users:read']);
    const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' });
    assert.equal(res.status, 200);
    const before = res.body.access_token as string;
    // A token without the scope the narrower license loses is not affected by it.
    const other = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'users:read' });
    const unaffected = other.body.access_token as string;
    const stats = async (token: string) => {
      const r = await fetch(`${t.baseUrl}/stats/agent-activities`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      return r.status;
    };
    assert.notEqual(await stats(before), 401);
    for (const narrower of ['supervisor', 'agent'] as const) {
      await t.region.store.users.update(tenant.admin.id, { license: narrower });
      await t.region.feed.poll();
      assert.equal(await stats(before), 401, `${narrower}: may not grant stats`);
      // Still a valid token (403: not for this route, rather than 401): supervisor may grant users:read.
      if (narrower === 'supervisor') assert.equal((await call(t, unaffected)).status, 403, 'supervisor may still grant users:read');
      await t.region.store.users.update(tenant.admin.id, { license: 'admin' });
      await t.region.feed.poll();
      assert.equal(await stats(before), 401, `admin again after ${narrower}: the earlier token stays invalid`);
    }
    const after = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: 'stats' });
    assert.notEqual(await stats(after.body.access_token as string), 401, 'a token issued after the license came back works');
  });

  it('a rotation with grace keeps the old secret\'s tokens until the grace ends, then cuts them', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
    const old = await issue(t, credential.clientId, clientSecret);
    await t.region.store.credentials.replaceSecret(credential.id, t.region.hasher.hash('new-secret'), Date.now() + 1500);
    await t.region.feed.poll();
    assert.equal((await call(t, old)).status, 200, 'within the grace');
    const oldDuringGrace = await issue(t, credential.clientId, clientSecret);
    const fresh = await issue(t, credential.clientId, 'new-secret');
    assert.equal((await call(t, oldDuringGrace)).status, 200);
    await sleep(1600);
    assert.equal((await call(t, old)).status, 401, 'the grace is over');
    assert.equal((await call(t, oldDuringGrace)).status, 401, 'a token of the old secret, even one issued during the grace');
    assert.equal((await call(t, fresh)).status, 200);
  });

  it('a token whose signing key left the key set is refused, though its signature was checked before', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
    const token = await issue(t, credential.clientId, clientSecret);
    assert.equal((await call(t, token)).status, 200); // the verified signature is now remembered
    const { retired } = await rotateKeys(t.region.store, t.region.masterKey, t.region.config.region);
    assert.ok(retired);
    await t.region.feed.poll();
    assert.equal((await call(t, token)).status, 200, 'a retired key still verifies its tokens');
    // The key's publication ends (e.g. an emergency removal): its tokens go with it.
    await t.region.store.keys.setState(retired, 'retired', { publish_until: Date.now() - 1 });
    await t.region.feed.poll();
    assert.equal((await call(t, token)).status, 401);
  });

  for (const what of ['owner', 'account', 'account API switch'] as const) {
    it(`re-enabling the ${what} does not bring back tokens issued before the disable`, async () => {
      const tenant = await createTenant(t.region);
      const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
      const token = await issue(t, credential.clientId, clientSecret);
      assert.equal((await call(t, token)).status, 200);
      const toggle = async (enabled: boolean) => {
        if (what === 'owner') await t.region.store.users.update(tenant.admin.id, { status: enabled ? 'active' : 'disabled' });
        else if (what === 'account') await t.region.store.accounts.update(tenant.account.id, { status: enabled ? 'active' : 'disabled' });
        else await t.region.store.accounts.update(tenant.account.id, { apiCredentialsEnabled: enabled });
        await t.region.feed.poll();
      };
      await toggle(false);
      assert.equal((await call(t, token)).status, 401);
      await toggle(true);
      assert.equal((await call(t, token)).status, 401, 'still refused after the re-enable');
      const fresh = await issue(t, credential.clientId, clientSecret);
      assert.equal((await call(t, fresh)).status, 200, 'new tokens work again');
    });
  }
});

describe('a token issued by an instance that has not heard of a disable yet', () => {
  let t: TestRegion;
  let writer: Store;
  before(async () => {
    // Polling once a minute: this instance learns of the other writer's changes only when told.
    t = await startRegion({ CCAUTH_CHANGE_POLL_MS: '60000', CCAUTH_MASTER_KEY: randomBytes(32).toString('base64') });
    writer = await Store.open({ dataDir: t.dataDir });
  });
  after(async () => {
    await writer?.close();
    await t?.close();
  });

  for (const what of ['owner', 'account'] as const) {
    it(`stays invalid after the ${what} is re-enabled`, async () => {
      const tenant = await createTenant(t.region);
      const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
      assert.equal((await call(t, await issue(t, credential.clientId, clientSecret))).status, 200); // cached as active
      const setEnabled = (enabled: boolean) =>
        what === 'owner'
          ? writer.users.update(tenant.admin.id, { status: enabled ? 'active' : 'disabled' })
          : writer.accounts.update(tenant.account.id, { status: enabled ? 'active' : 'disabled' });
      await setEnabled(false);
      // The stale instance still thinks the owner/account is active and issues a token.
      const stale = await issue(t, credential.clientId, clientSecret);
      await setEnabled(true);
      await t.region.feed.poll();
      assert.equal((await call(t, stale)).status, 401, 'a token issued after the disable, by a stale instance, is not revived');
      assert.equal((await call(t, await issue(t, credential.clientId, clientSecret))).status, 200);
    });
  }
});

const pg = await postgresAvailable();

describe("the gateway applies the account's own API limit", { skip: pg ? false : 'PostgreSQL is not reachable (required in CI)' }, () => {
  const schema = uniqueSchema('ccauth_limit');
  let t: TestRegion;
  before(async () => {
    // PostgreSQL: a client read takes long enough for a change to land during it.
    t = await startRegion({ CCAUTH_CHANGE_POLL_MS: '10', DATABASE_URL: postgresUrl, CCAUTH_DATABASE_SCHEMA: schema });
  });
  after(async () => {
    await t?.close();
    await dropSchema(schema);
  });

  it('also while the client record keeps dropping out of the cache (presence updates of its owner)', { timeout: 60_000 }, async () => {
    const tenant = await createTenant(t.region);
    await t.region.store.accounts.update(tenant.account.id, { apiRateLimitPerMinute: 100_000 });
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
    const token = await issue(t, credential.clientId, clientSecret);
    let stop = false;
    const presences = ['Ready', 'Away'] as const;
    const churn = (async () => {
      // Each presence update is a change to the owner: the instance drops the client's record.
      for (let i = 0; !stop && i < 5000; i++) {
        await t.region.store.users.update(tenant.admin.id, { presence: presences[i % 2] as 'Ready' | 'Away' });
        await sleep(2);
      }
    })();
    const statuses = new Map<number, number>();
    const limits = new Set<string>();
    try {
      for (let batch = 0; batch < 90; batch++) {
        const responses = await Promise.all(Array.from({ length: 10 }, () => call(t, token)));
        for (const r of responses) {
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          limits.add(r.headers.get('ratelimit-limit') ?? '');
        }
      }
    } finally {
      stop = true;
      await churn;
    }
    assert.deepEqual([...statuses], [[200, 900]], 'no 429 at 900 of 100,000 a minute');
    assert.deepEqual([...limits], ['100000'], 'every response states the account\'s own limit');
  });
});
