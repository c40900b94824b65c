import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/**
 * How often one credential's lastUsedAt is written at most (a graceful stop writes everything).
 * Each write dirties one random page of the credentials table: with 10,000 credentials in use,
 * writing all of them every flush cost SQLite about 0.5 s of the event loop per flush (measured,
 * docs/benchmarks.md); lastUsedAt is a "when was this last used" for people and the
 * `unused_days` filter, so minute resolution loses nothing.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Remembers when each credential was last used and writes that in batches, off the hot path. */
export class LastUsedRecorder {
  private pending = new Map<string, number>();
  /** When this process last wrote each credential's time (bounded; a forgotten one is simply written again). */
  private readonly written = new LRUCache<string, number>({ max: 100_000 });
  private timer: NodeJS.Timeout | undefined;
  /** One write at a time: with a slow or unreachable store, flushes do not pile up. */
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.flushing) void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  record(clientId: string, at: number): void {
    this.pending.set(clientId, at);
  }

  /**
   * Writes what was recorded since the last write. A failure (store unreachable) never throws:
   * the batch is kept (newer times win) and written by a later flush.
   */
  async flush(all = false): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write(all).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(all: boolean): Promise<void> {
    let batch = this.pending;
    this.pending = new Map();
    if (!all) {
      // Written less than a resolution ago: keep the newest time pending for a later flush (or the stop).
      const due = new Map<string, number>();
      for (const [clientId, at] of batch) {
        const last = this.written.get(clientId);
        if (last === undefined || at - last >= LAST_USED_RESOLUTION_MS) due.set(clientId, at);
        else this.pending.set(clientId, at);
      }
      batch = due;
      if (batch.size === 0) return;
    }
    try {
      await this.store.credentials.touchLastUsed(batch);
      for (const [clientId, at] of batch) this.written.set(clientId, at);
    } catch (err) {
      this.log.warn({ err }, 'could not record lastUsedAt; will retry');
      for (const [k, v] of batch) if (!this.pending.has(k)) this.pending.set(k, v);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush(true);
  }
}
