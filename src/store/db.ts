import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type Pg from 'pg';
import { ServiceUnavailableError } from '../domain/errors.js';
import type { Database } from './schema.js';
import { cachingStatements } from './sqlite-statements.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StoreConnection {
  db: Kysely<Database>;
  /**
   * The change feed's reads (src/changes/feed.ts): on PostgreSQL a connection of its own, so that
   * requests holding every connection of the request pool (a flood of cache misses, slow admin
   * queries) cannot hold a revocation back; on SQLite the same handle as `db`.
   */
  feedDb: Kysely<Database>;
  dialect: Dialect;
  /** Where the data lives, for messages (never includes a password). */
  location: string;
  /** PostgreSQL: the schema the tables live in (configured, or the server's current schema). */
  schema: string | undefined;
  /**
   * Runs `fn` while this process holds the store-wide lock `name`: no other process on the same
   * store (same PostgreSQL schema) runs a `withLock` of that name meanwhile. `fn` gets a
   * connection without the request timeout (migrations and key creation may take a while).
   */
  withLock<T>(name: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  databaseSchema?: string | undefined;
  /** The longest a query, or waiting for a connection, may take (PostgreSQL); default 5000 ms. */
  storeTimeoutMs?: number | undefined;
  /** The longest withLock waits for another instance's lock (PostgreSQL); default 60 s, then a clear error. */
  lockWaitMs?: number | undefined;
  /** Told while withLock waits (every 5 s); default: a line on stderr. */
  onLockWait?: ((message: string) => void) | undefined;
}

export const DEFAULT_LOCK_WAIT_MS = 60_000;

export const DEFAULT_STORE_TIMEOUT_MS = 5000;
/** How long a client should wait before trying again when the store is unreachable. */
export const STORE_RETRY_AFTER_SECONDS = 5;
const UNAVAILABLE_MESSAGE = 'The credential store cannot be reached right now; try again shortly';

export async function connect(options: ConnectOptions): Promise<StoreConnection> {
  if (options.databaseUrl) {
    const lockWait = { waitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, onWait: options.onLockWait ?? ((message: string) => void process.stderr.write(`ccauth: ${message}\n`)) };
    return connectPostgres(options.databaseUrl, options.databaseSchema, options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS, lockWait);
  }
  return connectSqlite(options.dataDir);
}

async function connectSqlite(dataDir: string): Promise<StoreConnection> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'ccauth.sqlite');
  const database = new SQLite(file);
  // busy_timeout makes concurrent writers wait (set first: switching a new file to WAL takes a
  // lock that another process starting at the same moment may hold); WAL lets the CLI write
  // while a server reads.
  database.pragma('busy_timeout = 5000');
  // The switch to WAL does not wait on the busy handler everywhere: a process starting at the
  // same moment may hold the lock for a few ms, so it is tried again for a while.
  for (let attempt = 1; ; attempt++) {
    try {
      database.pragma('journal_mode = WAL');
      break;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 100 || typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) {
        database.close();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
    }
  }
  database.pragma('foreign_keys = ON');
  database.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) });
  return {
    db,
    feedDb: db,
    dialect: 'sqlite',
    location: file,
    schema: undefined,
    // Processes on one SQLite file (a server, the CLI, a second server) take a lock file next to
    // it; a deferred transaction that still meets another writer (SQLITE_BUSY) is run again, and
    // its checks are redone inside `fn`.
    withLock: (name, fn) =>
      withLockFile(join(dataDir, `.ccauth-${name}.lock`), async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await fn(db);
          } catch (err) {
            const code = (err as { code?: unknown }).code;
            if (attempt >= 10 || typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw err;
            await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
          }
        }
      }),
    close: () => db.destroy(),
  };
}

/** Lock files this process holds now (several stores of one process may wait on each other). */
const heldLockFiles = new Set<string>();

/**
 * A lock between processes on one host: the file exists while its owner holds it and names the
 * owner's pid, so a lock left by a process that died (or by an earlier process with this pid, as
 * after a container restart) is taken over. Waits at most `waitMs`.
 */
