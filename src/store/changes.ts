import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * The change table: every write that can affect a running instance's caches (credentials, users,
 * accounts, signing keys, revocations) adds a row in the same transaction. The feed that reads it
 * lives in src/changes/.
 */
export type ChangeKind = 'credential' | 'user' | 'account' | 'keys' | 'revocation';

export interface Change {
  id: number;
  kind: ChangeKind;
  ref: string;
}

/**
 * "A change was committed through this store": hooks of one Store (e.g. the Redis nudge of the
 * region that owns it), never of every store in the process. A change written inside a
 * transaction is signalled after that transaction commits, not before (an instance told to look
 * before the COMMIT would find nothing and move on).
 */
export class ChangeSignal {
  private readonly hooks = new Set<() => void>();
  private readonly pending = new WeakSet<object>();

  add(hook: () => void): void {
    this.hooks.add(hook);
  }

  delete(hook: () => void): void {
    this.hooks.delete(hook);
  }

  /** recordChange calls this: at once outside a transaction, after COMMIT inside one. */
  recorded(db: Kysely<Database>): void {
    if (db.isTransaction) this.pending.add(db);
    else this.fire();
  }

  /** Store.transaction calls this once its transaction has committed. */
  committed(trx: Kysely<Database>): void {
    if (!this.pending.has(trx)) return;
    this.pending.delete(trx);
    this.fire();
  }

  private fire(): void {
    for (const hook of this.hooks) {
      try {
        hook();
      } catch {
        // A hook is a hint (a nudge); polling carries the change anyway.
      }
    }
  }
}

/** Which ChangeSignal a connection or a transaction of a Store belongs to. */
const signals = new WeakMap<Kysely<Database>, ChangeSignal>();

export function attachChangeSignal(db: Kysely<Database>, signal: ChangeSignal): void {
  signals.set(db, signal);
}

/**
 * On PostgreSQL a transaction that holds a change row keeps its id invisible until COMMIT; the
 * feed waits for such ids (src/changes/feed.ts, GAP_TIMEOUT_MS), so such a transaction must not
 * be able to stay open for long: each statement and each idle moment is bounded to 60 s.
 */
const TRANSACTION_BOUND_MS = 60_000;

export async function recordChange(db: Kysely<Database>, kind: ChangeKind, ref: string): Promise<void> {
  if (db.isTransaction && db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select set_config('statement_timeout', ${String(TRANSACTION_BOUND_MS)}, true), set_config('idle_in_transaction_session_timeout', ${String(TRANSACTION_BOUND_MS)}, true)`.execute(db);
  }
  await db.insertInto('changes').values({ kind, ref, at: Date.now() }).execute();
  signals.get(db)?.recorded(db);
}

export async function latestChangeId(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('changes').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  return Number(row?.max ?? 0);
}

/**
 * The feed's start: the highest id visible now, and the ids below it that are not visible (yet)
 * among the rows written within the last `lookBackMs` (a transaction that took such an id may
 * still commit). Rows older than the look-back bound it from below.
 */
export async function changeCursor(db: Kysely<Database>, lookBackMs: number, maxGaps = 10_000): Promise<{ highest: number; missing: number[] }> {
  const highest = await latestChangeId(db);
  if (highest === 0) return { highest, missing: [] };
  const floorRow = await db
    .selectFrom('changes')
    .select((eb) => eb.fn.max('id').as('max'))
    .where('at', '<=', Date.now() - lookBackMs)
    .executeTakeFirst();
  const floor = Math.max(Number(floorRow?.max ?? 0), highest - maxGaps);
  const rows = await db.selectFrom('changes').select('id').where('id', '>', floor).where('id', '<=', highest).execute();
  const present = new Set(rows.map((r) => Number(r.id)));
  const missing: number[] = [];
  for (let id = floor + 1; id < highest; id++) if (!present.has(id)) missing.push(id);
  return { highest, missing };
}

/** Rows after `afterId`, and the rows of `alsoIds` (ids the feed is still waiting for), by id. */
export async function changesSince(db: Kysely<Database>, afterId: number, limit = 1000, alsoIds: readonly number[] = []): Promise<Change[]> {
  const rows = await db
    .selectFrom('changes')
    .select(['id', 'kind', 'ref'])
    .where((eb) => (alsoIds.length > 0 ? eb.or([eb('id', '>', afterId), eb('id', 'in', alsoIds)]) : eb('id', '>', afterId)))
    .orderBy('id')
    .limit(limit + alsoIds.length)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind as ChangeKind, ref: r.ref }));
}

/** The lowest id still in the table (0 when it is empty): below it, rows were pruned or never were. */
export async function oldestChangeId(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('changes').select((eb) => eb.fn.min('id').as('min')).executeTakeFirst();
  return Number(row?.min ?? 0);
}

/** The rows of `ids` that are visible now, by id. */
export async function changesWithIds(db: Kysely<Database>, ids: readonly number[]): Promise<Change[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('changes').select(['id', 'kind', 'ref']).where('id', 'in', ids).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind as ChangeKind, ref: r.ref }));
}
