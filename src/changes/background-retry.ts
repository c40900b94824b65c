import type { Logger } from 'pino';

/**
 * A reload that must happen but must not block whoever asks for it (the change feed): run() tries
 * at once and never throws; after a failure it retries on its own timer (1 s, doubling to 30 s)
 * until one attempt succeeds, logging the first failure loudly and then at most once a minute.
 * A run() while a retry is pending tries at once again (the newest request wins).
 */
export class BackgroundRetry {
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private failingSince = 0;
  private lastLog = 0;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly what: string,
    private readonly task: () => Promise<void>,
    private readonly log: Logger,
    private readonly firstDelayMs = 1000,
    private readonly maxDelayMs = 30_000,
  ) {
    this.delayMs = firstDelayMs;
  }

  /** Attempt now; resolves when this attempt ended, whatever its outcome. */
  run(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.attempt();
    return this.running;
  }

  /** Whether the last attempt failed (a retry is scheduled). */
  get failing(): boolean {
    return this.failingSince !== 0;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.task();
      if (this.failingSince !== 0) this.log.info({ failedForMs: Date.now() - this.failingSince }, `${this.what} succeeded again`);
      this.failingSince = 0;
      this.delayMs = this.firstDelayMs;
    } catch (err) {
      const now = Date.now();
      if (this.failingSince === 0 || now - this.lastLog > 60_000) {
        this.lastLog = now;
        this.log.error({ err, failingForMs: this.failingSince === 0 ? 0 : now - this.failingSince }, `${this.what} failed; retrying in the background`);
      }
      if (this.failingSince === 0) this.failingSince = now;
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.run(), this.delayMs);
      this.timer.unref();
      this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
