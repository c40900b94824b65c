import { createHash, randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { breathe } from '../domain/breathe.js';
import type { CounterRow, EventRow, MinuteRow, UsageBatch, UsageEventType } from '../usage/model.js';
import type { Database } from './schema.js';

/** Hourly per-credential counters (migration 0007): one row per client, hour and metric. */
export interface UsageCountersTable {
  account_id: string;
  client_id: string;
  /** Start of the UTC hour, epoch ms. */
  hour: number;
  /** `tokens`, `auth:<reason>` or `api:<api>:<outcome>` (src/usage/model.ts). */
  metric: string;
  n: number;
}

/** The events list (migration 0007): one row per event, or per credential and minute when aggregated. */
export interface UsageEventsTable {
  id: string;
  account_id: string;
  client_id: string;
  credential_id: string | null;
  owner_user_id: string | null;
  type: string;
  at: number;
  reason: string | null;
  ip: string | null;
  /** Events aggregated per minute (token.issued, api.rate_limited, failures past the budget); null for a single event. */
  count: number | null;
}

/** API calls through the gateway per account and minute (migration 0010): kept 48 hours. */
export interface UsageMinutesTable {
  account_id: string;
  /** Start of the UTC minute, epoch ms. */
  minute: number;
  n: number;
}

export type UsageDatabase = Database & { usage_counters: UsageCountersTable; usage_events: UsageEventsTable; usage_minutes: UsageMinutesTable };

/** Rows per INSERT statement (well under both dialects' bound-parameter limits). */
const CHUNK = 400;

/** The id of an aggregated event: the same at every instance, so their counts add up in one row. */
const aggregatedId = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 24);

export interface UsageEvent {
  id: string;
  at: string;
  type: UsageEventType;
  credentialId: string | null;
  clientId: string;
  reason?: string;
  ip?: string;
  count?: number;
}

export interface EventQuery {
  accountId: string;
  /** Only events of this owner's credentials (a supervisor's view). */
  ownerUserId?: string;
  clientId?: string;
  type?: UsageEventType;
  from?: number;
  to?: number;
  /** Continue after this event (newest first). */
  after?: { at: number; id: string };
  limit: number;
}

export interface CounterSum {
  hour: number;
  metric: string;
  n: number;
}

export interface TopCredential {
  credentialId: string;
  name: string;
  apiCalls: number;
  tokensIssued: number;
}

