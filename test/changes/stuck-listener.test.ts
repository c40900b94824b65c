// A change whose listener keeps failing must not stop the feed: a key reload that fails forever
// (a key row this instance cannot read) is retried on its own timer while later changes (a deleted
// credential) still arrive; any other listener that keeps failing is bounded, then a full reload
// stands in for the change and the feed moves on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ChangeFeed } from '../../src/changes/feed.js';
import { type Change, recordChange } from '../../src/store/changes.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../support/env.js';
import { createCredential, createTenant, startRegion, tokenRequest, type TestRegion } from '../support/region.js';

const SCOPE = 'agents-availability:read';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a listener that keeps failing', () => {
  let t: TestRegion;
  before(async () => {
    t = await startRegion();
  });
  after(async () => {
    await t?.close();
  });

  it('an unreadable key row does not hold back a later credential deletion', async () => {
    const tenant = await createTenant(t.region);
    const { credential, clientSecret } = await createCredential(t.region, tenant.admin, [SCOPE]);
    const res = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: credential.clientId, client_secret: clientSecret, scope: SCOPE });
    assert.equal(res.status, 200);
    const token = res.body.access_token as string;
    const call = async () => {
      const r = await fetch(`${t.baseUrl}/agents-availability?skillNames=English`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      return r.status;
    };
    assert.equal(await call(), 200);
    // A published key row that no instance can load (as if written by a broken tool): every key
    // reload fails from now on.
    const now = Date.now();
    await t.region.store.keys.insert({ kid: `broken-${now}`, alg: 'RS256', state: 'next', public_jwk: 'not json', certificate: '', x5t: '', private_key_enc: 'x', created_at: now, activated_at: null, retired_at: null, publish_until: null });
    await t.region.store.credentials.delete(credential.id);
    const deadline = Date.now() + 1000;
    let status = await call();
    while (status !== 401 && Date.now() < deadline) {
      await sleep(50);
      status = await call();
    }
    assert.equal(status, 401, 'the deletion committed after the broken key arrives within 1 s');
    // Tokens are still issued with the key set loaded before.
    const other = await createCredential(t.region, tenant.admin, [SCOPE]);
    await sleep(200);
    const again = await tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: other.credential.clientId, client_secret: other.clientSecret, scope: SCOPE });
    assert.equal(again.status, 200);
    await t.region.store.db.deleteFrom('signing_keys').where('kid', '=', `broken-${now}`).execute();
  });
});

describe('the feed bounds retries of a change whose listener keeps failing', () => {
  const dir = tempDir();
  let store: Store;
  before(async () => {
    store = await Store.open({ dataDir: dir.path });
  });
  after(async () => {
    await store?.close();
    dir.remove();
  });

  it('after the bound, a full reload stands in for the change and later changes are delivered', async () => {
    const feed = new ChangeFeed(store, 60_000, pino({ level: 'silent' }), { listenerAttempts: 3, listenerFailingMs: 300 });
    const seen: string[] = [];
    let reloads = 0;
    feed.onChange((change: Change) => {
      if (change.ref === 'poison') throw new Error('this change can never be handled');
      seen.push(change.ref);
    });
    feed.onResync(() => void reloads++);
    await feed.start();
    try {
      await recordChange(store.db, 'credential', 'poison');
      await recordChange(store.db, 'credential', 'after');
      await feed.poll();
      await feed.poll();
      assert.deepEqual(seen, [], 'retried first, nothing after it skipped');
      const deadline = Date.now() + 3000;
      while (!(seen as string[]).includes('after') && Date.now() < deadline) {
        await sleep(100);
        await feed.poll();
      }
      assert.deepEqual(seen, ['after']);
      assert.equal(reloads, 1, 'one full reload instead of the change');
    } finally {
      await feed.stop();
    }
  });
});
