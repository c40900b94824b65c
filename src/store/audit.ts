import { randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuditEvent } from '../domain/model.js';
import type { AuditEventsTable, Database } from './schema.js';
import { likeLiteral } from './search.js';

export interface NewAuditEvent {
  accountId: string | null;
  actor: { id: string | null; email: string | null };
  action: string;
  target: { type: string; id: string | null; name: string | null };
  changes?: Record<string, unknown>;
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    accountId: row.account_id,
    at: new Date(Number(row.at)).toISOString(),
    actor: { id: row.actor_user_id, email: row.actor_email },
    action: row.action,
    target: { type: row.target_type, id: row.target_id, name: row.target_name },
    changes: JSON.parse(row.changes) as Record<string, unknown>,
  };
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async record(event: NewAuditEvent, db: Kysely<Database> = this.db): Promise<AuditEvent> {
    const row = {
      id: randomUUID(),
      account_id: event.accountId,
      at: Date.now(),
      actor_user_id: event.actor.id,
      actor_email: event.actor.email,
      action: event.action,
      target_type: event.target.type,
      target_id: event.target.id,
      target_name: event.target.name,
      changes: JSON.stringify(event.changes ?? {}),
    };
    await db.insertInto('audit_events').values(row).execute();
    return toEvent(row);
  }

  /** Newest first; `before` is an event time (epoch ms) for paging. */
  async list(accountId: string | null, options: { limit: number; before?: number }, db: Kysely<Database> = this.db): Promise<AuditEvent[]> {
    let q = db.selectFrom('audit_events').selectAll();
    q = accountId === null ? q.where('account_id', 'is', null) : q.where('account_id', '=', accountId);
    if (options.before !== undefined) q = q.where('at', '<', options.before);
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toEvent);
  }

  /**
   * One page of an account's audit log, newest first, for the console: filters and keyset paging
   * (`after` = the previous page's last [at, id]). Every value is a bound parameter.
   */
  async search(s: AuditSearch, db: Kysely<Database> = this.db): Promise<{ items: AuditEvent[]; next: AuditKey | null }> {
    let q = db.selectFrom('audit_events').selectAll().where('account_id', '=', s.accountId);
    if (s.actions) {
      const { exact, prefixes } = s.actions;
      q = q.where((eb) =>
        eb.or([
          ...(exact.length ? [eb('action', 'in', exact)] : []),
          ...prefixes.map((p) => eb(sql`action`, 'like', sql`${`${likeLiteral(p)}%`} escape '\\'`)),
        ]),
      );
    }
    if (s.actorEmail !== undefined) q = q.where('actor_email', '=', s.actorEmail);
    if (s.credentialId !== undefined) q = q.where('target_type', '=', 'credential').where('target_id', '=', s.credentialId);
    if (s.from !== undefined) q = q.where('at', '>=', s.from);
    if (s.to !== undefined) q = q.where('at', '<', s.to);
    if (s.before !== undefined) q = q.where('at', '<', s.before);
    if (s.after) {
      const [at, id] = s.after;
      q = q.where(sql<boolean>`(at, id) < (${at}, ${id})`);
    }
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(s.limit + 1).execute();
    const page = rows.slice(0, s.limit);
    const last = page[page.length - 1];
    return { items: page.map(toEvent), next: rows.length > s.limit && last ? [Number(last.at), last.id] : null };
  }
}

/** Where an audit page ended: the last event's time (epoch ms) and id. */
export type AuditKey = readonly [number, string];

export interface AuditSearch {
  accountId: string;
  /** Exact action names, and prefixes (`credential.` for `credential.*`); an event matching any is kept. */
  actions?: { exact: string[]; prefixes: string[] };
  /** The actor's email as recorded (sign-ins: as given; lower-cased by the caller). */
  actorEmail?: string;
  credentialId?: string;
  /** From (inclusive) and to (exclusive), epoch ms. */
  from?: number;
  to?: number;
  /** Legacy paging (`before`): events strictly older than this time. */
  before?: number;
  limit: number;
  after?: AuditKey;
}
