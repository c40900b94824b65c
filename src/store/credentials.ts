import { randomBytes, randomUUID } from 'node:crypto';
import { type Kysely, PostgresAdapter, type Selectable, type UpdateObject, sql } from 'kysely';
import { breathe } from '../domain/breathe.js';
import type { AccountStatus, License, UserStatus } from '../domain/licenses.js';
import type { ClientRecord, Credential, CredentialLevel, CredentialWithRotation } from '../domain/model.js';
import { recordChange } from './changes.js';
import type { ApiCredentialsTable, Database } from './schema.js';
import { containsText, foldForSearch, isPostgres, likeLiteral } from './search.js';

/** A fresh secret id: names a secret (never derived from it), carried in tokens as secret_id. */
const newSecretId = (): string => randomBytes(12).toString('base64url');

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toCredential(row: Selectable<ApiCredentialsTable>): Credential {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    clientId: row.client_id,
    scopes: row.scopes === '' ? [] : row.scopes.split(' '),
    level: row.level as CredentialLevel,
    ownerUserId: row.owner_user_id,
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
    lastUsedAt: iso(row.last_used_at),
  };
}

interface ScopeState {
  scopes: string[];
  epoch: number;
  removals: Record<string, number>;
}

function parseRemovals(text: string | null | undefined): Record<string, number> {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}

function toScopeState(row: { scopes: string; scope_epoch: number; scope_removals: string }): ScopeState {
  return { scopes: row.scopes === '' ? [] : row.scopes.split(' '), epoch: Number(row.scope_epoch ?? 0), removals: parseRemovals(row.scope_removals) };
}

async function readScopeState(db: Kysely<Database>, id: string): Promise<ScopeState | undefined> {
  let read = db.selectFrom('api_credentials').select(['scopes', 'scope_epoch', 'scope_removals']).where('id', '=', id);
  if (db.getExecutor().adapter instanceof PostgresAdapter) read = read.forUpdate();
  const row = await read.executeTakeFirst();
  return row ? toScopeState(row) : undefined;
}

/** The columns that record `removed` as removed now: a new epoch, and each scope at it. */
function scopeRemoval(state: ScopeState, removed: readonly string[]): { scope_epoch: number; scope_removals: string } {
  const epoch = state.epoch + 1;
  const removals = { ...state.removals };
  for (const scope of removed) removals[scope] = epoch;
  return { scope_epoch: epoch, scope_removals: JSON.stringify(removals) };
}

/** The console's view of a row: the credential and the state of its secret rotation. */
export function toCredentialWithRotation(row: Selectable<ApiCredentialsTable>): CredentialWithRotation {
  return { ...toCredential(row), secretRotatedAt: iso(row.secret_rotated_at ?? null), previousSecretExpiresAt: graceEnd(row) };
}

/** The end of a running grace period (the previous secret still valid), else null. */
function graceEnd(row: Pick<Selectable<ApiCredentialsTable>, 'previous_secret_hash' | 'previous_secret_expires_at'>, now = Date.now()): string | null {
  const end = row.previous_secret_expires_at === null ? null : Number(row.previous_secret_expires_at);
  return row.previous_secret_hash !== null && end !== null && end > now ? iso(end) : null;
}

/** The console's list orders (SPEC Console additions); ties are broken by id in the same direction. */
export const CREDENTIAL_SORTS = ['name', '-name', 'created', '-created', 'last_used', '-last_used'] as const;
export type CredentialSort = (typeof CREDENTIAL_SORTS)[number];

/** Where a page ended: the last row's sort value and id (keyset paging). */
export type CredentialKey = readonly [string | number, string];

export interface CredentialSearch {
  accountId: string;
  /** Only this user's user-level credentials (a supervisor, or an admin's owner=me). */
  ownedBy?: string;
  level?: CredentialLevel;
  /** Substring of the name or the owner's email, or prefix of the client ID; case-insensitive. */
  q?: string;
  /** Credentials that have every one of these scopes. */
  scopes?: readonly string[];
  /** Never used, or last used before this time (epoch ms). */
  unusedSince?: number;
  sort: CredentialSort;
  limit: number;
  after?: CredentialKey;
}

