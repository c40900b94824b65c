import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/** Remembers when each credential was last used and writes that in batches, off the hot path. */
export class LastUsedRecorder {
  private pending = new Map<string, number>();
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
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.credentials.touchLastUsed(batch);
    } catch (err) {
      this.log.warn({ err }, 'could not record lastUsedAt; will retry');
      for (const [k, v] of batch) if (!this.pending.has(k)) this.pending.set(k, v);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
