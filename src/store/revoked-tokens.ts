import type { Kysely } from 'kysely';
import { REVOCATION_MARGIN_MS } from '../tokens/revocations.js';
import { recordChange } from './changes.js';
import type { Database } from './schema.js';

export interface RevokedToken {
  jti: string;
  accountId: string;
  clientId: string;
  expiresAt: number;
}

/** Tokens revoked one by one (RFC 7009); kept until they would have expired anyway. */
export class RevokedTokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(token: RevokedToken, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .insertInto('revoked_tokens')
      .values({ jti: token.jti, account_id: token.accountId, client_id: token.clientId, revoked_at: Date.now(), expires_at: token.expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
    await recordChange(db, 'revocation', token.jti);
  }

  async get(jti: string, db: Kysely<Database> = this.db): Promise<RevokedToken | undefined> {
    const row = await db.selectFrom('revoked_tokens').selectAll().where('jti', '=', jti).executeTakeFirst();
    return row ? { jti: row.jti, accountId: row.account_id, clientId: row.client_id, expiresAt: Number(row.expires_at) } : undefined;
  }

  /**
   * Every revocation whose token a verifier may still accept (not expired, or within the
   * verifier's leeway after exp: REVOCATION_MARGIN_MS): loaded by each instance at start.
   */
  async listLive(now = Date.now(), db: Kysely<Database> = this.db): Promise<{ jti: string; expiresAt: number }[]> {
    const rows = await db.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where('expires_at', '>', now - REVOCATION_MARGIN_MS).execute();
    return rows.map((r) => ({ jti: r.jti, expiresAt: Number(r.expires_at) }));
  }

  async pruneExpired(now = Date.now(), db: Kysely<Database> = this.db): Promise<void> {
    await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).execute();
  }
}
