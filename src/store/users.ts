import { randomUUID } from 'node:crypto';
import { type Kysely, PostgresAdapter, type Selectable, type UpdateObject, sql } from 'kysely';
import type { License, Presence, UserStatus } from '../domain/licenses.js';
import type { User } from '../domain/model.js';
import { grantableScopes, mayGrant } from '../domain/policy.js';
import { recordChange } from './changes.js';
import { CredentialRepository } from './credentials.js';
import type { Database, UsersTable } from './schema.js';

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    accountId: row.account_id,
    email: row.email,
    name: row.name,
    license: row.license as License,
    status: row.status as UserStatus,
    skills: JSON.parse(row.skills) as string[],
    presence: row.presence as Presence,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface NewUser {
  accountId: string;
  email: string;
  name?: string;
  license: License;
  passwordHash?: string | null;
  skills?: string[];
  presence?: Presence;
}

export interface UserChanges {
  name?: string;
  license?: License;
  status?: UserStatus;
  skills?: string[];
  presence?: Presence;
  passwordHash?: string;
}

export class UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: NewUser, db: Kysely<Database> = this.db): Promise<User> {
    const now = Date.now();
    const email = normalizeEmail(input.email);
    const row = {
      id: randomUUID(),
      account_id: input.accountId,
      email,
      name: input.name?.trim() || email.split('@')[0] || email,
      license: input.license,
      status: 'active',
      password_hash: input.passwordHash ?? null,
      skills: JSON.stringify(input.skills ?? []),
      presence: input.presence ?? 'Logged Out',
      created_at: now,
      updated_at: now,
      standing_epoch: 0,
    };
    await db.insertInto('users').values(row).execute();
    return toUser(row);
  }

  async get(id: string, db: Kysely<Database> = this.db): Promise<User | undefined> {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async getByEmail(email: string, db: Kysely<Database> = this.db): Promise<User | undefined> {
    const row = await db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  /** For sign-in only. */
  async getWithPasswordHash(email: string, db: Kysely<Database> = this.db): Promise<{ user: User; passwordHash: string | null } | undefined> {
    const row = await db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
    return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
  }

  async listByAccount(accountId: string, db: Kysely<Database> = this.db): Promise<User[]> {
    const rows = await db.selectFrom('users').selectAll().where('account_id', '=', accountId).orderBy('email').execute();
    return rows.map(toUser);
  }

  async update(id: string, changes: UserChanges, db: Kysely<Database> = this.db): Promise<User | undefined> {
    const set: UpdateObject<Database, 'users'> = { updated_at: Date.now() };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.license !== undefined) set.license = changes.license;
    if (changes.status !== undefined) set.status = changes.status;
    // A disable is a cut: tokens issued before it stay invalid after a re-enable (SPEC rule 9).
    if (changes.status === 'disabled') set.standing_epoch = sql<number>`standing_epoch + 1`;
    if (changes.license !== undefined) {
      // A license that may grant fewer scopes removes them from the owner's credentials for every
      // token issued before: such a token stays invalid if the license comes back (SPEC 3).
      let read = db.selectFrom('users').select('license').where('id', '=', id);
      if (db.getExecutor().adapter instanceof PostgresAdapter) read = read.forUpdate();
      const current = await read.executeTakeFirst();
      if (current === undefined) return undefined;
      const next = changes.license;
      if (grantableScopes(current.license as License).some((scope) => !mayGrant(next, scope))) {
        await new CredentialRepository(db).recordLicenseNarrowed(id, (scope) => mayGrant(next, scope), db);
      }
    }
    if (changes.skills !== undefined) set.skills = JSON.stringify(changes.skills);
    if (changes.presence !== undefined) set.presence = changes.presence;
    if (changes.passwordHash !== undefined) set.password_hash = changes.passwordHash;
    const result = await db.updateTable('users').set(set).where('id', '=', id).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    // Only what a token or a credential depends on is a change for the caches (license, status);
    // presence, skills, name and password are not, and would each cost every instance a poll.
    if (changes.license !== undefined || changes.status !== undefined) await recordChange(db, 'user', id);
    return this.get(id, db);
  }
}
