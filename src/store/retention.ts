import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { breathe } from '../domain/breathe.js';
import { latestChangeId } from './changes.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';
import { pruneUsage, pruneUsageMinutes } from './usage.js';
import { USAGE_MINUTES_RETENTION_HOURS, USAGE_RETENTION_DAYS } from '../usage/model.js';

/**
 * What the store keeps, and for how long. Everything else is deleted by the pruner:
 * - admin sessions once they are past their absolute end or idle longer than the idle timeout
 *   (nobody can use them any more);
 * - revoked token ids once the token has expired (plus a margin for clock skew between
 *   instances): an expired token is refused anyway;
 * - change feed rows older than `changesRetentionMs` (default 1 hour, far above any poll
 *   interval or gap timeout of the feed: every instance has read them long before), except the
 *   newest row, which always stays;
 * - audit events older than `auditRetentionDays` (CCAUTH_AUDIT_RETENTION_DAYS, default 400);
 * - usage counters and events older than `usageRetentionDays` (default 90);
 * - per-account API calls per minute older than 48 hours (USAGE_MINUTES_RETENTION_HOURS).
 */
export interface RetentionPolicy {
  sessionIdleMs: number;
  auditRetentionDays: number;
  changesRetentionMs: number;
  revokedTokenMarginMs: number;
  /** Usage counters (hourly) and events: default 90 days. */
  usageRetentionDays?: number;
  /** Rows per DELETE statement: each statement is its own short transaction. */
  batchSize: number;
  /** Statements per table per run: a big backlog is worked off over several runs. */
  maxBatchesPerRun: number;
}

export const DEFAULT_RETENTION: Omit<RetentionPolicy, 'sessionIdleMs'> = {
  auditRetentionDays: 400,
  changesRetentionMs: 60 * 60_000,
  revokedTokenMarginMs: 5 * 60_000,
  batchSize: 500,
  maxBatchesPerRun: 200,
};

export interface PruneResult {
  /** False when another instance held the pruning lock (PostgreSQL): nothing was done here. */
  ran: boolean;
  deleted: { sessions: number; revokedTokens: number; changes: number; audit: number; usageCounters: number; usageEvents: number; usageMinutes: number };
}

const DAY_MS = 86_400_000;

/** The PostgreSQL advisory lock's name (hashed together with the schema name). */
export const RETENTION_LOCK = 'ccauth.retention:';

/**
 * One pruning pass. On PostgreSQL only the instance holding a session-level advisory lock (per
 * schema) prunes; the others skip this pass. On SQLite there is one file and writers queue on its
 * lock, so every process just runs (batches keep each write short).
 */
export async function pruneOnce(
  store: Store,
  policy: RetentionPolicy,
  options: { now?: number; shouldContinue?: () => boolean } = {},
): Promise<PruneResult> {
  const now = options.now ?? Date.now();
  const go = options.shouldContinue ?? (() => true);
  const prune = (db: Kysely<Database>) => prunePass(db, policy, now, go);
  if (store.dialect !== 'postgres') return { ran: true, deleted: await prune(store.db) };
  // An advisory lock belongs to a connection: take it, prune and release on the same one.
  return store.db.connection().execute(async (conn) => {
    const key = sql`hashtext(${RETENTION_LOCK} || current_schema())`;
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(conn);
    if (!rows[0]?.locked) return { ran: false, deleted: { sessions: 0, revokedTokens: 0, changes: 0, audit: 0, usageCounters: 0, usageEvents: 0, usageMinutes: 0 } };
    try {
      return { ran: true, deleted: await prune(conn) };
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}

async function prunePass(db: Kysely<Database>, policy: RetentionPolicy, now: number, go: () => boolean): Promise<PruneResult['deleted']> {
  const n = policy.batchSize;
  const batches = async (deleteBatch: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (let i = 0; i < policy.maxBatchesPerRun && go(); i++) {
      // Requests run between batches (SQLite: each batch blocks the event loop while it runs).
      await breathe();
      const deleted = await deleteBatch();
      total += deleted;
      if (deleted < n) break;
    }
    return total;
  };
  const idleBefore = now - policy.sessionIdleMs;
  const sessions = await batches(async () =>
    count(
      await db
        .deleteFrom('admin_sessions')
        .where('id_hash', 'in', (eb) =>
          eb
            .selectFrom('admin_sessions')
            .select('id_hash')
            .where((w) => w.or([w('expires_at', '<=', now), w('last_seen_at', '<=', idleBefore)]))
            .limit(n),
        )
        .executeTakeFirst(),
    ),
  );
  const expiredBefore = now - policy.revokedTokenMarginMs;
  const revokedTokens = await batches(async () =>
    count(
      await db
        .deleteFrom('revoked_tokens')
        .where('jti', 'in', (eb) => eb.selectFrom('revoked_tokens').select('jti').where('expires_at', '<=', expiredBefore).limit(n))
        .executeTakeFirst(),
    ),
  );
  const changesBefore = now - policy.changesRetentionMs;
  // The newest row always stays, however old: it is where a starting instance's cursor begins, so
  // the ids below it that were pruned are never taken for changes still to come (src/changes/feed.ts).
  const newest = await latestChangeId(db);
  const changes = await batches(async () =>
    count(
      await db
        .deleteFrom('changes')
        .where('id', 'in', (eb) => eb.selectFrom('changes').select('id').where('at', '<', changesBefore).where('id', '<', newest).orderBy('id').limit(n))
        .executeTakeFirst(),
    ),
  );
  const auditBefore = now - policy.auditRetentionDays * DAY_MS;
  const audit = await batches(async () =>
    count(
      await db
        .deleteFrom('audit_events')
        .where('id', 'in', (eb) => eb.selectFrom('audit_events').select('id').where('at', '<', auditBefore).limit(n))
        .executeTakeFirst(),
    ),
  );
  const usage = await pruneUsage(db, now - (policy.usageRetentionDays ?? USAGE_RETENTION_DAYS) * DAY_MS, n, policy.maxBatchesPerRun, go);
  const usageMinutes = await pruneUsageMinutes(db, now - USAGE_MINUTES_RETENTION_HOURS * 3_600_000, n, policy.maxBatchesPerRun, go);
  return { sessions, revokedTokens, changes, audit, ...usage, usageMinutes };
}

function count(result: { numDeletedRows: bigint }): number {
  return Number(result.numDeletedRows);
}

/** Runs pruneOnce every `intervalMs` (first run after a jittered delay), until stop(). */
export class RetentionPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly policy: RetentionPolicy,
    private readonly log: Logger,
    private readonly intervalMs = 10 * 60_000,
  ) {}

  start(): void {
    // Instances started together do not all try at the same moment.
    this.schedule(Math.min(this.intervalMs, 60_000) * (0.5 + Math.random() / 2));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  async runOnce(): Promise<PruneResult | undefined> {
    try {
      const result = await pruneOnce(this.store, this.policy, { shouldContinue: () => !this.stopped });
      const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
      if (total > 0) this.log.info({ deleted: result.deleted }, 'retention: pruned expired rows');
      return result;
    } catch (err) {
      this.log.warn({ err }, 'retention: pruning failed; will retry at the next interval');
      return undefined;
    }
  }

  /** Stops scheduling; a pass in progress ends after its current statement. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
