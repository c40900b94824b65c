import type { Redis } from 'ioredis';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
  /** When refused: whole seconds until a request may succeed. */
  retryAfterSeconds: number;
}

const WINDOW_MS = 60_000;

interface AccountWindow {
  windowStart: number;
  /** Requests in the current window known to everyone (after the last sync), this instance's included. */
  current: number;
  /** Requests in the previous window. */
  previous: number;
  /** Requests this instance counted since the last sync. */
  pending: number;
  lastUsed: number;
}

/**
 * The account's API limit over a sliding 60-second window, estimated the usual way from the
 * current and previous fixed windows (previous weighted by how much of it still overlaps).
 * Decisions are made in memory; with Redis every instance pushes its counts and reads the
 * account's totals a few times a second, so the budget is shared without a Redis round trip
 * per request. If Redis goes away the limiter carries on with local counts.
 */
export class AccountRateLimiter {
  private readonly windows = new Map<string, AccountWindow>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  redisHealthy = false;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly keyPrefix: string,
    private readonly syncIntervalMs = 200,
    private readonly onRedisError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (!this.redis) return;
    this.timer = setInterval(() => {
      if (!this.syncing) this.syncing = this.sync().finally(() => (this.syncing = undefined));
    }, this.syncIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.syncing;
  }

  consume(accountId: string, limit: number, now = Date.now()): RateDecision {
    const w = this.window(accountId, now);
    const elapsed = now - w.windowStart;
    const weight = (WINDOW_MS - elapsed) / WINDOW_MS;
    const used = w.previous * weight + w.current + w.pending;
    const resetSeconds = Math.max(1, Math.ceil((WINDOW_MS - elapsed) / 1000));
    if (used + 1 > limit) {
      return { allowed: false, limit, remaining: 0, resetSeconds, retryAfterSeconds: this.retryAfter(w, limit, elapsed) };
    }
    w.pending++;
    return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - used - 1)), resetSeconds, retryAfterSeconds: 0 };
  }

  private retryAfter(w: AccountWindow, limit: number, elapsed: number): number {
    const inWindow = w.current + w.pending;
    // Within this window: wait until enough of the previous window has slid out.
    if (inWindow + 1 <= limit && w.previous > 0) {
      const neededWeight = (limit - inWindow - 1) / w.previous;
      const t = WINDOW_MS * (1 - neededWeight) - elapsed;
      return Math.max(1, Math.ceil(t / 1000));
    }
    // Otherwise in the next window, once this window's weight has dropped enough.
    const untilNext = WINDOW_MS - elapsed;
    const neededWeight = inWindow > 0 ? (limit - 1) / inWindow : 1;
    return Math.max(1, Math.ceil((untilNext + WINDOW_MS * Math.max(0, 1 - neededWeight)) / 1000));
  }

  private window(accountId: string, now: number): AccountWindow {
    const start = now - (now % WINDOW_MS);
    let w = this.windows.get(accountId);
    if (!w) {
      w = { windowStart: start, current: 0, previous: 0, pending: 0, lastUsed: now };
      this.windows.set(accountId, w);
      if (this.windows.size > 100_000) this.evict(now);
    } else if (w.windowStart !== start) {
      const total = w.current + w.pending;
      w.previous = start - w.windowStart === WINDOW_MS ? total : 0;
      w.current = 0;
      w.pending = 0;
      w.windowStart = start;
    }
    w.lastUsed = now;
    return w;
  }

  private evict(now: number): void {
    for (const [id, w] of this.windows) if (now - w.lastUsed > 2 * WINDOW_MS) this.windows.delete(id);
  }

  /** Push this instance's counts to Redis and read the shared totals back. */
  async sync(now = Date.now()): Promise<void> {
    if (!this.redis) return;
    const entries = [...this.windows.entries()].filter(([, w]) => now - w.lastUsed < 2 * WINDOW_MS);
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    const sent = entries.map(([id, w]) => {
      const key = `${this.keyPrefix}:${id}:${w.windowStart}`;
      const pending = w.pending;
      pipeline.incrby(key, pending);
      pipeline.pexpire(key, 3 * WINDOW_MS);
      pipeline.get(`${this.keyPrefix}:${id}:${w.windowStart - WINDOW_MS}`);
      return { w, pending, windowStart: w.windowStart };
    });
    try {
      const results = await pipeline.exec();
      if (!results) throw new Error('no pipeline results');
      sent.forEach((s, i) => {
        const [incErr, total] = results[i * 3] ?? [];
        const [, prev] = results[i * 3 + 2] ?? [];
        if (incErr || s.w.windowStart !== s.windowStart) return;
        s.w.pending -= s.pending;
        s.w.current = Number(total);
        if (prev !== null && prev !== undefined) s.w.previous = Math.max(s.w.previous, Number(prev));
      });
      this.redisHealthy = true;
    } catch (err) {
      this.redisHealthy = false;
      this.onRedisError(err);
    }
  }
}
