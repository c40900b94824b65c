import { ValidationError } from '../../domain/errors.js';
import type { PaymentSession } from '../../store/platform-model.js';
import { CARD_DATA_MESSAGE, containsPan } from '../shared/card-data.js';

export const AMOUNT_MAX = 1_000_000;
export const REFERENCE_MAX = 64;

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export interface NewPaymentBody {
  agentId: string;
  amount: number;
  currency: string;
  reference?: string;
  interactionId?: string;
}

/** Digits after the decimal point of a currency (JPY 0, EUR 2, KWD 3), as ISO 4217 says. */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * The payment a session collects: an ISO 4217 currency, an amount above zero with no more
 * decimals than the currency has, kept in minor units; an optional reference that is not a card
 * number.
 */
export function newPayment(body: NewPaymentBody) {
  const currency = body.currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency) || !CURRENCIES.has(currency)) throw new ValidationError(`Field currency must be an ISO 4217 currency code such as GBP, EUR or USD (got "${body.currency.slice(0, 10)}")`);
  const digits = minorDigits(currency);
  const scaled = body.amount * 10 ** digits;
  const amountMinor = Math.round(scaled);
  if (Math.abs(scaled - amountMinor) > 1e-6) throw new ValidationError(`Field amount has more than ${digits} decimal place${digits === 1 ? '' : 's'}, which ${currency} does not allow`);
  if (amountMinor <= 0) throw new ValidationError('Field amount must be greater than 0');
  if (body.amount > AMOUNT_MAX) throw new ValidationError(`Field amount must be at most ${AMOUNT_MAX}`);
  let reference: string | null = null;
  if (body.reference !== undefined) {
    reference = body.reference.trim();
    if (reference.length === 0 || reference.length > REFERENCE_MAX) throw new ValidationError(`Field reference must be 1..${REFERENCE_MAX} characters after trimming`);
    if (containsPan(reference)) throw new ValidationError(`Field reference looks like a card number. ${CARD_DATA_MESSAGE}`, 'card_data_not_allowed');
  }
  return { agentId: body.agentId, interactionId: body.interactionId ?? null, amountMinor, currency, reference };
}

export function paymentView(p: PaymentSession) {
  return {
    id: p.id,
    status: p.status,
    agentId: p.agentId,
    interactionId: p.interactionId,
    amount: p.amountMinor / 10 ** minorDigits(p.currency),
    currency: p.currency,
    reference: p.reference,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    expiresAt: p.expiresAt,
  };
}
