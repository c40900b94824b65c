import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The change feed: every write that can affect a running instance's caches (credentials, users,
 * accounts, signing keys) adds a row in the same transaction. Every instance reads rows newer than
 * the last it saw, so a change made by the CLI or another instance reaches it within one poll.
 */
export type ChangeKind = 'credential' | 'user' | 'account' | 'keys' | 'revocation';

export interface Change {
  id: number;
  kind: ChangeKind;
  ref: string;
}

/**
 * Called (debounced) after a change row is written in this process, e.g. to publish a nudge on
 * Redis so that other instances poll at once instead of at their next interval.
 */
export const changeHooks = new Set<() => void>();
let hookTimer: NodeJS.Timeout | undefined;

export async function recordChange(db: Kysely<Database>, kind: ChangeKind, ref: string): Promise<void> {
  await db.insertInto('changes').values({ kind, ref, at: Date.now() }).execute();
  if (changeHooks.size > 0 && !hookTimer) {
    // A short delay lets the surrounding transaction commit before anyone is told to look.
    hookTimer = setTimeout(() => {
      hookTimer = undefined;
      for (const hook of changeHooks) hook();
    }, 5);
    hookTimer.unref();
  }
}

export async function latestChangeId(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('changes').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  return Number(row?.max ?? 0);
}

export async function changesSince(db: Kysely<Database>, afterId: number, limit = 1000): Promise<Change[]> {
  const rows = await db.selectFrom('changes').select(['id', 'kind', 'ref']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind as ChangeKind, ref: r.ref }));
}

/** Rows older than the retention are useless to every instance (they poll every few hundred ms). */
export async function pruneChanges(db: Kysely<Database>, olderThanMs: number): Promise<void> {
  await db.deleteFrom('changes').where('at', '<', Date.now() - olderThanMs).execute();
}
