import { LRUCache } from 'lru-cache';
import type { ClientRecord } from '../domain/model.js';
import type { Store } from '../store/store.js';

/**
 * How long a client record is trusted without the store being asked again. The change feed
 * invalidates entries at once; the TTL is the safety net that bounds the damage of any change the
 * feed could still miss (30 s, then the next use reads the row again).
 */
export const CLIENT_TTL_MS = 30_000;
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
 * The token endpoint's and the gateway's view of clients, in memory. A miss loads one row
 * (credential + owner + account) from the store. Entries are dropped on every change to the
 * credential, its owner or its account, and expire after CLIENT_TTL_MS in any case.
 */
export class ClientCache {
  private readonly entries: LRUCache<string, ClientRecord>;
  private readonly absent: LRUCache<string, true>;
  private readonly inflight = new Map<string, Promise<ClientRecord | null>>();
  private generation = 0;

  constructor(
    private readonly store: Store,
    maxEntries = CLIENT_CACHE_MAX,
    options: { ttlMs?: number; absentTtlMs?: number; absentMax?: number } = {},
  ) {
    this.entries = new LRUCache({ max: maxEntries, ttl: options.ttlMs ?? CLIENT_TTL_MS, updateAgeOnGet: false });
    this.absent = new LRUCache({ max: options.absentMax ?? ABSENT_CLIENT_MAX, ttl: options.absentTtlMs ?? ABSENT_CLIENT_TTL_MS, updateAgeOnGet: false });
  }

  /** undefined = not cached; null = known not to exist. */
  peek(clientId: string): ClientRecord | null | undefined {
    const record = this.entries.get(clientId);
    if (record !== undefined) return record;
    return this.absent.get(clientId) ? null : undefined;
  }

  async get(clientId: string): Promise<ClientRecord | null> {
    const cached = this.peek(clientId);
    if (cached !== undefined) return cached;
    return this.load(clientId);
  }

  /**
   * Read one client from the store again, bypassing its entry (which the read then replaces).
   * The entry is overwritten, not deleted first: lru-cache resets its arrays (O(max)) when its
   * last entry is deleted, which would make this path slower than an unknown client's.
   */
  async reload(clientId: string): Promise<ClientRecord | null> {
    return this.load(clientId);
  }

  private load(clientId: string): Promise<ClientRecord | null> {
    let pending = this.inflight.get(clientId);
    if (!pending) {
      const startedAt = this.generation;
      pending = this.store.credentials
        .findClient(clientId)
        .then((record) => {
          const value = record ?? null;
          // A change that arrived while we were reading may have made this row stale: don't keep it
          // (the caller still gets what was read; the next use reads again).
          if (this.generation === startedAt) this.remember(clientId, value);
          return value;
        })
        .finally(() => this.inflight.delete(clientId));
      this.inflight.set(clientId, pending);
    }
    return pending;
  }

  private remember(clientId: string, value: ClientRecord | null): void {
    if (value === null) {
      if (this.entries.has(clientId)) this.entries.delete(clientId);
      this.absent.set(clientId, true);
    } else {
      if (this.absent.has(clientId)) this.absent.delete(clientId);
      this.entries.set(clientId, value);
    }
  }

  invalidateClient(clientId: string): void {
    this.generation++;
    this.entries.delete(clientId);
    this.absent.delete(clientId);
  }

  invalidateUser(userId: string): void {
    this.generation++;
    this.dropWhere((record) => record.owner?.id === userId);
  }

  invalidateAccount(accountId: string): void {
    this.generation++;
    this.dropWhere((record) => record.accountId === accountId);
  }

  private dropWhere(matches: (record: ClientRecord) => boolean): void {
    const keys: string[] = [];
    for (const [key, value] of this.entries.entries()) if (matches(value)) keys.push(key);
    for (const key of keys) this.entries.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.absent.clear();
  }

  get size(): number {
    return this.entries.size + this.absent.size;
  }
}
