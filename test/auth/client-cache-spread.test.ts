import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ClientCache, FIRST_TTL_SPREAD } from '../../src/auth/client-cache.js';
import type { ClientRecord } from '../../src/domain/model.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../support/env.js';

/**
 * Without refresh-ahead (SQLite), clients first read together must not expire together every TTL
 * (each wave of reads lands on the request path at once): a first read is trusted for a random
 * share of the TTL in [FIRST_TTL_SPREAD, 1), a read of an expired entry for the whole TTL. Never
 * longer than the TTL. On a real SQLite store with a test clock, store reads counted (observed,
 * not replaced).
 */
const TTL = 30_000;
const CLIENTS = 200;
const dir = tempDir();
let store: Store;
let reads = 0;
const ids: string[] = [];

before(async () => {
  store = await Store.open({ dataDir: dir.path });
  const accountId = (await store.accounts.create({ name: 'Spread', apiCredentialsEnabled: true })).id;
  for (let i = 0; i < CLIENTS; i++) {
    const c = await store.credentials.create({ accountId, level: 'account', ownerUserId: null, name: `s${i}`, clientId: `spread-${i}-${Date.now()}`, secretHash: 'h$x', scopes: ['stats'] });
    ids.push(c.clientId);
  }
  const credentials = store.credentials;
  const findClient = credentials.findClient.bind(credentials);
  credentials.findClient = async (clientId, ...rest): Promise<ClientRecord | undefined> => {
    reads++;
    return findClient(clientId, ...rest);
  };
});
after(async () => {
  await store.close();
  dir.remove();
});

/** Uses every client once at `at` (ms); returns how many were read from the store. */
async function useAll(cache: ClientCache, clock: { t: number }, at: number): Promise<number> {
  clock.t = at;
  const before = reads;
  for (const id of ids) assert.ok(await cache.get(id));
  return reads - before;
}

it('clients read together expire spread over the TTL, then each after a whole TTL; never later', async () => {
  const clock = { t: 1_000_000 };
  const cache = new ClientCache(store, undefined, { ttlMs: TTL, refreshAhead: false, now: () => clock.t });
  const t0 = clock.t;
  assert.equal(await useAll(cache, clock, t0), CLIENTS, 'cold: every client read');
  // Before the spread's lower bound nothing expired; at the TTL everything has.
  assert.equal(await useAll(cache, clock, t0 + TTL * FIRST_TTL_SPREAD - 1), 0);
  // Between, about evenly: a quarter of the way through the spread, about a quarter re-read.
  const quarter = await useAll(cache, clock, t0 + TTL * (FIRST_TTL_SPREAD + (1 - FIRST_TTL_SPREAD) / 4));
  assert.ok(quarter > CLIENTS * 0.1 && quarter < CLIENTS * 0.45, `${quarter} of ${CLIENTS} re-read a quarter of the way through the spread`);
  // Every first-read entry has expired by the TTL: those not re-read yet are read now.
  const rest = await useAll(cache, clock, t0 + TTL);
  assert.equal(quarter + rest, CLIENTS, 'each client re-read exactly once by the TTL');
  // Re-read entries keep the whole TTL: none expires before its read time + TTL, so the re-read
  // times' spread (about a quarter of the TTL apart here) is kept.
  assert.equal(await useAll(cache, clock, t0 + TTL + TTL - 1 - TTL * (1 - FIRST_TTL_SPREAD) * 0.75), 0, 'a re-read entry expired before its whole TTL');
  assert.equal(await useAll(cache, clock, t0 + 2 * TTL + 1), CLIENTS, 'every entry expires at most one TTL after its read');
});

it('with refresh-ahead (PostgreSQL) every entry keeps the whole TTL', async () => {
  const clock = { t: 5_000_000 };
  const cache = new ClientCache(store, undefined, { ttlMs: TTL, refreshAhead: true, now: () => clock.t });
  assert.equal(await useAll(cache, clock, clock.t), CLIENTS);
  // Late in the TTL nothing has expired (a use there only schedules a background refresh, a batch
  // read that is not a single read); with the spread, most would have.
  assert.equal(await useAll(cache, clock, clock.t + TTL * 0.9), 0);
});
