import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type Pg from 'pg';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StoreConnection {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the data lives, for messages (never includes a password). */
  location: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  databaseSchema?: string | undefined;
}


export async function connect(options: ConnectOptions): Promise<StoreConnection> {
  if (options.databaseUrl) return connectPostgres(options.databaseUrl, options.databaseSchema);
  return connectSqlite(options.dataDir);
}

function connectSqlite(dataDir: string): StoreConnection {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'ccauth.sqlite');
  const database = new SQLite(file);
  // WAL lets the CLI write while a server reads; busy_timeout makes concurrent writers wait.
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  database.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    close: () => db.destroy(),
  };
}

async function connectPostgres(url: string, schema: string | undefined): Promise<StoreConnection> {
  // Loaded only for PostgreSQL: the embedded store does not pay for it.
  const pg: typeof Pg = (await import('pg')).default;
  // int8 (bigint) columns hold epoch milliseconds, well inside Number's exact range.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on next use.
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const safe = new URL(url);
  safe.password = '';
  return {
    db,
    dialect: 'postgres',
    location: `${safe.host}${safe.pathname}${schema ? ` (schema ${schema})` : ''}`,
    close: () => db.destroy(),
  };
}

export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
