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
