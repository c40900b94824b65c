import type { Logger } from 'pino';
import { type Change, changeCursor, changesSince, changesWithIds, oldestChangeId } from '../store/changes.js';
import type { Store } from '../store/store.js';

export type ChangeListener = (change: Change) => void | Promise<void>;

/**
 * How long the feed waits for an id it has not seen below the highest it has seen. On PostgreSQL
 * an id is taken at INSERT and becomes visible at COMMIT, so ids appear out of order; a
 * transaction that writes a change row is bounded to 60 s per statement and per idle moment
 * (src/store/changes.ts), so ten minutes is far above any real transaction's life. An id still
 * missing then was rolled back (or skipped by the sequence after a crash) and is given up.
 */
export const GAP_TIMEOUT_MS = 10 * 60_000;
/** Rows read per query; a poll reads pages until it has caught up. */
const PAGE = 1000;
/** At most this many missing ids are tracked (a larger jump is a sequence skip, not a race). */
const MAX_GAPS = 10_000;
/**
 * When rows past the cursor were pruned (this instance did not read for longer than the retention,
 * src/store/retention.ts), only ids taken just before the oldest row kept can still be in flight:
 * at most this many are waited for; everything older is covered by a full reload.
 */
const RECENT_GAPS = 1000;

export interface ChangeFeedOptions {
  /**
   * A change whose listeners keep failing is retried on the next polls, but not forever: after
   * this many attempts AND this long since its first failure, the feed reloads in full (onResync)
   * and moves on, logging it as an error. Defaults: 5 attempts, 10 s.
   */
  listenerAttempts?: number;
  listenerFailingMs?: number;
}

/**
 * Follows the store's change table so that writes by the CLI or another instance reach this
 * instance's caches within one poll interval. Lossless (Kong cluster_events style, with exact
 * gaps instead of a time window): every id below the highest seen that has not been seen is
 * looked for again on every poll until it shows up or GAP_TIMEOUT_MS passes; ids are delivered
 * once; a change counts as delivered only when every listener has handled it, so a listener that
 * fails (a store blip in a revocation lookup, a key reload) gets the same change again on the next
 * poll. Listeners must therefore be idempotent (they invalidate or reload).
 */
export class ChangeFeed {
  private highest = 0;
  /** Ids below `highest` not seen yet -> when they were first missed (epoch ms). */
  private readonly gaps = new Map<number, number>();
  private initialized = false;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private readonly listeners: ChangeListener[] = [];
  private readonly resyncListeners: (() => void | Promise<void>)[] = [];
  private stopped = false;

