import type { Logger } from 'pino';
import { type Change, changesSince, latestChangeId, pruneChanges } from '../store/changes.js';
import type { Store } from '../store/store.js';

export type ChangeListener = (change: Change) => void | Promise<void>;

/**
 * Follows the store's change table so that writes by the CLI or another instance reach this
 * instance's caches within one poll interval (default 250 ms). One indexed range query per
 * interval, never one per request.
 */
export class ChangeFeed {
  private lastId = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly listeners: ChangeListener[] = [];
  private lastPrune = Date.now();

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.lastId = await latestChangeId(this.store.db);
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.poll().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * Another process says it has just written a change: look now, and once more shortly after in
   * case its transaction had not committed yet.
   */
  nudge(): void {
    const run = () => {
      if (!this.running) this.running = this.poll().finally(() => (this.running = undefined));
    };
    run();
    setTimeout(run, 30).unref();
  }

  /** Read and dispatch everything new; also used by tests to avoid waiting for the timer. */
  async poll(): Promise<void> {
    try {
      for (;;) {
        const changes = await changesSince(this.store.db, this.lastId);
        for (const change of changes) {
          this.lastId = change.id;
          for (const listener of this.listeners) await listener(change);
        }
        if (changes.length < 1000) break;
      }
      if (Date.now() - this.lastPrune > 10 * 60_000) {
        this.lastPrune = Date.now();
        await pruneChanges(this.store.db, 60 * 60_000);
      }
    } catch (err) {
      this.log.warn({ err }, 'change feed poll failed; retrying');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
