import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/** Remembers when each credential was last used and writes that in batches, off the hot path. */
export class LastUsedRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  record(clientId: string, at: number): void {
    this.pending.set(clientId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
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