async function withLockFile<T>(file: string, fn: () => Promise<T>, waitMs = 120_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (heldLockFiles.has(file)) {
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      const stale = owner === process.pid || (Number.isInteger(owner) && owner > 0 && !processAlive(owner));
      if (stale) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for the lock ${file} (held by process ${owner})`);
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 25));
    }
  }
  heldLockFiles.add(file);
  try {
    return await fn();
  } finally {
    heldLockFiles.delete(file);
    rmSync(file, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a PostgreSQL driver error means the store cannot be reached (network, server restart,
 * overload, timeout) rather than a problem with the query itself.
 */
export function isStoreUnreachable(err: unknown): boolean {
  if (err instanceof ServiceUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE class 08: connection exception; 57P01-03: shutting down / cannot connect now;
    // 53300: too many connections; 57014: cancelled by statement_timeout.
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014'].includes(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Query read timeout|connection timeout/i.test(err.message);
}

function unavailable(cause: unknown): ServiceUnavailableError {
  return cause instanceof ServiceUnavailableError ? cause : new ServiceUnavailableError(UNAVAILABLE_MESSAGE, STORE_RETRY_AFTER_SECONDS, { cause });
}

/**
 * A pool client as Kysely sees it, with a deadline on every query. A query past the deadline
 * fails as ServiceUnavailableError and its connection is destroyed, not reused: a stalled
 * network (nothing comes back, the socket looks open) would otherwise hold it forever.
 */
class GuardedClient {
  broken = false;

  constructor(
    private readonly client: Pg.PoolClient,
    private readonly timeoutMs: number,
  ) {}

  query<R>(text: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.broken = true;
        // The pending query then fails with "Connection terminated" (ignored below); the
        // client's own 'error' listener (see connectPostgres) takes the socket error.
        (this.client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
        reject(new ServiceUnavailableError(UNAVAILABLE_MESSAGE, STORE_RETRY_AFTER_SECONDS, { cause: new Error(`store query timed out after ${this.timeoutMs} ms`) }));
      }, this.timeoutMs);
      this.client.query(text, parameters as unknown[]).then(
        (result) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result as unknown as PostgresQueryResult<R>);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (isStoreUnreachable(err)) {
            this.broken = true;
            reject(unavailable(err));
          } else reject(err as Error);
        },
      );
    });
  }

  release(destroy?: boolean): void {
    // A broken connection leaves the pool; the pool opens a new one on demand.
    this.client.release(destroy || this.broken ? true : undefined);
  }
}

/** The pool Kysely uses for requests: getting a connection is bounded, queries have a deadline. */
class GuardedPool implements PostgresPool {
  private readonly wrappers = new WeakMap<Pg.PoolClient, GuardedClient>();

  constructor(
    private readonly pool: Pg.Pool,
    private readonly timeoutMs: number,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    let client: Pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    let wrapper = this.wrappers.get(client);
    if (!wrapper) this.wrappers.set(client, (wrapper = new GuardedClient(client, this.timeoutMs)));
    wrapper.broken = false;
    return wrapper as unknown as PostgresPoolClient;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** Lock ids are (LOCK_CLASS, hashtext('<schema>:<name>')): one lock space per ccauth schema. */
const LOCK_CLASS = 0x63636175; // 'ccau'

async function connectPostgres(url: string, configuredSchema: string | undefined, timeoutMs: number, lockWait: { waitMs: number; onWait: (message: string) => void }): Promise<StoreConnection> {
  // Loaded only for PostgreSQL: the embedded store does not pay for it.
  const pg: typeof Pg = (await import('pg')).default;
  // int8 (bigint) columns hold epoch milliseconds, well inside Number's exact range.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const searchPath = configuredSchema ? { options: `-c search_path="${configuredSchema}"` } : {};
  const common = {
    connectionString: url,
    ...searchPath,
    // A store that does not answer must not hang a start or a request: bounded connect, and TCP
    // keep-alive so that a peer that vanished is noticed on idle connections too.
    connectionTimeoutMillis: timeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // A transaction left open by a stalled or dead client does not hold locks for long.
    idle_in_transaction_session_timeout: Math.max(10_000, timeoutMs * 3),
  };
  // Requests: every query and every wait for a connection is bounded (GuardedPool); the server
  // cancels a statement past the same bound.
  const pool = new pg.Pool({ ...common, max: 10, statement_timeout: timeoutMs });
  // Migrations, key creation and the locks around them: no statement deadline (a migration may
  // take long, and waiting for another instance's lock is expected), only a few connections.
  const maintenance = new pg.Pool({ ...common, max: 4, idleTimeoutMillis: 2000 });
  // The change feed: one connection (its polls never overlap), with the requests' bounds.
  const feedPool = new pg.Pool({ ...common, max: 1, statement_timeout: timeoutMs });
  for (const p of [pool, maintenance, feedPool]) {
    // Every client, idle or checked out, has a listener for its socket's errors: a connection
    // dropped while no query runs on it must not become an unhandled 'error' that ends the
    // process. A query in flight fails with that error instead (and the client leaves the pool).
    p.on('connect', (client) => client.on('error', () => undefined));
    // An idle client lost its connection; the pool replaces it on next use.
    p.on('error', () => undefined);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new GuardedPool(pool, timeoutMs) }) });
  const maintenanceDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: maintenance }) });
  const feedDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new GuardedPool(feedPool, timeoutMs) }) });

  // One withLock at a time in this process (the maintenance pool is small), any number of processes.
  let queue: Promise<unknown> = Promise.resolve();
  let schema = configuredSchema;
  const withLock = <T>(name: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> => {
    const run = async (): Promise<T> => {
      const client = await maintenance.connect();
      let broken = false;
      const key = `${schema ?? 'public'}:${name}`;
      try {
        // Tried, not waited for: a lock held by a stuck instance must not hang this one forever.
        const started = Date.now();
        let told = started;
        for (;;) {
          const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as locked', [LOCK_CLASS, key]);
          if (rows[0]?.locked) break;
          const waited = Date.now() - started;
          if (waited >= lockWait.waitMs) {
            throw new Error(`Timed out after ${Math.round(waited / 1000)} s waiting for the store lock "${name}" of schema ${schema ?? 'public'}: another instance holds it (a migration or key creation still running, or stuck)`);
          }
          if (Date.now() - told >= 5000) {
            told = Date.now();
            lockWait.onWait(`waiting for the store lock "${name}" of schema ${schema ?? 'public'} (held by another instance) for ${Math.round(waited / 1000)} s`);
          }
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
        }
        try {
          return await fn(maintenanceDb);
        } finally {
          await client.query('select pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, key]).catch(() => {
            // The session is gone, and its lock with it.
            broken = true;
          });
        }
      } catch (err) {
        if (isStoreUnreachable(err)) broken = true;
        throw err;
      } finally {
        client.release(broken ? true : undefined);
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };

  const close = async () => {
    await Promise.allSettled([db.destroy(), maintenanceDb.destroy(), feedDb.destroy()]);
  };
  try {
    if (configuredSchema) {
      // Several instances starting at once: CREATE SCHEMA IF NOT EXISTS is not safe against itself
      // (a concurrent one fails on a unique index), so it runs under the schema's lock.
      await withLock('schema', async (m) => {
        await sql`create schema if not exists ${sql.id(configuredSchema)}`.execute(m);
      });
    } else {
      const row = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(maintenanceDb);
      schema = row.rows[0]?.schema ?? 'public';
    }
  } catch (err) {
    await close();
    throw err;
  }
  const safe = new URL(url);
  safe.password = '';
  return {
    db,
    feedDb,
    dialect: 'postgres',
    location: `${safe.host}${safe.pathname}${configuredSchema ? ` (schema ${configuredSchema})` : ''}`,
    schema,
    withLock,
    close,
  };
}

export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
