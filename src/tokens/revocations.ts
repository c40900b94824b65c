/**
 * Token ids revoked one by one (RFC 7009), in memory, each kept until its token would have
 * expired anyway. Filled from the store at start and by the change feed afterwards.
 */
export class RevocationList {
  private readonly revoked = new Map<string, number>();
  private lastPrune = Date.now();

  add(jti: string, expiresAtMs: number): void {
    if (expiresAtMs > Date.now()) this.revoked.set(jti, expiresAtMs);
    if (Date.now() - this.lastPrune > 60_000) this.prune();
  }

  /** Merge the store's list (at start, and after the change feed gave up on an id). */
  addAll(entries: readonly { jti: string; expiresAt: number }[]): void {
    for (const e of entries) this.add(e.jti, e.expiresAt);
  }

  isRevoked(jti: string): boolean {
    return this.revoked.has(jti);
  }

  prune(now = Date.now()): void {
    this.lastPrune = now;
    for (const [jti, exp] of this.revoked) if (exp <= now) this.revoked.delete(jti);
  }

  get size(): number {
    return this.revoked.size;
  }
}
