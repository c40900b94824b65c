// The client cache's own rules, against a store whose reads the test paces: a read begun before an
// invalidation is never joined by a get made after it; invalidating an owner or an account costs
// what it drops, not the size of the cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientCache } from '../../src/auth/client-cache.js';
import type { ClientRecord } from '../../src/domain/model.js';
import type { Store } from '../../src/store/store.js';

function record(clientId: string, accountId: string, ownerId: string): ClientRecord {
  return {
    credentialId: `cred-${clientId}`,
    clientId,
    accountId,
    level: 'user',
    scopes: ['stats'],
    secretHash: 'h',
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    secretId: 's',
    previousSecretId: null,
    tokensNotBefore: null,
    account: { standingEpoch: 0, status: 'active', apiCredentialsEnabled: true, accessTokenLifetimeSeconds: 3600, apiRateLimitPerMinute: 600 },
    owner: { id: ownerId, status: 'active', license: 'admin', standingEpoch: 0 },
  };
}

/** A store of client rows; each read answers after `delayMs` with what existed when it began. */
function pacedStore(rows: Map<string, ClientRecord>, delayMs = 0): { store: Store; reads: () => number } {
  let reads = 0;
  const findClient = (clientId: string) => {
    reads++;
    const snapshot = rows.get(clientId);
    return delayMs === 0 ? Promise.resolve(snapshot) : new Promise<ClientRecord | undefined>((r) => setTimeout(() => r(snapshot), delayMs));
  };
  return { store: { credentials: { findClient } } as unknown as Store, reads: () => reads };
}

describe('client cache', () => {
  it('a get made after invalidateClient does not join a read that began before it', async () => {
    const rows = new Map([['c1', record('c1', 'a1', 'u1')]]);
    const { store } = pacedStore(rows, 200);
    const cache = new ClientCache(store);
    const first = cache.get('c1'); // the credential still exists when this read begins
    await new Promise((r) => setTimeout(r, 30));
    rows.delete('c1'); // the deletion commits...
    cache.invalidateClient('c1'); // ...and the feed delivers it
    assert.equal(await cache.get('c1'), null, 'the request made after the deletion does not get the deleted record');
    assert.ok(await first);
  });

  it('invalidating an owner or an account drops exactly their entries, at a cost independent of the cache size', async () => {
    const rows = new Map<string, ClientRecord>();
    const N = 50_000;
    for (let i = 0; i < N; i++) rows.set(`c${i}`, record(`c${i}`, `a${i % 100}`, `u${i % 1000}`));
    const { store, reads } = pacedStore(rows);
    const cache = new ClientCache(store, N);
    for (let i = 0; i < N; i++) await cache.get(`c${i}`);
    assert.equal(reads(), N);

    // 500 presence-like changes of users that own nothing cached.
    const started = performance.now();
    for (let i = 0; i < 500; i++) cache.invalidateUser(`nobody-${i}`);
    const ms = performance.now() - started;
    assert.ok(ms < 1000, `500 invalidations of users without cached clients took ${ms.toFixed(0)} ms`);

    cache.invalidateUser('u7'); // owns c7, c1007, ... : 50 entries
    cache.invalidateAccount('a3'); // c3, c103, ... : 500 entries
    for (let i = 0; i < N; i++) cache.peek(`c${i}`);
    const before = reads();
    for (let i = 0; i < N; i++) await cache.get(`c${i}`);
    assert.equal(reads() - before, 50 + 500, 'exactly the owner\'s and the account\'s entries were dropped');
  });

  it('entries evicted by the LRU leave the indexes too (an owner invalidated later drops nothing stale)', async () => {
    const rows = new Map<string, ClientRecord>();
    for (let i = 0; i < 10; i++) rows.set(`c${i}`, record(`c${i}`, 'a1', `u${i}`));
    const { store, reads } = pacedStore(rows);
    const cache = new ClientCache(store, 3);
    for (let i = 0; i < 10; i++) await cache.get(`c${i}`); // c0..c6 evicted
    cache.invalidateUser('u0');
    cache.invalidateUser('u9');
    const before = reads();
    await cache.get('c8');
    assert.equal(reads(), before, 'c8 stays cached');
    await cache.get('c9');
    assert.equal(reads(), before + 1, 'c9 was dropped');
  });
});
