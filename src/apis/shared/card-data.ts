/**
 * Card data (PCI DSS account data) must never reach the store or a log: the secure payment page
 * captures it. These checks find it in a request body by field name, and in free text by shape.
 */

const CARD_WORDS = new Set(['card', 'cards', 'pan', 'cvv', 'cvv2', 'cvc', 'cvc2', 'csc', 'cav2', 'cid', 'expiry', 'expiration', 'track1', 'track2', 'magstripe']);
const CARD_KEYS = new Set(['cardnumber', 'creditcard', 'debitcard', 'securitycode', 'cardsecuritycode', 'primaryaccountnumber', 'exp', 'expmonth', 'expyear', 'expdate', 'cardholder', 'cardholdername', 'trackdata']);

/** "cardNumber" -> ["card", "number"]; "CVV2" -> ["cvv2"]; "expiry_date" -> ["expiry", "date"]. */
function wordsOf(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

export function isCardDataField(key: string): boolean {
  const words = wordsOf(key);
  return CARD_KEYS.has(words.join('')) || words.some((w) => CARD_WORDS.has(w));
}

/** Paths of the fields, at any depth, whose names say they hold card data. */
export function findCardDataFields(value: unknown, path = '', depth = 0): string[] {
  if (depth > 16 || value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => found.push(...findCardDataFields(v, `${path}[${i}]`, depth + 1)));
    return found;
  }
  for (const [key, v] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if (isCardDataField(key)) found.push(here);
    else found.push(...findCardDataFields(v, here, depth + 1));
  }
  return found;
}

/** A primary account number: 13..19 digits (spaces or dashes between them) passing the Luhn check. */
export function containsPan(text: string): boolean {
  for (const match of text.matchAll(/\d(?:[ -]?\d){12,18}/g)) {
    const digits = match[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) return true;
  }
  return false;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export const CARD_DATA_MESSAGE =
  'Card data is captured by the secure payment page, never sent through the API: remove the card details from the request';
