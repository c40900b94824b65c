import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';

/**
 * Opaque keyset cursors for the console's lists: `<payload>.<mac>`, both base64url. The payload
 * holds the list's name, a digest of the query it belongs to and where the page ended; the MAC
 * (HMAC-SHA-256, key derived from the master key, so every instance of a region accepts the
 * cursors of the others) covers the payload exactly as written. A cursor changed by one character,
 * made up, or used with another query, another list or by another user is refused with 400
 * naming `cursor`.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  encode(list: string, query: Record<string, unknown>, position: readonly unknown[]): string {
    const payload = Buffer.from(JSON.stringify({ l: list, q: this.digest(list, query), p: position })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The position a cursor of this list and query carries; a ValidationError naming `cursor` otherwise. */
  decode(cursor: string, list: string, query: Record<string, unknown>): unknown[] {
    const refuse = (why: string) => new ValidationError(`cursor: ${why}; use the nextCursor of the previous page with the same query`);
    const match = /^([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{43})$/.exec(cursor);
    if (!match) throw refuse('not a cursor of this API');
    const [, payload, mac] = match as unknown as [string, string, string];
    // The MAC is compared as text: two spellings of the same bytes (base64url's spare bits) differ.
    const expected = Buffer.from(this.mac(payload));
    if (!timingSafeEqual(expected, Buffer.from(mac))) throw refuse('it has been changed or was not issued here');
    let parsed: { l?: unknown; q?: unknown; p?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      throw refuse('not a cursor of this API');
    }
    if (parsed.l !== list || !Array.isArray(parsed.p)) throw refuse('it belongs to another list');
    if (parsed.q !== this.digest(list, query)) throw refuse('it belongs to another query');
    return parsed.p as unknown[];
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(`cursor ${payload}`).digest('base64url');
  }

  /** The query a cursor is bound to, independent of parameter order; undefined values are left out. */
  private digest(list: string, query: Record<string, unknown>): string {
    const canonical = JSON.stringify([list, ...Object.keys(query).sort().filter((k) => query[k] !== undefined).map((k) => [k, query[k]])]);
    return createHmac('sha256', this.key).update(`query ${canonical}`).digest('base64url').slice(0, 22);
  }
}
