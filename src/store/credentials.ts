import { randomBytes, randomUUID } from 'node:crypto';
import { type Kysely, PostgresAdapter, type Selectable, type UpdateObject, sql } from 'kysely';
import type { AccountStatus, License, UserStatus } from '../domain/licenses.js';
import type { ClientRecord, Credential, CredentialLevel } from '../domain/model.js';
import { recordChange } from './changes.js';
import type { ApiCredentialsTable, Database } from './schema.js';

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
    };
    await db.insertInto('api_credentials').values(row).execute();
    await recordChange(db, 'credential', input.clientId);
    return toCredential(row);
  }

  async get(id: string, db: Kysely<Database> = this.db): Promise<Credential | undefined> {
    const row = await db.selectFrom('api_credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCredential(row) : undefined;
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
    const row = await db
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
      ])
      .where('c.client_id', '=', clientId)
      .executeTakeFirst();
    if (!row) return undefined;
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

  async update(id: string, changes: CredentialChanges, db: Kysely<Database> = this.db): Promise<Credential | undefined> {
    const set: UpdateObject<Database, 'api_credentials'> = { updated_at: Date.now() };
    if (changes.name !== undefined) set.name = changes.name;
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
      }))
      .where('id', '=', id)
      .returning(['client_id'])
      .executeTakeFirst();
    if (!updated) return undefined;
    await recordChange(db, 'credential', updated.client_id);
    return this.get(id, db);
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
    // (several instances flush the same credential).
    const rows = [...entries];
    for (let i = 0; i < rows.length; i += 500) {
      const values = sql.join(rows.slice(i, i + 500).map(([clientId, at]) => sql`(cast(${clientId} as text), cast(${at} as bigint))`));
      await sql`with v(client_id, at) as (values ${values})
        update api_credentials set last_used_at = v.at
        from v
        where api_credentials.client_id = v.client_id
          and (api_credentials.last_used_at is null or api_credentials.last_used_at < v.at)`.execute(db);
    }
  }

}
