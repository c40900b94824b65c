/**
 * Lets the event loop run (timers, I/O, other requests) before going on. Long maintenance work on
 * SQLite is synchronous under its promises (better-sqlite3): awaiting a query yields to
 * microtasks only, so a loop of batches would hold the event loop for all of them in a row.
 * Awaited between batches, it makes each batch the longest stall instead of their sum.
 */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