  /** Change id -> failed attempts of its listeners, and since when (only changes still failing). */
  private readonly failures = new Map<number, { count: number; since: number }>();
  private readonly listenerAttempts: number;
  private readonly listenerFailingMs: number;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: Logger,
    options: ChangeFeedOptions = {},
  ) {
    this.listenerAttempts = options.listenerAttempts ?? 5;
    this.listenerFailingMs = options.listenerFailingMs ?? 10_000;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /**
   * Called when the feed gave up on an id (GAP_TIMEOUT_MS): whatever the feed keeps fresh should
   * be reloaded in full, in case that id was a change after all.
   */
  onResync(listener: () => void | Promise<void>): void {
    this.resyncListeners.push(listener);
  }

  /**
   * Read the cursor. Call this BEFORE loading the state the feed keeps fresh (keys, revocations):
   * a change committed between the two is then delivered by the first poll (at worst twice).
   */
  async init(): Promise<void> {
    const { highest, missing } = await changeCursor(this.store.feedReads.db, GAP_TIMEOUT_MS, MAX_GAPS);
    this.highest = highest;
    const now = Date.now();
    for (const id of missing) this.gaps.set(id, now);
    this.initialized = true;
  }

  async start(): Promise<void> {
    if (!this.initialized) await this.init();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Another instance has just committed a change: look now. */
  nudge(): void {
    void this.poll();
  }

  /**
   * Read and dispatch everything new. Polls never overlap; a call made while one runs gets the
   * next one (which starts after this call, so it sees what was committed before it). Tests use
   * it to avoid waiting for the timer.
   */
  poll(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.current.then(() => {
      this.queued = undefined;
      return this.pollOnce();
    });
    this.queued = next;
    this.current = next;
    return next;
  }

  /** How many ids the feed is waiting for (for tests and diagnostics). */
  get waiting(): number {
    return this.gaps.size;
  }

  get cursor(): number {
    return this.highest;
  }

  /** Whether the last poll failed (the store cannot be read from this instance). */
  get failing(): boolean {
    return this.failingSince !== 0;
  }

  private failingSince = 0;
  private lastFailureLog = 0;

  private async pollOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.fillGaps();
      for (let page = 0; page < 100; page++) {
        const changes = await changesSince(this.store.feedReads.db, this.highest, PAGE);
        if (changes.length === 0) break;
        if (changes[0]!.id > this.highest + 1) await this.checkPruned(changes[0]!.id);
        for (const change of changes) {
          if (change.id <= this.highest) continue; // already delivered
          await this.dispatch(change);
          this.delivered(change.id);
        }
        if (changes.length < PAGE) break;
      }
      await this.expireGaps();
    } catch (err) {
      // The change that failed (and everything after it) is read again on the next poll.
      // One warning per outage (then at most one a minute), not one per poll.
      const now = Date.now();
      if (this.failingSince === 0 || now - this.lastFailureLog > 60_000) {
        this.lastFailureLog = now;
        this.log.warn({ err, failingForMs: this.failingSince === 0 ? 0 : now - this.failingSince }, 'change feed poll failed; retrying');
      }
      if (this.failingSince === 0) this.failingSince = now;
      return;
    }
    if (this.failingSince !== 0) {
      this.log.info({ failedForMs: Date.now() - this.failingSince }, 'change feed polling again');
      this.failingSince = 0;
    }
  }

  /**
   * Every listener, for one change. A failure throws (the poll stops; the change is read again on
   * the next one), up to the bound of ChangeFeedOptions: then a full reload stands in for it.
   */
  private async dispatch(change: Change): Promise<void> {
    try {
      for (const listener of this.listeners) await listener(change);
      this.failures.delete(change.id);
    } catch (err) {
      const now = Date.now();
      const failure = this.failures.get(change.id) ?? { count: 0, since: now };
      failure.count++;
      this.failures.set(change.id, failure);
      if (failure.count < this.listenerAttempts || now - failure.since < this.listenerFailingMs) throw err;
      this.log.error({ err, change, attempts: failure.count }, 'change feed: a listener keeps failing on this change; reloading in full and moving on');
      for (const listener of this.resyncListeners) await listener();
      this.failures.delete(change.id);
    }
  }

  /**
   * Ids this feed still waits for, newest first (a real out-of-order commit is recent), all of
   * them, a page per query.
   */
  private async fillGaps(): Promise<void> {
    if (this.gaps.size === 0) return;
    const ids = [...this.gaps.keys()].sort((a, b) => b - a);
    for (let i = 0; i < ids.length; i += PAGE) {
      for (const change of await changesWithIds(this.store.feedReads.db, ids.slice(i, i + PAGE))) {
        if (!this.gaps.has(change.id)) continue;
        await this.dispatch(change);
        this.gaps.delete(change.id);
      }
    }
  }

  /**
   * The first row past the cursor is not the next id. When no row at or below the cursor is left
   * either, the ids in between were pruned while this instance was not reading (or its cursor
   * started on an emptied table): reload in full at once instead of waiting for ids that will
   * never show up; only the RECENT_GAPS ids just below that row may still be in flight.
   */
  private async checkPruned(firstId: number): Promise<void> {
    const oldest = await oldestChangeId(this.store.feedReads.db);
    if (oldest <= this.highest || oldest < firstId) return; // an ordinary out-of-order commit
    this.log.warn({ cursor: this.highest, oldestKept: oldest }, 'change feed: rows past the cursor were pruned; reloading in full');
    for (const listener of this.resyncListeners) await listener();
    const now = Date.now();
    for (let id = Math.max(this.highest + 1, firstId - RECENT_GAPS); id < firstId; id++) this.gaps.set(id, now);
    this.highest = firstId - 1;
  }

  private delivered(id: number): void {
    if (id <= this.highest) {
      this.gaps.delete(id);
      return;
    }
    const now = Date.now();
    for (let missing = Math.max(this.highest + 1, id - MAX_GAPS); missing < id; missing++) this.gaps.set(missing, now);
    this.highest = id;
  }

  private async expireGaps(): Promise<void> {
    const cutoff = Date.now() - GAP_TIMEOUT_MS;
    const expired: number[] = [];
    for (const [id, since] of this.gaps) if (since <= cutoff) expired.push(id);
    if (expired.length === 0) return;
    this.log.warn({ ids: expired.slice(0, 20), count: expired.length }, 'change ids never became visible (rolled back?); reloading in full');
    for (const listener of this.resyncListeners) await listener();
    for (const id of expired) this.gaps.delete(id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.current;
  }
}
