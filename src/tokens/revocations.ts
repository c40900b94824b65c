/**
 * How long after its exp a revoked token id is kept: the verifier's clock leeway (10 s, see
 * src/tokens/verify.ts), during which an expired token is still accepted.
 */
export const REVOCATION_MARGIN_MS = 10_000;

/**
 * Token ids revoked one by one (RFC 7009), in memory, each kept until its token would have
 * expired anyway (exp plus the verifier's leeway). Filled from the store at start and by the
 * change feed afterwards.
 */
export class RevocationList {
  private readonly revoked = new Map<string, number>();
  private lastPrune = Date.now();
  private additions = 0;

  constructor(private readonly marginMs = REVOCATION_MARGIN_MS) {}

  add(jti: string, expiresAtMs: number): void {
    this.additions++;
    if (expiresAtMs + this.marginMs > Date.now()) this.revoked.set(jti, expiresAtMs);
    if (Date.now() - this.lastPrune > 60_000) this.prune();
  }

  /** Merge the store's list (at start, and after the change feed gave up on an id). */
  addAll(entries: readonly { jti: string; expiresAt: number }[]): void {
    // One clock read for the batch (100,000 ids at start-up).
    this.additions++;
    const keepAfter = Date.now() - this.marginMs;
    for (const e of entries) if (e.expiresAt > keepAfter) this.revoked.set(e.jti, e.expiresAt);
    if (Date.now() - this.lastPrune > 60_000) this.prune();
  }

  isRevoked(jti: string): boolean {
    return this.revoked.has(jti);
  }

  prune(now = Date.now()): void {
    this.lastPrune = now;
    for (const [jti, exp] of this.revoked) if (exp + this.marginMs <= now) this.revoked.delete(jti);
  }

  /**
   * Counts the additions: a token found not revoked at one generation is still not revoked while
   * the generation is the same, so a verifier need not look its id up again (src/tokens/verify.ts).
   */
  get generation(): number {
    return this.additions;
  }

  get size(): number {
    return this.revoked.size;
  }
}
