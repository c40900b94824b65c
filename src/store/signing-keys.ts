import type { Kysely, Selectable } from 'kysely';
import { recordChange } from './changes.js';
import type { Database, SigningKeysTable } from './schema.js';

export type KeyState = 'next' | 'active' | 'retired';
export type SigningKeyRow = Selectable<SigningKeysTable>;

export class SigningKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Keys that are still published (next, active, and retired ones whose tokens may live). */
  async listPublished(now = Date.now(), db: Kysely<Database> = this.db): Promise<SigningKeyRow[]> {
    return db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('state', 'in', ['next', 'active']), eb('publish_until', '>', now)]))
      .orderBy('created_at')
      .execute();
  }

  async listAll(db: Kysely<Database> = this.db): Promise<SigningKeyRow[]> {
    return db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
  }

  async insert(row: SigningKeyRow, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('signing_keys').values(row).execute();
    await recordChange(db, 'keys', row.kid);
  }

  async setState(kid: string, state: KeyState, fields: Partial<Pick<SigningKeyRow, 'activated_at' | 'retired_at' | 'publish_until'>>, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('signing_keys').set({ state, ...fields }).where('kid', '=', kid).execute();
    await recordChange(db, 'keys', kid);
  }
}
