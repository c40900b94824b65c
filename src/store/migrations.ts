import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Dialect } from './db.js';
import { foldForSearch } from './search.js';

/**
 * The migrations, the same for both dialects. Column types are chosen to mean the same thing in
 * SQLite and PostgreSQL: text ids, bigint epoch-millisecond times, integer 0/1 flags.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const autoId = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('api_credentials_enabled', 'integer', (c) => c.notNull())
          .addColumn('access_token_lifetime_seconds', 'integer', (c) => c.notNull())
          .addColumn('api_rate_limit_per_minute', 'integer', (c) => c.notNull())
          .addColumn('token_rate_limit_per_minute', 'integer')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('license', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text')
          .addColumn('skills', 'text', (c) => c.notNull())
          .addColumn('presence', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('users_account_idx').on('users').column('account_id').execute();
        await db.schema
          .createTable('api_credentials')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('level', 'text', (c) => c.notNull())
          .addColumn('owner_user_id', 'text', (c) => c.references('users.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull().unique())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('previous_secret_hash', 'text')
          .addColumn('previous_secret_expires_at', 'bigint')
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('api_credentials_account_idx').on('api_credentials').column('account_id').execute();
        await db.schema.createIndex('api_credentials_owner_idx').on('api_credentials').column('owner_user_id').execute();
        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('certificate', 'text', (c) => c.notNull())
          .addColumn('x5t', 'text', (c) => c.notNull())
          .addColumn('private_key_enc', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('activated_at', 'bigint')
          .addColumn('retired_at', 'bigint')
          .addColumn('publish_until', 'bigint')
          .execute();
        await db.schema
          .createTable('audit_events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text')
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor_user_id', 'text')
          .addColumn('actor_email', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target_type', 'text', (c) => c.notNull())
          .addColumn('target_id', 'text')
          .addColumn('target_name', 'text')
          .addColumn('changes', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_events_account_at_idx').on('audit_events').columns(['account_id', 'at']).execute();
        await db.schema
          .createTable('changes')
          .addColumn('id', autoId, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('ref', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('changes_at_idx').on('changes').column('at').execute();
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['changes', 'audit_events', 'signing_keys', 'api_credentials', 'users', 'accounts']) {
          await db.schema.dropTable(t).ifExists().execute();
        }
      },
    },
    '0002_admin_sessions': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('admin_sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('admin_sessions_user_idx').on('admin_sessions').column('user_id').execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('admin_sessions').ifExists().execute();
      },
    },
    '0003_token_revocation': {
      async up(db: Kysely<unknown>) {
        // Tokens issued before this time (epoch ms, whole seconds) are no longer valid: set by a
        // secret rotation without grace.
        await db.schema.alterTable('api_credentials').addColumn('tokens_not_before', 'bigint').execute();
        await db.schema
          .createTable('revoked_tokens')
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('revoked_tokens_expires_idx').on('revoked_tokens').column('expires_at').execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('revoked_tokens').ifExists().execute();
        await db.schema.alterTable('api_credentials').dropColumn('tokens_not_before').execute();
      },
    },
    '0004_platform_data': {
      async up(db: Kysely<unknown>) {
        // Content bytes are binary in both dialects: blob in SQLite, bytea in PostgreSQL.
        const binary = dialect === 'postgres' ? 'bytea' : 'blob';
        await db.schema
          .createTable('interactions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('direction', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('agent_user_id', 'text', (c) => c.references('users.id'))
          .addColumn('customer', 'text')
          .addColumn('skill', 'text')
          .addColumn('notes', 'text')
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('ended_at', 'bigint')
          .addColumn('handling_seconds', 'integer')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('interactions_account_started_idx').on('interactions').columns(['account_id', 'started_at']).execute();
        await db.schema.createIndex('interactions_agent_idx').on('interactions').column('agent_user_id').execute();
        await db.schema
          .createTable('interaction_content')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('interaction_id', 'text', (c) => c.notNull().references('interactions.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('content_type', 'text', (c) => c.notNull())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('data', binary, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('interaction_content_interaction_idx').on('interaction_content').columns(['interaction_id', 'kind']).execute();
        await db.schema
          .createTable('payment_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('agent_user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('interaction_id', 'text', (c) => c.references('interactions.id'))
          .addColumn('amount_minor', 'bigint', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('reference', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('payment_sessions_account_idx').on('payment_sessions').column('account_id').execute();
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['payment_sessions', 'interaction_content', 'interactions']) await db.schema.dropTable(t).ifExists().execute();
      },
    },
    '0005_retention_and_unused_columns': {
      async up(db: Kysely<unknown>) {
        // The retention pruner deletes audit events by time across all accounts, and expired
        // admin sessions; the existing audit index leads with account_id and cannot serve that.
        await db.schema.createIndex('audit_events_at_idx').on('audit_events').column('at').execute();
        await db.schema.createIndex('admin_sessions_expires_idx').on('admin_sessions').column('expires_at').execute();
        // accounts.token_rate_limit_per_minute is no longer read or written (never enforced; no SPEC
        // rule asks for a per-account token cap), but it stays in this release: the previous release
        // still reads it, and instances of both run side by side during a rolling upgrade. A later
        // release drops it (docs/decisions.md).
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropIndex('admin_sessions_expires_idx').ifExists().execute();
        await db.schema.dropIndex('audit_events_at_idx').ifExists().execute();
      },
    },
    '0006_token_standing': {
      async up(db: Kysely<unknown>) {
        // Which secret issued a token (claim secret_id): a rotation without grace cuts every token
        // of the old secret to the millisecond. Existing credentials get an id now; tokens issued
        // before this migration carry none and are judged by tokens_not_before (whole seconds).
        await db.schema.alterTable('api_credentials').addColumn('secret_id', 'text').execute();
        await db.schema.alterTable('api_credentials').addColumn('previous_secret_id', 'text').execute();
        await sql`update api_credentials set secret_id = id`.execute(db);
        // Standing epochs: incremented by every disable, carried in tokens (user_epoch,
        // account_epoch) and compared for equality, so a re-enable does not revive older tokens.
        await db.schema.alterTable('users').addColumn('standing_epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('accounts').addColumn('standing_epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.alterTable('accounts').dropColumn('standing_epoch').execute();
        await db.schema.alterTable('users').dropColumn('standing_epoch').execute();
        await db.schema.alterTable('api_credentials').dropColumn('previous_secret_id').execute();
        await db.schema.alterTable('api_credentials').dropColumn('secret_id').execute();
      },
    },
    '0007_usage': {
      // Per-credential usage (src/usage/): hourly counters, incremented in place by every
      // instance's flush, and the events list. Keyed by client ID (immutable, and known from a
      // token's claims without a lookup); both kept 90 days.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('usage_counters')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('hour', 'bigint', (c) => c.notNull())
          .addColumn('metric', 'text', (c) => c.notNull())
          .addColumn('n', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('usage_counters_pk', ['client_id', 'hour', 'metric'])
          .execute();
        await db.schema.createIndex('usage_counters_account_hour_idx').on('usage_counters').columns(['account_id', 'hour']).execute();
        await db.schema.createIndex('usage_counters_hour_idx').on('usage_counters').column('hour').execute();
        await db.schema
          .createTable('usage_events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('credential_id', 'text')
          .addColumn('owner_user_id', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('ip', 'text')
          .addColumn('count', 'bigint')
          .execute();
        await db.schema.createIndex('usage_events_account_at_idx').on('usage_events').columns(['account_id', 'at']).execute();
        await db.schema.createIndex('usage_events_client_at_idx').on('usage_events').columns(['client_id', 'at']).execute();
        await db.schema.createIndex('usage_events_at_idx').on('usage_events').column('at').execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('usage_events').ifExists().execute();
        await db.schema.dropTable('usage_counters').ifExists().execute();
      },
    },
    '0008_scope_epoch': {
      async up(db: Kysely<unknown>) {
        // A scope removed and added back must not revive tokens issued before the removal (SPEC 3):
        // a per-credential epoch, incremented by every removal (of the credential's scopes, or by
        // the owner's license), carried in tokens (scope_epoch), and per scope the epoch its latest
        // removal made: a token is invalid when one of its scopes was removed at a later epoch.
        await db.schema.alterTable('api_credentials').addColumn('scope_epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('api_credentials').addColumn('scope_removals', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.alterTable('api_credentials').dropColumn('scope_removals').execute();
        await db.schema.alterTable('api_credentials').dropColumn('scope_epoch').execute();
      },
    },
    '0009_console_lists': {
      async up(db: Kysely<unknown>) {
        // The console's search and sort (issue 9): the name folded once in JavaScript (Unicode
        // lower case, NFKC) so both dialects search and sort it alike, and when the secret was rotated.
        await db.schema.alterTable('api_credentials').addColumn('name_folded', 'text', (c) => c.notNull().defaultTo('')).execute();
        await db.schema.alterTable('api_credentials').addColumn('secret_rotated_at', 'bigint').execute();
        const rows = await sql<{ id: string; name: string }>`select id, name from api_credentials`.execute(db);
        for (const row of rows.rows) await sql`update api_credentials set name_folded = ${foldForSearch(row.name)} where id = ${row.id}`.execute(db);
        // Credentials rotated before this migration: the time of their latest rotation in the audit log.
        await sql`update api_credentials set secret_rotated_at = (select max(e.at) from audit_events e where e.target_type = 'credential' and e.target_id = api_credentials.id and e.action = 'credential.secret_rotated')`.execute(db);
        // Keyset paging per account in each sort order (ties broken by id), and the audit filters.
        await db.schema.createIndex('api_credentials_account_created_idx').on('api_credentials').columns(['account_id', 'created_at', 'id']).execute();
        // The name sort compares code points (collate "C" in PostgreSQL, SQLite's binary order).
        if (dialect === 'postgres') {
          await sql`create index api_credentials_account_name_idx on api_credentials (account_id, name_folded collate "C", id)`.execute(db);
        } else {
          await db.schema.createIndex('api_credentials_account_name_idx').on('api_credentials').columns(['account_id', 'name_folded', 'id']).execute();
        }
        // The last_used sort puts never-used credentials last in both directions: one expression
        // per direction (the literals of CredentialRepository.search).
        await sql`create index api_credentials_account_used_asc_idx on api_credentials (account_id, (coalesce(last_used_at, 9007199254740991)), id)`.execute(db);
        await sql`create index api_credentials_account_used_desc_idx on api_credentials (account_id, (coalesce(last_used_at, -1)), id)`.execute(db);
        await db.schema.createIndex('api_credentials_owner_created_idx').on('api_credentials').columns(['owner_user_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('audit_events_account_action_idx').on('audit_events').columns(['account_id', 'action', 'at']).execute();
        await db.schema.createIndex('audit_events_account_target_idx').on('audit_events').columns(['account_id', 'target_id', 'at']).execute();
        await db.schema.createIndex('audit_events_account_actor_idx').on('audit_events').columns(['account_id', 'actor_email', 'at']).execute();
      },
      async down(db: Kysely<unknown>) {
        for (const index of [
          'audit_events_account_actor_idx',
          'audit_events_account_target_idx',
          'audit_events_account_action_idx',
          'api_credentials_owner_created_idx',
          'api_credentials_account_used_desc_idx',
          'api_credentials_account_used_asc_idx',
          'api_credentials_account_name_idx',
          'api_credentials_account_created_idx',
        ]) {
          await db.schema.dropIndex(index).ifExists().execute();
        }
        await db.schema.alterTable('api_credentials').dropColumn('secret_rotated_at').execute();
        await db.schema.alterTable('api_credentials').dropColumn('name_folded').execute();
      },
    },
    '0010_usage_minutes': {
      // API calls through the gateway per account and minute (the account page's chart against
      // the API limit per minute), incremented in place by every instance's flush; kept 48 hours.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('usage_minutes')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('minute', 'bigint', (c) => c.notNull())
          .addColumn('n', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('usage_minutes_pk', ['account_id', 'minute'])
          .execute();
        await db.schema.createIndex('usage_minutes_minute_idx').on('usage_minutes').column('minute').execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('usage_minutes').ifExists().execute();
      },
    },
  };
}

class InlineProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

export interface MigrationOutcome {
  applied: string[];
}

/**
 * The Migrator asks whether its schema and tables exist through Kysely's introspector, which reads
 * every table of every schema in the database (with pg_get_serial_sequence per column): when another
 * schema is dropped meanwhile (another ccauth store sharing the database, a test cleaning up), that
 * query fails with "schema ... does not exist". Here it looks at its own schema only.
 */
function withSchemaIntrospection(db: Kysely<unknown>, schema: string): Kysely<unknown> {
  const introspection = {
    async getSchemas() {
      const { rows } = await sql<{ name: string }>`select nspname as name from pg_namespace where nspname = ${schema}`.execute(db);
      return rows;
    },
    async getTables() {
      const { rows } = await sql<{ name: string; schema: string }>`select table_name as name, table_schema as schema from information_schema.tables where table_schema = ${schema}`.execute(db);
      return rows.map((r) => ({ ...r, isView: false, columns: [] }));
    },
    async getMetadata() {
      return { tables: await this.getTables() };
    },
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, prop, target);
      // Kysely keeps its state in private fields: its methods must run on the real instance.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Applies the pending migrations. On PostgreSQL the bookkeeping tables (kysely_migration*) are
 * those of `schema`, never another schema's in the same database; the caller runs this under the
 * schema's lock (Store.migrate), so instances starting together apply each migration once.
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<MigrationOutcome> {
  const scoped = dialect === 'postgres' && schema;
  const migrator = new Migrator({ db: scoped ? withSchemaIntrospection(db, schema) : db, provider: new InlineProvider(dialect), ...(scoped ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

export { sql };
