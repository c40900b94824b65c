import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

/**
 * Text as the console's search and name sort compare it, the same in SQLite and PostgreSQL:
 * compatibility-normalized (NFKC: full-width and ligature forms match their plain letters) and
 * lower-cased by JavaScript's Unicode rules, not by the database's locale.
 */
export function foldForSearch(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** A LIKE pattern that matches `text` literally (with `escape '\'`): %, _ and \ lose their meaning. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function isPostgres<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Whether `text` occurs in `haystack`, by position (SQLite `instr`, PostgreSQL `strpos`): no
 * pattern language at all, so nothing in the text needs escaping. `text` is a bound parameter.
 */
export function containsText(postgres: boolean, haystack: RawBuilder<unknown>, text: string): RawBuilder<boolean> {
  return postgres ? sql<boolean>`strpos(${haystack}, ${text}) > 0` : sql<boolean>`instr(${haystack}, ${text}) > 0`;
}
