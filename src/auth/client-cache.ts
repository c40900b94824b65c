import type { ClientRecord } from '../domain/model.js';
import type { Store } from '../store/store.js';

/**
 * The token endpoint's view of clients, in memory. A miss loads one row (credential + owner +
 * account) from the store; an unknown client ID is remembered as absent so that it costs the same
 * as a known one. Entries are dropped on every change to the credential, its owner or its account.
 */
export class ClientCache {
  private readonly entries = new Map<string, ClientRecord | null>();
  private readonly inflight = new Map<string, Promise<ClientRecord | null>>();
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly maxEntries = 100_000,
  ) {}

  /** undefined = not cached; null = known not to exist. */
  peek(clientId: string): ClientRecord | null | undefined {
    return this.entries.get(clientId);
  }

  async get(clientId: string): Promise<ClientRecord | null> {
    const cached = this.entries.get(clientId);
    if (cached !== undefined) return cached;
    let pending = this.inflight.get(clientId);
    if (!pending) {
      const startedAt = this.generation;
      pending = this.store.credentials
        .findClient(clientId)
        .then((record) => {
          const value = record ?? null;
          // A change that arrived while we were reading may have made this row stale: don't keep it.
          if (this.generation === startedAt) this.remember(clientId, value);
          return value;
        })
        .finally(() => this.inflight.delete(clientId));
      this.inflight.set(clientId, pending);
    }
    return pending;
  }

  /** Read one client from the store again, bypassing its entry (which the read then replaces). */
  async reload(clientId: string): Promise<ClientRecord | null> {
    this.entries.delete(clientId);
    return this.get(clientId);
  }

  private remember(clientId: string, value: ClientRecord | null): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(clientId, value);
  }

  invalidateClient(clientId: string): void {
    this.generation++;
    this.entries.delete(clientId);
  }

  invalidateUser(userId: string): void {
    this.generation++;
    for (const [key, value] of this.entries) if (value?.owner?.id === userId) this.entries.delete(key);
  }

  invalidateAccount(accountId: string): void {
    this.generation++;
    for (const [key, value] of this.entries) if (value?.accountId === accountId) this.entries.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
