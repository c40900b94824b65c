import { randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, type UpdateObject, sql } from 'kysely';
import type { AccountStatus } from '../domain/licenses.js';
import type { Account } from '../domain/model.js';
import { API_RATE_LIMIT_DEFAULT, TOKEN_LIFETIME_DEFAULT } from '../domain/policy.js';
import { recordChange } from './changes.js';
import type { AccountsTable, Database } from './schema.js';

export function toAccount(row: Selectable<AccountsTable>): Account {
  return {
    id: row.id,
    name: row.name,
    status: row.status as AccountStatus,
    apiCredentialsEnabled: row.api_credentials_enabled === 1,
    accessTokenLifetimeSeconds: row.access_token_lifetime_seconds,
    apiRateLimitPerMinute: row.api_rate_limit_per_minute,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

export interface NewAccount {
  name: string;
  apiCredentialsEnabled?: boolean;
  accessTokenLifetimeSeconds?: number;
  apiRateLimitPerMinute?: number;
}

export interface AccountChanges {
  name?: string;
  status?: AccountStatus;
  apiCredentialsEnabled?: boolean;
  accessTokenLifetimeSeconds?: number;
  apiRateLimitPerMinute?: number;
}

export class AccountRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: NewAccount, db: Kysely<Database> = this.db): Promise<Account> {
    const now = Date.now();
    const row = {
      id: randomUUID(),
      name: input.name,
      status: 'active',
      api_credentials_enabled: input.apiCredentialsEnabled ? 1 : 0,
      access_token_lifetime_seconds: input.accessTokenLifetimeSeconds ?? TOKEN_LIFETIME_DEFAULT,
      api_rate_limit_per_minute: input.apiRateLimitPerMinute ?? API_RATE_LIMIT_DEFAULT,
      created_at: now,
      updated_at: now,
      standing_epoch: 0,
    };
    await db.insertInto('accounts').values(row).execute();
    return toAccount(row);
  }

  async get(id: string, db: Kysely<Database> = this.db): Promise<Account | undefined> {
    const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  async list(db: Kysely<Database> = this.db): Promise<Account[]> {
    const rows = await db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toAccount);
  }

  async count(db: Kysely<Database> = this.db): Promise<number> {
    const row = await db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Returns the updated account, or undefined when there is none with this id. */
  async update(id: string, changes: AccountChanges, db: Kysely<Database> = this.db): Promise<Account | undefined> {
    const set: UpdateObject<Database, 'accounts'> = { updated_at: Date.now() };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.status !== undefined) set.status = changes.status;
    if (changes.apiCredentialsEnabled !== undefined) set.api_credentials_enabled = changes.apiCredentialsEnabled ? 1 : 0;
    if (changes.accessTokenLifetimeSeconds !== undefined) set.access_token_lifetime_seconds = changes.accessTokenLifetimeSeconds;
    if (changes.apiRateLimitPerMinute !== undefined) set.api_rate_limit_per_minute = changes.apiRateLimitPerMinute;
    // A disable (of the account or of its API credentials) is a cut: tokens issued before it stay
    // invalid after a re-enable (SPEC rule 9).
    if (changes.status === 'disabled' || changes.apiCredentialsEnabled === false) set.standing_epoch = sql<number>`standing_epoch + 1`;
    const result = await db.updateTable('accounts').set(set).where('id', '=', id).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    await recordChange(db, 'account', id);
    return this.get(id, db);
  }

  /** The longest token lifetime of any account: how long a retired signing key must stay published. */
  async maxTokenLifetimeSeconds(db: Kysely<Database> = this.db): Promise<number> {
    const row = await db.selectFrom('accounts').select((eb) => eb.fn.max('access_token_lifetime_seconds').as('m')).executeTakeFirst();
    return Number(row?.m ?? TOKEN_LIFETIME_DEFAULT) || TOKEN_LIFETIME_DEFAULT;
  }
}
