import type { LRUCache } from 'lru-cache';
import { ServiceUnavailableError } from '../domain/errors.js';
import type { ClientRecord } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { lru } from '../domain/lru.js';

/**
 * How long a client record is trusted without the store being asked again. The change feed
 * invalidates entries at once; the TTL is the safety net that bounds the damage of any change the
 * feed could still miss (30 s, then the next use reads the row again).
 */
export const CLIENT_TTL_MS = 30_000;
/**
 * Stale-if-error: when the store cannot be reached (ServiceUnavailableError) and this instance's
 * change feed is failing too (the outage is not this one read's), an expired entry keeps being
 * served for up to this long after it was read. Nothing that reached the feed before the outage is
 * lost: invalidations still drop entries, and a record never outlives this bound.
 */
export const CLIENT_STALE_IF_ERROR_MS = 10 * 60_000;
/** Known clients kept in memory, least recently used evicted first. */
export const CLIENT_CACHE_MAX = 100_000;
/**
 * Unknown client IDs are remembered too (so that an unknown ID costs what a known one does), but
 * in their own small budget and for a short time: a flood of made-up IDs cannot evict the real
 * clients, and a credential created elsewhere is found within this TTL even if its change is late.
 */
export const ABSENT_CLIENT_TTL_MS = 5_000;
export const ABSENT_CLIENT_MAX = 10_000;
/**
 * Refresh-ahead: an entry used when it is older than this share of the TTL is read again in the
 * background, in one query with the others due (up to REFRESH_BATCH_MAX clients), while it is
 * still served. A credential in steady use is then never read on a request's path, and never
 * one query per client: with 10,000 credentials in rotation and a 30 s TTL that was 333
 * single-row reads a second (on PostgreSQL a round trip each, on SQLite a synchronous read).
 * At half the TTL, so that a client used at least every 15 s is always refreshed in time. A
 * record is still never served older than the TTL. On by default where a read is a round trip
 * (PostgreSQL); a region on SQLite turns it off (`refreshAhead: false`): there a row read costs
 * the same alone or in a batch (random pages of the file), so refreshing every 15 s would read
 * more than the TTL alone does (measured, docs/benchmarks.md).
 */
export const REFRESH_AHEAD_AT = 0.5;
export const REFRESH_BATCH_MAX = 500;
/** How long due clients are gathered before their batch is read. */
export const REFRESH_BATCH_DELAY_MS = 25;

interface Entry {
  record: ClientRecord;
  /** When it was read from the store (epoch ms). */
  readAt: number;
  /** How long it is trusted: the TTL, or less for the first read of a client (FIRST_TTL_SPREAD). */
  ttl: number;
}

/**
 * Without refresh-ahead (SQLite), a client's first read is trusted for a random share of the TTL
 * between this and 1, later reads for the whole TTL. Clients first read together (a cold start,
 * a full reload, a new batch job) would otherwise expire together every TTL, and each such wave of
 * reads on the request path (10,000 credentials in rotation at 1,000,000 in the store: about 3 s of
 * the event loop at once) would land on the same seconds again and again; spread once, their
 * expiries stay spread. Entries only ever expire earlier than the TTL, never later.
 */
export const FIRST_TTL_SPREAD = 0.5;

interface Read {
  promise: Promise<ClientRecord | null>;
  /** The cache's generation when the read began. */
  generation: number;
}

export interface ClientCacheOptions {
  ttlMs?: number;
  absentTtlMs?: number;
  absentMax?: number;
  staleIfErrorMs?: number;
  /**
   * Whether the store is failing for this whole instance (its change feed cannot poll either):
   * only then is an expired entry served when a read fails. Without it, never.
   */
  storeOutage?: () => boolean;
  /** Refresh-ahead (REFRESH_AHEAD_AT); default on. */
  refreshAhead?: boolean;
  /** The clock (tests); default Date.now. */
  now?: () => number;
  /** A number in [0, 1) (tests); default Math.random. */
  random?: () => number;
}

