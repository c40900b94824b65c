import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Prepared statements kept per SQLite connection, least recently used dropped first. */
export const SQLITE_STATEMENT_CACHE_MAX = 200;

/**
 * The database handed to Kysely's SqliteDialect, with its prepared statements reused. Kysely
 * prepares every query it runs; on a 1,000,000-credential store preparing the token endpoint's
 * client lookup (three tables, 22 columns) cost 96 µs, against 137 µs to run it (measured,
 * docs/benchmarks.md). Statements are keyed by their SQL text. A statement still busy (an
 * iterator left open) is not handed out twice: a fresh one is prepared for that call. A schema
 * change does not need the cache emptied: SQLite prepares a statement again when its schema
 * changed.
 */
export function cachingStatements(database: SQLite.Database, max = SQLITE_STATEMENT_CACHE_MAX): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached !== undefined && !cached.busy) {
        // Most recently used last (a Map keeps insertion order).
        statements.delete(sql);
        statements.set(sql, cached);
        return cached;
      }
      const statement = database.prepare(sql);
      if (cached === undefined) {
        if (statements.size >= max) {
          const oldest = statements.keys().next();
          if (!oldest.done) statements.delete(oldest.value);
        }
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}