/** Never-used credentials sort last in both directions of the last_used sort. */
const NEVER_USED_ASC = Number.MAX_SAFE_INTEGER;
const NEVER_USED_DESC = -1;

export interface NewCredential {
  accountId: string;
  level: CredentialLevel;
  ownerUserId: string | null;
  name: string;
  clientId: string;
  secretHash: string;
  scopes: string[];
}

export interface CredentialChanges {
  name?: string;
  scopes?: string[];
}

export class CredentialRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: NewCredential, db: Kysely<Database> = this.db): Promise<Credential> {
    const now = Date.now();
    const row = {
      id: randomUUID(),
      account_id: input.accountId,
      level: input.level,
      owner_user_id: input.ownerUserId,
      name: input.name,
      client_id: input.clientId,
      secret_hash: input.secretHash,
      previous_secret_hash: null,
      previous_secret_expires_at: null,
      scopes: input.scopes.join(' '),
      created_at: now,
      updated_at: now,
      last_used_at: null,
      tokens_not_before: null,
      secret_id: newSecretId(),
      previous_secret_id: null,
      scope_epoch: 0,
      scope_removals: '{}',
      name_folded: foldForSearch(input.name),
      secret_rotated_at: null,
    };
    await db.insertInto('api_credentials').values(row).execute();
    await recordChange(db, 'credential', input.clientId);
    return toCredential(row);
  }

  async get(id: string, db: Kysely<Database> = this.db): Promise<CredentialWithRotation | undefined> {
    const row = await db.selectFrom('api_credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCredentialWithRotation(row) : undefined;
  }

  async listByAccount(accountId: string, filter: { ownerUserId?: string; level?: CredentialLevel } = {}, db: Kysely<Database> = this.db): Promise<Credential[]> {
    let q = db.selectFrom('api_credentials').selectAll().where('account_id', '=', accountId);
    if (filter.ownerUserId !== undefined) q = q.where('owner_user_id', '=', filter.ownerUserId);
    if (filter.level !== undefined) q = q.where('level', '=', filter.level);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').execute();
    return rows.map(toCredential);
  }

  /** Everything the token endpoint needs about a client, in one query. */
  async findClient(clientId: string, db: Kysely<Database> = this.db): Promise<ClientRecord | undefined> {
    const row = await clientQuery(db).where('c.client_id', '=', clientId).executeTakeFirst();
    return row ? toClientRecord(row) : undefined;
  }

  /**
   * The same for many clients in one query (the client cache's batched refresh): those that
   * exist, in no particular order.
   */
  async findClients(clientIds: readonly string[], db: Kysely<Database> = this.db): Promise<ClientRecord[]> {
    if (clientIds.length === 0) return [];
    const rows = await clientQuery(db).where('c.client_id', 'in', [...clientIds]).execute();
    return rows.map(toClientRecord);
  }

  async update(id: string, changes: CredentialChanges, db: Kysely<Database> = this.db): Promise<Credential | undefined> {
    const set: UpdateObject<Database, 'api_credentials'> = { updated_at: Date.now() };
    if (changes.name !== undefined) {
      set.name = changes.name;
      set.name_folded = foldForSearch(changes.name);
    }
    if (changes.scopes !== undefined) {
      set.scopes = changes.scopes.join(' ');
      // Removing a scope is a cut for the tokens that have it (SPEC 3), even if it is added back
      // later: the scope epoch moves and the scope records it. Read under a row lock (PostgreSQL,
      // inside a transaction), so a concurrent update cannot slip past this comparison.
      const current = await readScopeState(db, id);
      if (current === undefined) return undefined;
      const kept = new Set(changes.scopes);
      const removed = current.scopes.filter((s) => !kept.has(s));
      if (removed.length > 0) Object.assign(set, scopeRemoval(current, removed));
    }
    const result = await db.updateTable('api_credentials').set(set).where('id', '=', id).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    const updated = await this.get(id, db);
    if (updated) await recordChange(db, 'credential', updated.clientId);
    return updated;
  }

  /**
   * The owner's license no longer grants some scopes: for each of their credentials, those of its
   * scopes are recorded as removed (the scope list itself is kept: a license given back restores
   * them for new tokens, never for tokens issued before).
   */
  async recordLicenseNarrowed(ownerUserId: string, stillGranted: (scope: string) => boolean, db: Kysely<Database> = this.db): Promise<void> {
    let read = db.selectFrom('api_credentials').select(['id', 'scopes', 'scope_epoch', 'scope_removals']).where('owner_user_id', '=', ownerUserId);
    if (db.getExecutor().adapter instanceof PostgresAdapter) read = read.forUpdate();
    for (const row of await read.execute()) {
      const state = toScopeState(row);
      const lost = state.scopes.filter((s) => !stillGranted(s));
      if (lost.length > 0) await db.updateTable('api_credentials').set(scopeRemoval(state, lost)).where('id', '=', row.id).execute();
    }
  }

  /**
   * Replace the secret; the old one keeps working until graceUntil (epoch ms) when given. One
   * UPDATE whose SET reads the row's own columns, so two rotations at the same moment serialize on
   * the row (PostgreSQL: row lock, re-evaluated after the first commits; SQLite: one writer): a
   * rotation with grace keeps as previous whatever secret is current when it applies, never a
   * secret that a concurrent rotation without grace has already cut.
   */
  async replaceSecret(id: string, secretHash: string, graceUntil: number | null, db: Kysely<Database> = this.db): Promise<Credential | undefined> {
    const now = Date.now();
    const updated = await db
      .updateTable('api_credentials')
      .set((eb) => ({
        secret_hash: secretHash,
        previous_secret_hash: graceUntil === null ? null : eb.ref('secret_hash'),
        previous_secret_expires_at: graceUntil,
        // Tokens carry the id of their secret: without grace every token of the old secret stops
        // working at once (with grace, when the grace ends), whatever the second it was issued in.
        secret_id: newSecretId(),
        previous_secret_id: graceUntil === null ? null : eb.ref('secret_id'),
        // Tokens issued before secret ids existed carry none: for them the cut is the start of
        // this second (token times are whole seconds).
        ...(graceUntil === null ? { tokens_not_before: Math.floor(now / 1000) * 1000 } : {}),
        updated_at: now,
        secret_rotated_at: now,
      }))
      .where('id', '=', id)
      .returning(['client_id'])
      .executeTakeFirst();
    if (!updated) return undefined;
    await recordChange(db, 'credential', updated.client_id);
    return this.get(id, db);
  }

  /**
   * Ends a running grace period at once: the previous secret and every token issued with it
   * (claim secret_id) stop working, like after a rotation without grace. Undefined when no grace
   * period runs (the update is conditional, so two concurrent calls end it once).
   */
  async endGrace(id: string, db: Kysely<Database> = this.db): Promise<Credential | undefined> {
    const now = Date.now();
    const result = await db
      .updateTable('api_credentials')
      .set({ previous_secret_hash: null, previous_secret_id: null, previous_secret_expires_at: null, updated_at: now })
      .where('id', '=', id)
      .where('previous_secret_hash', 'is not', null)
      .where('previous_secret_expires_at', '>', now)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    const updated = await this.get(id, db);
    if (updated) await recordChange(db, 'credential', updated.clientId);
    return updated;
  }

  /**
   * One page of an account's credentials for the console: filters, one of the sort orders and
   * keyset paging (`after` = the previous page's last key). Returns `limit` rows at most and the
   * key to continue from when more rows follow. Every value is a bound parameter.
   */
  async search(s: CredentialSearch, db: Kysely<Database> = this.db): Promise<{ items: CredentialWithRotation[]; next: CredentialKey | null }> {
    const desc = s.sort.startsWith('-');
    const field = desc ? s.sort.slice(1) : s.sort;
    const postgres = isPostgres(db);
    // Names sort by code point in both dialects (PostgreSQL's database collation may be a locale's).
    const sortExpr =
      field === 'name'
        ? postgres
          ? sql<string>`c.name_folded collate "C"`
          : sql<string>`c.name_folded`
        : field === 'created'
          ? sql<number>`c.created_at`
          : // A literal, not a parameter: the expression is that of the indexes of migration 0009.
            sql<number>`coalesce(c.last_used_at, ${sql.lit(desc ? NEVER_USED_DESC : NEVER_USED_ASC)})`;
    let query = db.selectFrom('api_credentials as c').selectAll('c').where('c.account_id', '=', s.accountId);
    if (s.ownedBy !== undefined) query = query.where('c.owner_user_id', '=', s.ownedBy).where('c.level', '=', 'user');
    if (s.level !== undefined) query = query.where('c.level', '=', s.level);
    // Substrings by position (no pattern language at all), the client ID prefix by LIKE with its
    // wildcards escaped; every value a bound parameter.
    const contains = (haystack: ReturnType<typeof sql>, text: string) => containsText(postgres, haystack, text);
    const text = s.q?.trim() ?? '';
    if (text !== '') {
      const folded = foldForSearch(text);
      const clientPrefix = `${likeLiteral(text.toLowerCase())}%`;
      const email = text.toLowerCase();
      query = query.where((eb) =>
        eb.or([
          contains(sql`c.name_folded`, folded),
          eb(sql`c.client_id`, 'like', sql`${clientPrefix} escape '\\'`),
          // Uncorrelated: the account's matching users are found once, not once per credential.
          eb(
            'c.owner_user_id',
            'in',
            eb
              .selectFrom('users as u')
              .select('u.id')
              .where('u.account_id', '=', s.accountId)
              .where(contains(sql`u.email`, email)),
          ),
        ]),
      );
    }
    for (const scope of s.scopes ?? []) {
      query = query.where(contains(sql`' ' || c.scopes || ' '`, ` ${scope} `));
    }
    if (s.unusedSince !== undefined) {
      const since = s.unusedSince;
      query = query.where((eb) => eb.or([eb('c.last_used_at', 'is', null), eb('c.last_used_at', '<', since)]));
    }
    if (s.after) {
      const [value, id] = s.after;
      // A row-value comparison: both dialects seek the index to it instead of filtering a scan.
      query = query.where(desc ? sql<boolean>`(${sortExpr}, c.id) < (${value}, ${id})` : sql<boolean>`(${sortExpr}, c.id) > (${value}, ${id})`);
    }
    const rows = await query
      .orderBy(sortExpr, desc ? 'desc' : 'asc')
      .orderBy('c.id', desc ? 'desc' : 'asc')
      .limit(s.limit + 1)
      .execute();
    const page = rows.slice(0, s.limit);
    const last = page[page.length - 1];
    const keyOf = (row: Selectable<ApiCredentialsTable>): CredentialKey => {
      if (field === 'name') return [row.name_folded, row.id];
      if (field === 'created') return [Number(row.created_at), row.id];
      return [row.last_used_at === null ? (desc ? NEVER_USED_DESC : NEVER_USED_ASC) : Number(row.last_used_at), row.id];
    };
    return { items: page.map(toCredentialWithRotation), next: rows.length > s.limit && last ? keyOf(last) : null };
  }

  async delete(id: string, db: Kysely<Database> = this.db): Promise<Credential | undefined> {
    const existing = await this.get(id, db);
    if (!existing) return undefined;
    await db.deleteFrom('api_credentials').where('id', '=', id).execute();
    await recordChange(db, 'credential', existing.clientId);
    return existing;
  }

  /** Batched lastUsedAt writes from the token endpoint; not a change that caches care about. */
  async touchLastUsed(entries: ReadonlyMap<string, number>, db: Kysely<Database> = this.db): Promise<void> {
    if (entries.size === 0) return;
    // One statement per 500 credentials (UPDATE ... FROM (VALUES ...), on both dialects), not one per
    // credential: with 10,000 credentials in use a flush is 20 statements. A time never moves back
    // (several instances flush the same credential). The `client_id in (select ...)` is for
    // SQLite's planner: without it, with hundreds of values, it scans the whole table once
    // per statement and probes the values (measured: 1.1 s per 500 at 1,000,000 credentials,
    // against 35 ms with the index; docs/benchmarks.md); PostgreSQL plans both forms alike.
    const rows = [...entries];
    for (let i = 0; i < rows.length; i += 500) {
      // Requests run between statements: on SQLite each one blocks the event loop while it runs
      // (35-55 ms at 1,000,000 credentials), and 20 in a row would be one stall of a second.
      if (i > 0) await breathe();
      const values = sql.join(rows.slice(i, i + 500).map(([clientId, at]) => sql`(cast(${clientId} as text), cast(${at} as bigint))`));
      await sql`with v(client_id, at) as (values ${values})
        update api_credentials set last_used_at = v.at
        from v
        where api_credentials.client_id = v.client_id
          and api_credentials.client_id in (select client_id from v)
          and (api_credentials.last_used_at is null or api_credentials.last_used_at < v.at)`.execute(db);
    }
  }

}

