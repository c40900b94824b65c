import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { lru } from '../domain/lru.js';

/**
 * How often one credential's lastUsedAt is written at most (its first use is written at the next
 * flush; a graceful stop writes everything). Each write dirties random pages of the credentials
 * table and of its two last-used indexes: at 1,000,000 credentials on SQLite about 110 µs of the
 * event loop per credential (measured, docs/benchmarks.md), so 10,000 credentials in use cost
 * 1.1 s per round of writes. lastUsedAt is a "when was this last used" for people and for the
 * `unused_days` filter: five minutes lose nothing there (AWS reports access keys' last use
 * within hours), and each instance writes a busy credential 12 times an hour, not 60.
 */
export const LAST_USED_RESOLUTION_MS = 5 * 60_000;

/** Remembers when each credential was last used and writes that in batches, off the hot path. */
export class LastUsedRecorder {
  private pending = new Map<string, number>();
  /** When this process last wrote each credential's time (bounded; a forgotten one is simply written again). */
  private readonly written = lru<string, number>(100_000);
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
