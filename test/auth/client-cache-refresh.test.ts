import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ClientCache, REFRESH_AHEAD_AT, REFRESH_BATCH_DELAY_MS } from '../../src/auth/client-cache.js';
import type { ClientRecord } from '../../src/domain/model.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../support/env.js';

/**
 * Refresh-ahead: a client in use is read again in the background, many in one query, before its
 * entry expires; a change seen meanwhile discards the batch. Observed by counting calls of the
 * store's two lookups on a real SQLite store (observing, not replacing, the thing under test).
 */
const TTL = 1000;
const dir = tempDir();
let store: Store;
let singles = 0;
let batches: string[][] = [];
let gate: Promise<void> | undefined;
let accountId: string;

before(async () => {
  store = await Store.open({ dataDir: dir.path });
  accountId = (await store.accounts.create({ name: 'Refresh', apiCredentialsEnabled: true })).id;
  const credentials = store.credentials;
  const findClient = credentials.findClient.bind(credentials);
  const findClients = credentials.findClients.bind(credentials);
  credentials.findClient = async (clientId, ...rest): Promise<ClientRecord | undefined> => {
    singles++;
    return findClient(clientId, ...rest);
  };
  credentials.findClients = async (ids, ...rest): Promise<ClientRecord[]> => {
    batches.push([...ids]);
    const records = await findClients(ids, ...rest);
    if (gate) await gate;
    return records;
  };
});
after(async () => {
  await store.close();
  dir.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
async function credential(scopes = ['stats']) {
  n++;
  return store.credentials.create({ accountId, level: 'account', ownerUserId: null, name: `c${n}`, clientId: `refresh-${n}-${Date.now()}`, secretHash: 'h$x', scopes });
}
function reset() {
  singles = 0;
  batches = [];
}
/** The batch reads that asked for any of these clients (another test's cache may still refresh its own). */
function batchesFor(ids: string[]): string[][] {
  return batches.filter((b) => b.some((id) => ids.includes(id)));
}

it('reads a client in use again in the background before it expires, and serves it meanwhile', async () => {
  const cache = new ClientCache(store, 1000, { ttlMs: TTL, refreshAhead: true });
  const c = await credential(['stats']);
  reset();
  assert.deepEqual((await cache.get(c.clientId))?.scopes, ['stats']);
  assert.equal(singles, 1);
  // Changed in the store without the change feed (nothing here delivers it).
  await store.credentials.update(c.id, { scopes: ['stats', 'users:read'] });
  await sleep(TTL * REFRESH_AHEAD_AT + 40);
  assert.deepEqual((await cache.get(c.clientId))?.scopes, ['stats'], 'still fresh: served from memory');
  await sleep(REFRESH_BATCH_DELAY_MS + 80);
  assert.deepEqual(batchesFor([c.clientId]), [[c.clientId]]);
  assert.deepEqual(cache.peek(c.clientId)?.scopes, ['stats', 'users:read'], 'the background read replaced the entry');
  await sleep(TTL * (1 - REFRESH_AHEAD_AT) + 40);
  assert.ok(cache.peek(c.clientId), 'past the first read\'s TTL, the refreshed entry is still fresh');
  assert.equal(singles, 1, 'no read on a request\'s path');
});

it('refreshes every client due in one query', async () => {
  const cache = new ClientCache(store, 1000, { ttlMs: TTL, refreshAhead: true });
  const list = [];
  for (let i = 0; i < 40; i++) list.push(await credential());
  for (const c of list) await cache.get(c.clientId);
  reset();
  await sleep(TTL * REFRESH_AHEAD_AT + 40);
  for (const c of list) assert.ok(await cache.get(c.clientId));
  await sleep(REFRESH_BATCH_DELAY_MS + 100);
  const ids = list.map((c) => c.clientId);
  assert.equal(batchesFor(ids).length, 1);
  assert.deepEqual([...(batchesFor(ids)[0] ?? [])].sort(), ids.sort());
  assert.equal(singles, 0);
});

it('discards a batch when a change arrives while it is read, and forgets a client deleted meanwhile', async () => {
  const cache = new ClientCache(store, 1000, { ttlMs: TTL, refreshAhead: true });
  const kept = await credential(['stats']);
  const gone = await credential(['stats']);
  await cache.get(kept.clientId);
  await cache.get(gone.clientId);
  let release = () => {};
  gate = new Promise((r) => (release = r));
  reset();
  await sleep(TTL * REFRESH_AHEAD_AT + 40);
  await cache.get(kept.clientId);
  await sleep(REFRESH_BATCH_DELAY_MS + 60);
  assert.equal(batchesFor([kept.clientId]).length, 1, 'the batch has read its rows (held before it returns)');
  // A change after the batch's read: the change feed drops the entry, and the next use reads the
  // new record before the batch returns with the old one.
  await store.credentials.update(kept.id, { scopes: ['stats', 'users:read'] });
  cache.invalidateClient(kept.clientId);
  assert.deepEqual((await cache.get(kept.clientId))?.scopes, ['stats', 'users:read']);
  release();
  gate = undefined;
  await sleep(30);
  assert.deepEqual(cache.peek(kept.clientId)?.scopes, ['stats', 'users:read'], 'the batch read before the change was discarded');

  // A client deleted in the store: the refresh finds it gone and remembers that.
  const second = new ClientCache(store, 1000, { ttlMs: TTL, refreshAhead: true });
  await second.get(gone.clientId);
  await store.credentials.delete(gone.id);
  await sleep(TTL * REFRESH_AHEAD_AT + 40);
  assert.ok(second.peek(gone.clientId), 'still served until the refresh');
  await sleep(REFRESH_BATCH_DELAY_MS + 80);
  assert.equal(second.peek(gone.clientId), null);
});

it('with refresh-ahead off (a region on SQLite), a client is read again only when its entry expired', async () => {
  // The first read trusted for the whole TTL (without refresh-ahead it is spread over [0.5, 1) of
  // it, FIRST_TTL_SPREAD, tested in client-cache-spread.test.ts): the test below is about the TTL.
  const cache = new ClientCache(store, 1000, { ttlMs: TTL, refreshAhead: false, random: () => 0.999_999 });
  const c = await credential();
  await cache.get(c.clientId);
  reset();
  await sleep(TTL * REFRESH_AHEAD_AT + 40);
  assert.ok(await cache.get(c.clientId));
  await sleep(REFRESH_BATCH_DELAY_MS + 80);
  assert.deepEqual(batchesFor([c.clientId]), []);
  await sleep(TTL * (1 - REFRESH_AHEAD_AT));
  assert.equal(cache.peek(c.clientId), undefined, 'expired');
  assert.ok(await cache.get(c.clientId));
  assert.equal(singles, 1);
});
