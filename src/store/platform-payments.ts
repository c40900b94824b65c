import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { type PaymentSession, type PaymentStatus, iso } from './platform-model.js';
import type { Database, PaymentSessionsTable } from './schema.js';

/** How long a session waits for the card to be captured by the secure payment page. */
export const PAYMENT_SESSION_LIFETIME_MS = 15 * 60 * 1000;

function toPaymentSession(row: Selectable<PaymentSessionsTable>, now: number): PaymentSession {
  const stored = row.status as PaymentStatus;
  return {
    id: row.id,
    accountId: row.account_id,
    agentId: row.agent_user_id,
    interactionId: row.interaction_id,
    amountMinor: Number(row.amount_minor),
    currency: row.currency,
    reference: row.reference,
    status: stored === 'pending' && now >= Number(row.expires_at) ? 'expired' : stored,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    expiresAt: iso(row.expires_at),
  };
}

export interface NewPaymentSession {
  accountId: string;
  agentId: string;
  interactionId: string | null;
  amountMinor: number;
  currency: string;
  reference: string | null;
}

/**
 * Secure payment sessions. The table has no column that could hold card data: the card is
 * captured by the secure payment page, never by the API.
 */
export class PaymentSessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: NewPaymentSession, db: Kysely<Database> = this.db): Promise<PaymentSession> {
    const now = Date.now();
    const row: Selectable<PaymentSessionsTable> = {
      id: randomUUID(),
      account_id: input.accountId,
      agent_user_id: input.agentId,
      interaction_id: input.interactionId,
      amount_minor: input.amountMinor,
      currency: input.currency,
      reference: input.reference,
      status: 'pending',
      created_at: now,
      updated_at: now,
      expires_at: now + PAYMENT_SESSION_LIFETIME_MS,
    };
    await db.insertInto('payment_sessions').values(row).execute();
    return toPaymentSession(row, now);
  }

  async get(accountId: string, id: string, db: Kysely<Database> = this.db): Promise<PaymentSession | undefined> {
    const row = await db.selectFrom('payment_sessions').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return row ? toPaymentSession(row, Date.now()) : undefined;
  }

  async countByAccount(accountId: string, db: Kysely<Database> = this.db): Promise<number> {
    const row = await db.selectFrom('payment_sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