/**
 * The token endpoint's and the gateway's view of clients, in memory. A miss loads one row
 * (credential + owner + account) from the store. Entries are dropped on every change to the
 * credential, its owner or its account (through indexes by owner and by account: O(entries
 * affected)), and are read again after CLIENT_TTL_MS in any case.
 */
export class ClientCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly absent: LRUCache<string, true>;
  /** Owner user id -> client ids cached; account id -> client ids cached. In step with `entries`. */
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly byAccount = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Read>();
  private generation = 0;
  private readonly ttlMs: number;
  private readonly refreshAfterMs: number;
  /** Clients due for the background refresh; one batch read at a time. */
  private readonly due = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly staleIfErrorMs: number;
  private readonly storeOutage: () => boolean;
  private readonly spreadFirstTtl: boolean;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly store: Store,
    maxEntries = CLIENT_CACHE_MAX,
    options: ClientCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? CLIENT_TTL_MS;
    this.refreshAfterMs = options.refreshAhead === false ? Number.POSITIVE_INFINITY : this.ttlMs * REFRESH_AHEAD_AT;
    this.staleIfErrorMs = Math.max(this.ttlMs, options.staleIfErrorMs ?? CLIENT_STALE_IF_ERROR_MS);
    this.storeOutage = options.storeOutage ?? (() => false);
    // With refresh-ahead a client in use is read in the background, in batches, whatever its expiry.
    this.spreadFirstTtl = options.refreshAhead === false;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    // Expiry is checked here (fresh, stale-if-error, gone), not by the LRU: an expired entry stays
    // until evicted or invalidated, so that it can be served while the store is down.
    this.entries = lru(maxEntries, {
      // Called synchronously on delete, eviction and overwrite: the indexes follow the LRU.
      dispose: (entry, clientId) => this.unindex(clientId, entry.record),
    });
    this.absent = lru(options.absentMax ?? ABSENT_CLIENT_MAX, { ttl: options.absentTtlMs ?? ABSENT_CLIENT_TTL_MS, updateAgeOnGet: false });
  }

  /** undefined = not cached (or expired); null = known not to exist. */
  peek(clientId: string): ClientRecord | null | undefined {
    const entry = this.entries.get(clientId);
    if (entry !== undefined) {
      const age = this.now() - entry.readAt;
      if (age >= entry.ttl) return undefined;
      if (age >= this.refreshAfterMs) this.refreshSoon(clientId);
      return entry.record;
    }
    return this.absent.get(clientId) ? null : undefined;
  }

  async get(clientId: string): Promise<ClientRecord | null> {
    const cached = this.peek(clientId);
    if (cached !== undefined) return cached;
    return this.loadOrStale(clientId);
  }

  /**
   * Read one client from the store again, bypassing its entry (which the read then replaces).
   * The entry is overwritten, not deleted first: lru-cache resets its arrays (O(max)) when its
   * last entry is deleted, which would make this path slower than an unknown client's.
   */
  async reload(clientId: string): Promise<ClientRecord | null> {
    return this.load(clientId);
  }

  private async loadOrStale(clientId: string): Promise<ClientRecord | null> {
    try {
      return await this.load(clientId);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableError) || !this.storeOutage()) throw err;
      const entry = this.entries.peek(clientId);
      if (entry === undefined || this.now() - entry.readAt >= this.staleIfErrorMs) throw err;
      return entry.record;
    }
  }

  private load(clientId: string): Promise<ClientRecord | null> {
    const current = this.inflight.get(clientId);
    // A read begun before the latest invalidation may return what that change removed: never join it.
    if (current && current.generation === this.generation) return current.promise;
    const startedAt = this.generation;
    const read: Read = {
      generation: startedAt,
      promise: this.store.credentials
        .findClient(clientId)
        .then((record) => {
          const value = record ?? null;
          // A change that arrived while we were reading may have made this row stale: don't keep it
          // (the caller still gets what was read; the next use reads again).
          if (this.generation === startedAt) this.remember(clientId, value);
          return value;
        })
        .finally(() => {
          if (this.inflight.get(clientId) === read) this.inflight.delete(clientId);
        }),
    };
    this.inflight.set(clientId, read);
    return read.promise;
  }

  private refreshSoon(clientId: string): void {
    if (this.due.size >= REFRESH_BATCH_MAX * 4 || this.inflight.has(clientId)) return;
    this.due.add(clientId);
    this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== undefined || this.refreshing || this.due.size === 0) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refreshDue();
    }, REFRESH_BATCH_DELAY_MS);
    this.refreshTimer.unref();
  }

  /**
   * Reads the due clients in one query and replaces their entries. A change seen while reading
   * (the generation moved) discards the whole batch: those entries then expire and are read on
   * their next use, as without refresh-ahead. A failed read is dropped the same way (the store's
   * outage is the synchronous path's to handle, with stale-if-error).
   */
  private async refreshDue(): Promise<void> {
    const batch: string[] = [];
    for (const clientId of this.due) {
      this.due.delete(clientId);
      batch.push(clientId);
      if (batch.length >= REFRESH_BATCH_MAX) break;
    }
    if (batch.length === 0) return;
    this.refreshing = true;
    const startedAt = this.generation;
    try {
      const records = await this.store.credentials.findClients(batch);
      if (this.generation === startedAt) {
        const found = new Map(records.map((r) => [r.clientId, r]));
        // Only entries still cached are refreshed (one evicted meanwhile is not brought back).
        for (const clientId of batch) if (this.entries.has(clientId)) this.remember(clientId, found.get(clientId) ?? null);
      }
    } catch {
      // Left to expire: the next use reads the client on the request's path.
    } finally {
      this.refreshing = false;
      this.scheduleRefresh();
    }
  }

  private remember(clientId: string, value: ClientRecord | null): void {
    if (value === null) {
      if (this.entries.has(clientId)) this.entries.delete(clientId);
      this.absent.set(clientId, true);
    } else {
      if (this.absent.has(clientId)) this.absent.delete(clientId);
      // A client read again (its entry expired, or was refreshed) keeps the whole TTL; only a
      // first read is spread (FIRST_TTL_SPREAD).
      const ttl = this.spreadFirstTtl && !this.entries.has(clientId) ? this.ttlMs * (FIRST_TTL_SPREAD + (1 - FIRST_TTL_SPREAD) * this.random()) : this.ttlMs;
      // set first (its dispose unindexes the record it replaces), then index the new one.
      this.entries.set(clientId, { record: value, readAt: this.now(), ttl });
      this.index(clientId, value);
    }
  }

  private index(clientId: string, record: ClientRecord): void {
    add(this.byAccount, record.accountId, clientId);
    if (record.owner) add(this.byOwner, record.owner.id, clientId);
  }

  private unindex(clientId: string, record: ClientRecord): void {
    remove(this.byAccount, record.accountId, clientId);
    if (record.owner) remove(this.byOwner, record.owner.id, clientId);
  }

  invalidateClient(clientId: string): void {
    this.generation++;
    this.entries.delete(clientId);
    this.absent.delete(clientId);
  }

  invalidateUser(userId: string): void {
    this.generation++;
    this.drop(this.byOwner.get(userId));
  }

  invalidateAccount(accountId: string): void {
    this.generation++;
    this.drop(this.byAccount.get(accountId));
  }

  private drop(clientIds: Set<string> | undefined): void {
    if (!clientIds) return;
    // Copied: each delete's dispose removes the id from the set being walked.
    for (const clientId of [...clientIds]) this.entries.delete(clientId);
  }

  clear(): void {
    this.generation++;
    this.due.clear();
    this.entries.clear();
    this.absent.clear();
    this.byOwner.clear();
    this.byAccount.clear();
  }

  get size(): number {
    return this.entries.size + this.absent.size;
  }
}

function add(index: Map<string, Set<string>>, key: string, clientId: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(clientId);
}

function remove(index: Map<string, Set<string>>, key: string, clientId: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(clientId);
  if (set.size === 0) index.delete(key);
}
