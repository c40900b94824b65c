import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canReadAudit } from '../domain/access.js';
import { ForbiddenError, ValidationError } from '../domain/errors.js';
import type { User } from '../domain/model.js';
import type { Store } from '../store/store.js';
import { type UsageEvent, UsageRepository } from '../store/usage.js';
import { parseRange, parseTime, usageReport } from '../usage/report.js';
import { EVENT_TYPES, type UsageEventType } from '../usage/model.js';
import type { ActiveSession } from './sessions.js';
import type { CredentialAdmin } from './credentials.js';

export interface UsageRoutesOptions {
  store: Store;
  credentials: CredentialAdmin;
  /** The admin API's checks (src/admin/routes.ts): a session, and rule 1. */
  requireArea: (request: FastifyRequest) => Promise<void>;
  actor: (request: FastifyRequest) => User;
}

const TOP_CREDENTIALS = 10;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
/** A CSV export without `limit` holds up to this many rows; past them `X-Next-Cursor` continues. */
const CSV_EXPORT_ROWS = 10_000;

/** The query's parameters, each given at most once, none unknown (400 naming it otherwise). */
function queryParams(query: unknown, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (!allowed.includes(key)) throw new ValidationError(`Unknown query parameter: ${key.slice(0, 64)}`);
    if (typeof value !== 'string') throw new ValidationError(`The query parameter ${key} may be given once`);
    out[key] = value;
  }
  return out;
}

function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) throw new ValidationError(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return Number(value);
}

/**
 * Paging cursors of the events list: the last item's position and a digest of the query it
 * belongs to, with a check digest. A cursor changed by one character, or used with another query
 * or by another user, is refused (400).
 */
const digest = (text: string, length: number) => createHash('sha256').update(text).digest('base64url').slice(0, length);

function encodeCursor(position: { at: number; id: string }, queryDigest: string): string {
  const payload = Buffer.from(JSON.stringify([position.at, position.id, queryDigest])).toString('base64url');
  return `${payload}.${digest(`ccauth.events.cursor:${payload}`, 16)}`;
}

function decodeCursor(cursor: string, queryDigest: string): { at: number; id: string } {
  const bad = () => new ValidationError('cursor is not valid for this query; start again without cursor');
  const dot = cursor.indexOf('.');
  if (cursor.length > 512 || dot < 1) throw bad();
  const payload = cursor.slice(0, dot);
  if (cursor.slice(dot + 1) !== digest(`ccauth.events.cursor:${payload}`, 16)) throw bad();
  let value: unknown;
  try {
    const bytes = Buffer.from(payload, 'base64url');
    if (bytes.toString('base64url') !== payload) throw bad();
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || value.length !== 3) throw bad();
  const [at, id, q] = value as unknown[];
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string' || q !== queryDigest) throw bad();
  return { at, id };
}

const CSV_COLUMNS = ['id', 'at', 'type', 'credentialId', 'clientId', 'reason', 'ip', 'count'] as const;

/** RFC 4180 fields; a cell that a spreadsheet would read as a formula is prefixed with '. */
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(items: UsageEvent[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const item of items) lines.push(CSV_COLUMNS.map((c) => csvCell((item as unknown as Record<string, unknown>)[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function wantsCsv(request: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) {
    if (format !== 'csv' && format !== 'json') throw new ValidationError('format must be csv or json');
    return format === 'csv';
  }
  const accept = request.headers.accept ?? '';
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept) && !/(^|,)\s*application\/json\s*(;|,|$)/i.test(accept);
}

/**
 * Usage you can see (SPEC "Console additions"): a credential's counters by hour or day, the
 * account's totals and top credentials, and the events list. Registered inside the admin API
 * (same session, CSRF, error shape); visibility is the credential service's.
 */
export async function usageRoutes(app: FastifyInstance, o: UsageRoutesOptions): Promise<void> {
  const usage = new UsageRepository(o.store.db);

  app.get('/credentials/:id/usage', { preHandler: o.requireArea }, async (request) => {
    const { id } = request.params as { id: string };
    const params = queryParams(request.query, ['bucket', 'from', 'to']);
    // Bad parameters are 400 before a credential's existence is looked at.
    parseRange(params, Date.now());
    // 404 for an id the caller may not see (the credential service's rule).
    const credential = await o.credentials.get(o.actor(request), id);
    const report = await usageReport(usage, { clientId: credential.clientId }, params);
    return { ...report, credentialId: credential.id };
  });

  app.get('/usage', { preHandler: o.requireArea }, async (request) => {
    const user = o.actor(request);
    if (!canReadAudit(user)) throw new ForbiddenError("Only admins can read the account's usage");
    const params = queryParams(request.query, ['bucket', 'from', 'to']);
    const now = Date.now();
    const range = parseRange(params, now);
    const [report, top] = await Promise.all([usageReport(usage, { accountId: user.accountId }, params, now), usage.top(user.accountId, range.start, range.to, TOP_CREDENTIALS)]);
    const account = (request.adminSession as ActiveSession).account;
    return { ...report, apiRateLimitPerMinute: account.apiRateLimitPerMinute, top };
  });

  app.get('/events', { preHandler: o.requireArea }, async (request, reply: FastifyReply) => {
    const user = o.actor(request);
    const params = queryParams(request.query, ['credential', 'type', 'from', 'to', 'limit', 'cursor', 'format']);
    const csv = wantsCsv(request, params.format);
    const type = params.type;
    if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new ValidationError(`type must be one of ${EVENT_TYPES.join(', ')}`);
    const from = parseTime(params.from, 'from');
    const to = parseTime(params.to, 'to');
    if (from !== undefined && to !== undefined && to <= from) throw new ValidationError('to must be later than from');
    const limit = parseLimit(params.limit) ?? (csv ? CSV_EXPORT_ROWS : DEFAULT_LIMIT);
    if (params.credential !== undefined && (params.credential === '' || params.credential.length > 100)) throw new ValidationError('credential must be a credential id');
    // Bound to the query and to who asks: another user's or another query's cursor is refused.
    const queryDigest = digest(JSON.stringify([user.id, params.credential ?? null, type ?? null, from ?? null, to ?? null]), 16);
    const after = params.cursor !== undefined ? decodeCursor(params.cursor, queryDigest) : undefined;

    let clientId: string | undefined;
    if (params.credential !== undefined) clientId = (await o.credentials.get(user, params.credential)).clientId;
    const rows = await usage.events({
      accountId: user.accountId,
      // Rule 6: a supervisor sees the events of their own credentials only.
      ...(user.license === 'admin' ? {} : { ownerUserId: user.id }),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(type !== undefined ? { type: type as UsageEventType } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(after ? { after } : {}),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor({ at: Date.parse(last.at), id: last.id }, queryDigest) : null;
    if (csv) {
      if (nextCursor) reply.header('x-next-cursor', nextCursor);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="events.csv"').send(toCsv(items));
    }
    return { items, nextCursor };
  });
}