/** The token endpoint's view of a client: the credential with its account and owner. */
function clientQuery(db: Kysely<Database>) {
  return db
    .selectFrom('api_credentials as c')
    .innerJoin('accounts as a', 'a.id', 'c.account_id')
    .leftJoin('users as u', 'u.id', 'c.owner_user_id')
    .select([
      'c.id as credential_id',
      'c.client_id',
      'c.account_id',
      'c.level',
      'c.scopes',
      'c.secret_hash',
      'c.previous_secret_hash',
      'c.previous_secret_expires_at',
      'c.tokens_not_before',
      'c.secret_id',
      'c.previous_secret_id',
      'c.scope_epoch',
      'c.scope_removals',
      'a.standing_epoch as account_epoch',
      'u.standing_epoch as owner_epoch',
      'a.status as account_status',
      'a.api_credentials_enabled',
      'a.access_token_lifetime_seconds',
      'a.api_rate_limit_per_minute',
      'u.id as owner_id',
      'u.status as owner_status',
      'u.license as owner_license',
    ]);
}

type ClientRow = Awaited<ReturnType<ReturnType<typeof clientQuery>['executeTakeFirstOrThrow']>>;

function toClientRecord(row: ClientRow): ClientRecord {
  return {
    credentialId: row.credential_id,
    clientId: row.client_id,
    accountId: row.account_id,
    level: row.level as CredentialLevel,
    scopes: row.scopes === '' ? [] : row.scopes.split(' '),
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : Number(row.previous_secret_expires_at),
    tokensNotBefore: row.tokens_not_before === null ? null : Number(row.tokens_not_before),
    secretId: row.secret_id,
    previousSecretId: row.previous_secret_id,
    scopeEpoch: Number(row.scope_epoch ?? 0),
    scopeRemovals: parseRemovals(row.scope_removals),
    account: {
      standingEpoch: Number(row.account_epoch),
      status: row.account_status as AccountStatus,
      apiCredentialsEnabled: row.api_credentials_enabled === 1,
      accessTokenLifetimeSeconds: row.access_token_lifetime_seconds,
      apiRateLimitPerMinute: row.api_rate_limit_per_minute,
    },
    owner:
      row.owner_id === null || row.owner_status === null || row.owner_license === null
        ? null
        : { id: row.owner_id, status: row.owner_status as UserStatus, license: row.owner_license as License, standingEpoch: Number(row.owner_epoch ?? 0) },
  };
}