/** Usage counters and events: batched atomic increments, and the queries of the admin API. */
export class UsageRepository {
  private readonly db: Kysely<UsageDatabase>;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Kysely<UsageDatabase>;
  }

  /**
   * One flush, in one transaction: each counter is added to the stored one
   * (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n), so instances writing the same rows
   * at once add up. Rows go in key order: concurrent flushes lock rows in the same order.
   */
  async write(batch: UsageBatch): Promise<void> {
    const minutes = [...(batch.minutes ?? [])].sort(compareMinutes);
    if (batch.counters.length === 0 && batch.events.length === 0 && minutes.length === 0) return;
    const counters = [...batch.counters].sort(compareCounters);
    const events = batch.events.map(toEventRow).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < counters.length; i += CHUNK) {
        await trx
          .insertInto('usage_counters')
          .values(counters.slice(i, i + CHUNK).map((c) => ({ account_id: c.accountId, client_id: c.clientId, hour: c.hour, metric: c.metric, n: c.n })))
          .onConflict((oc) => oc.columns(['client_id', 'hour', 'metric']).doUpdateSet((eb) => ({ n: eb('usage_counters.n', '+', eb.ref('excluded.n')) })))
          .execute();
      }
      for (let i = 0; i < events.length; i += CHUNK) {
        await trx
          .insertInto('usage_events')
          .values(events.slice(i, i + CHUNK))
          .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ count: eb(eb.fn.coalesce('usage_events.count', sql<number>`0`), '+', eb.ref('excluded.count')) })))
          .execute();
      }
      for (let i = 0; i < minutes.length; i += CHUNK) {
        await trx
          .insertInto('usage_minutes')
          .values(minutes.slice(i, i + CHUNK).map((m) => ({ account_id: m.accountId, minute: m.minute, n: m.n })))
          .onConflict((oc) => oc.columns(['account_id', 'minute']).doUpdateSet((eb) => ({ n: eb('usage_minutes.n', '+', eb.ref('excluded.n')) })))
          .execute();
      }
    });
  }

  /** An account's API calls per minute, minutes in [from, to) that have any (ascending). */
  async minutes(accountId: string, from: number, to: number): Promise<{ minute: number; n: number }[]> {
    const rows = await this.db
      .selectFrom('usage_minutes')
      .select(['minute', 'n'])
      .where('account_id', '=', accountId)
      .where('minute', '>=', from)
      .where('minute', '<', to)
      .orderBy('minute')
      .execute();
    return rows.map((r) => ({ minute: Number(r.minute), n: Number(r.n) }));
  }

  /** Counter sums by hour and metric, for one client or a whole account, hours in [from, to). */
  async sums(scope: { clientId: string } | { accountId: string }, from: number, to: number): Promise<CounterSum[]> {
    let q = this.db
      .selectFrom('usage_counters')
      .select(['hour', 'metric'])
      .select((eb) => eb.fn.sum<number | string>('n').as('n'))
      .where('hour', '>=', from)
      .where('hour', '<', to);
    q = 'clientId' in scope ? q.where('client_id', '=', scope.clientId) : q.where('account_id', '=', scope.accountId);
    const rows = await q.groupBy(['hour', 'metric']).execute();
    return rows.map((r) => ({ hour: Number(r.hour), metric: r.metric, n: Number(r.n) }));
  }

  /** The account's credentials with the most API calls (then tokens) in [from, to); deleted ones are left out. */
  async top(accountId: string, from: number, to: number, limit: number): Promise<TopCredential[]> {
    const totals = this.db
      .selectFrom('usage_counters')
      .select('client_id')
      .select(sql<number | string>`sum(case when metric like 'api:%' then n else 0 end)`.as('api_calls'))
      .select(sql<number | string>`sum(case when metric = 'tokens' then n else 0 end)`.as('tokens_issued'))
      .where('account_id', '=', accountId)
      .where('hour', '>=', from)
      .where('hour', '<', to)
      .groupBy('client_id')
      .as('t');
    const rows = await this.db
      .selectFrom(totals)
      .innerJoin('api_credentials as c', 'c.client_id', 't.client_id')
      .select(['c.id', 'c.name', 't.api_calls', 't.tokens_issued'])
      .where('c.account_id', '=', accountId)
      .orderBy('t.api_calls', 'desc')
      .orderBy('t.tokens_issued', 'desc')
      .orderBy('c.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ credentialId: r.id, name: r.name, apiCalls: Number(r.api_calls), tokensIssued: Number(r.tokens_issued) }));
  }

  /** Events newest first (ties by id), `limit` of them after the cursor position. */
  async events(query: EventQuery): Promise<UsageEvent[]> {
    let q = this.db
      .selectFrom('usage_events as e')
      .leftJoin('api_credentials as c', 'c.client_id', 'e.client_id')
      .select(['e.id', 'e.at', 'e.type', 'e.client_id', 'e.credential_id', 'c.id as current_credential_id', 'e.reason', 'e.ip', 'e.count'])
      .where('e.account_id', '=', query.accountId);
    if (query.ownerUserId !== undefined) q = q.where('e.owner_user_id', '=', query.ownerUserId);
    if (query.clientId !== undefined) q = q.where('e.client_id', '=', query.clientId);
    if (query.type !== undefined) q = q.where('e.type', '=', query.type);
    if (query.from !== undefined) q = q.where('e.at', '>=', query.from);
    if (query.to !== undefined) q = q.where('e.at', '<', query.to);
    const after = query.after;
    if (after) q = q.where((eb) => eb.or([eb('e.at', '<', after.at), eb.and([eb('e.at', '=', after.at), eb('e.id', '<', after.id)])]));
    const rows = await q.orderBy('e.at', 'desc').orderBy('e.id', 'desc').limit(query.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      at: new Date(Number(r.at)).toISOString(),
      type: r.type as UsageEventType,
      credentialId: r.credential_id ?? r.current_credential_id ?? null,
      clientId: r.client_id,
      ...(r.reason !== null ? { reason: r.reason } : {}),
      ...(r.ip !== null ? { ip: r.ip } : {}),
      ...(r.count !== null ? { count: Number(r.count) } : {}),
    }));
  }
}

