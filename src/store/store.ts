import type { Kysely } from 'kysely';
import { AccountRepository } from './accounts.js';
import { AuditRepository } from './audit.js';
import { ChangeSignal, attachChangeSignal } from './changes.js';
import { CredentialRepository } from './credentials.js';
import { type ConnectOptions, type Dialect, type StoreConnection, connect, ping } from './db.js';
import { migrateToLatest } from './migrations.js';
import { InteractionContentRepository } from './platform-content.js';
import { InteractionRepository } from './platform-interactions.js';
import { PaymentSessionRepository } from './platform-payments.js';
import type { Database } from './schema.js';
import { RevokedTokenRepository } from './revoked-tokens.js';
import { SessionRepository } from './sessions.js';
import { SigningKeyRepository } from './signing-keys.js';
import { UserRepository } from './users.js';

/** The store: one connection and its repositories. Writes that belong together use transaction(). */
export class Store {
  readonly accounts: AccountRepository;
  readonly users: UserRepository;
  readonly credentials: CredentialRepository;
  readonly keys: SigningKeyRepository;
  readonly audit: AuditRepository;
  readonly sessions: SessionRepository;
  readonly revokedTokens: RevokedTokenRepository;
  readonly interactions: InteractionRepository;
  readonly interactionContent: InteractionContentRepository;
  readonly paymentSessions: PaymentSessionRepository;
  /**
   * Reads for the change feed and its listeners, on the feed's own connection (StoreConnection.feedDb):
   * the change rows, and the revoked token a change names.
   */
  readonly feedReads: { db: Kysely<Database>; revokedTokens: RevokedTokenRepository };
  /** Hooks told after a change row of this store is committed (the region's Redis nudge). */
  readonly changeSignal = new ChangeSignal();

  private constructor(private readonly connection: StoreConnection) {
    const db = connection.db;
    attachChangeSignal(db, this.changeSignal);
    this.accounts = new AccountRepository(db);
    this.users = new UserRepository(db);
    this.credentials = new CredentialRepository(db);
    this.keys = new SigningKeyRepository(db);
    this.audit = new AuditRepository(db);
    this.sessions = new SessionRepository(db);
    this.revokedTokens = new RevokedTokenRepository(db);
    this.interactions = new InteractionRepository(db);
    this.interactionContent = new InteractionContentRepository(db);
    this.paymentSessions = new PaymentSessionRepository(db);
    this.feedReads = { db: connection.feedDb, revokedTokens: new RevokedTokenRepository(connection.feedDb) };
  }

  static async open(options: ConnectOptions, { migrate = true } = {}): Promise<Store> {
    const connection = await connect(options);
    const store = new Store(connection);
    try {
      if (migrate) await store.migrate();
    } catch (err) {
      await connection.close();
      throw err;
    }
    return store;
  }

  get db(): Kysely<Database> {
    return this.connection.db;
  }

  get dialect(): Dialect {
    return this.connection.dialect;
  }

  get location(): string {
    return this.connection.location;
  }

  /** Applies pending migrations once, under the store-wide lock (instances may start together). */
  async migrate(): Promise<string[]> {
    const { dialect, schema } = this.connection;
    return this.connection.withLock('migrate', async (db) => (await migrateToLatest(db as Kysely<unknown>, dialect, schema)).applied);
  }

  /**
   * Runs `fn` under the store-wide lock `name` (PostgreSQL: an advisory lock of this schema), for
   * check-then-create work that several instances may attempt at once (first start's keys).
   */
  withLock<T>(name: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.connection.withLock(name, fn);
  }

  async transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    let transaction: Kysely<Database> | undefined;
    const result = await this.connection.db.transaction().execute((trx) => {
      transaction = trx;
      attachChangeSignal(trx, this.changeSignal);
      return fn(trx);
    });
    // Committed: now other instances may be told to look.
    if (transaction) this.changeSignal.committed(transaction);
    return result;
  }

  ping(): Promise<void> {
    return ping(this.connection.db);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
