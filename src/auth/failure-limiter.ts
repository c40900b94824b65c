/**
 * Counts failed client authentications per key (a client ID or an IP address) in a sliding
 * 60-second window. Past the limit, further attempts are refused until the oldest failure ages out.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 200_000,
  ) {}

  /** Seconds until another attempt is allowed, or 0 when it is allowed now. */
  retryAfter(key: string, now = Date.now()): number {
    const list = this.failures.get(key);
    if (!list) return 0;
    while (list.length > 0 && (list[0] as number) <= now - this.windowMs) list.shift();
    if (list.length === 0) {
      this.failures.delete(key);
      return 0;
    }
    if (list.length < this.limit) return 0;
    return Math.max(1, Math.ceil(((list[0] as number) + this.windowMs - now) / 1000));
  }

  recordFailure(key: string, now = Date.now()): void {
    let list = this.failures.get(key);
    if (!list) {
      if (this.failures.size >= this.maxKeys) this.sweep(now);
      list = [];
      this.failures.set(key, list);
    }
    list.push(now);
    if (list.length > this.limit) list.shift();
  }

  private sweep(now: number): void {
    for (const [key, list] of this.failures) {
      if (list.length === 0 || (list[list.length - 1] as number) <= now - this.windowMs) this.failures.delete(key);
    }
    // Still full: forget the oldest keys rather than grow without bound.
    while (this.failures.size >= this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }
}