function compareMinutes(a: MinuteRow, b: MinuteRow): number {
  if (a.accountId !== b.accountId) return a.accountId < b.accountId ? -1 : 1;
  return a.minute - b.minute;
}

function compareCounters(a: CounterRow, b: CounterRow): number {
  if (a.clientId !== b.clientId) return a.clientId < b.clientId ? -1 : 1;
  if (a.hour !== b.hour) return a.hour - b.hour;
  return a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0;
}

function toEventRow(e: EventRow): UsageEventsTable {
  return {
    id: e.key === null ? randomUUID() : aggregatedId(e.key),
    account_id: e.accountId,
    client_id: e.clientId,
    credential_id: e.credentialId,
    owner_user_id: e.ownerUserId,
    type: e.type,
    at: e.at,
    reason: e.reason,
    ip: e.ip,
    count: e.count,
  };
}

/**
 * Retention (src/store/retention.ts): counter rows of hours before `before`, one hour at a time
 * (each statement a short transaction), and events before it in batches of `batchSize`.
 */
export async function pruneUsage(
  database: Kysely<Database>,
  before: number,
  batchSize: number,
  maxBatches: number,
  go: () => boolean,
): Promise<{ usageCounters: number; usageEvents: number }> {
  const db = database as unknown as Kysely<UsageDatabase>;
  let usageCounters = 0;
  for (let i = 0; i < maxBatches && go(); i++) {
    await breathe(); // requests run between batches (src/domain/breathe.ts)
    const oldest = await db.selectFrom('usage_counters').select((eb) => eb.fn.min<number | string>('hour').as('hour')).where('hour', '<', before).executeTakeFirst();
    if (oldest?.hour === null || oldest?.hour === undefined) break;
    const result = await db.deleteFrom('usage_counters').where('hour', '=', Number(oldest.hour)).executeTakeFirst();
    usageCounters += Number(result.numDeletedRows);
  }
  let usageEvents = 0;
  for (let i = 0; i < maxBatches && go(); i++) {
    await breathe(); // requests run between batches (src/domain/breathe.ts)
    const result = await db
      .deleteFrom('usage_events')
      .where('id', 'in', (eb) => eb.selectFrom('usage_events').select('id').where('at', '<', before).limit(batchSize))
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    usageEvents += deleted;
    if (deleted < batchSize) break;
  }
  return { usageCounters, usageEvents };
}

/**
 * Retention of the per-minute API calls (src/store/retention.ts): rows of minutes before
 * `before`, in batches of `batchSize` (each statement a short transaction).
 */
export async function pruneUsageMinutes(database: Kysely<Database>, before: number, batchSize: number, maxBatches: number, go: () => boolean): Promise<number> {
  const db = database as unknown as Kysely<UsageDatabase>;
  let deleted = 0;
  for (let i = 0; i < maxBatches && go(); i++) {
    await breathe(); // requests run between batches (src/domain/breathe.ts)
    // The oldest rows first, up to batchSize of them, by their key (no row id in this table).
    const last = await db.selectFrom('usage_minutes').select('minute').where('minute', '<', before).orderBy('minute').offset(batchSize - 1).limit(1).executeTakeFirst();
    const bound = last === undefined ? before : Number(last.minute) + 1;
    const result = await db.deleteFrom('usage_minutes').where('minute', '<', bound).executeTakeFirst();
    const n = Number(result.numDeletedRows);
    deleted += n;
    if (last === undefined || n === 0) break;
  }
  return deleted;
}
