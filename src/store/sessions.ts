import type { Kysely, Selectable } from 'kysely';
import type { AdminSessionsTable, Database } from './schema.js';

export type SessionRow = Selectable<AdminSessionsTable>;

export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(row: SessionRow): Promise<void> {
    await this.db.insertInto('admin_sessions').values(row).execute();
  }

  async get(idHash: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('admin_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  }

  async touch(idHash: string, at: number): Promise<void> {
    await this.db.updateTable('admin_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
  }

  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
  }

  /** Test and operator hook: end a session early (e.g. to check expiry). */
  async expire(idHash: string): Promise<void> {
    await this.db.updateTable('admin_sessions').set({ expires_at: 0 }).where('id_hash', '=', idHash).execute();
  }
}
