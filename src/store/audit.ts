import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { AuditEvent } from '../domain/model.js';
import type { AuditEventsTable, Database } from './schema.js';

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
}
